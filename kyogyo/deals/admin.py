from django.contrib import admin

from .models import Deal, PipelineStage


@admin.register(PipelineStage)
class PipelineStageAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "order", "probability", "stall_days", "is_won", "is_lost"]
    list_editable = ["stall_days"]


@admin.register(Deal)
class DealAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "amount", "currency", "pipeline_stage", "status", "owner"]
    list_filter = ["status", "pipeline_stage"]
    raw_id_fields = ["account", "contact", "owner", "campaign"]
    search_fields = ["name"]
