from django.contrib import admin

from .models import Activity, Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "starts_on", "ends_on"]
    search_fields = ["name"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["contact", "type", "occurred_at", "source", "campaign"]
    list_filter = ["type"]
    raw_id_fields = ["contact", "actor", "campaign"]
    date_hierarchy = "occurred_at"
