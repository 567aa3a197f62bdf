from django.contrib import admin

from .models import AnalyticsSettings, SavedPlan, Spend, Target


@admin.register(AnalyticsSettings)
class AnalyticsSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "fiscal_year_start_month", "small_denominator", "gross_margin_percent"]

    def has_add_permission(self, request) -> bool:
        return not AnalyticsSettings.objects.exists()


@admin.register(Spend)
class SpendAdmin(admin.ModelAdmin):
    list_display = ["month", "team", "amount", "currency", "note"]
    list_filter = ["team", "currency"]
    date_hierarchy = "month"


@admin.register(Target)
class TargetAdmin(admin.ModelAdmin):
    list_display = ["metric", "team", "starts_on", "ends_on", "value"]
    list_filter = ["metric", "team"]


@admin.register(SavedPlan)
class SavedPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "starts_on", "ends_on", "target", "created_at", "created_by"]
    readonly_fields = ["inputs", "result", "created_at", "created_by"]
