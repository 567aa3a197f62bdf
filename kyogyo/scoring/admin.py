from django.contrib import admin

from .models import EngagementWeight, FitRule, ScoringSettings


@admin.register(ScoringSettings)
class ScoringSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "half_life_days"]


@admin.register(FitRule)
class FitRuleAdmin(admin.ModelAdmin):
    list_display = ["label", "points", "order", "active"]


@admin.register(EngagementWeight)
class EngagementWeightAdmin(admin.ModelAdmin):
    list_display = ["activity_type", "points"]
