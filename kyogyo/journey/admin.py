"""Staff views of the journey configuration and log. The log is read-only here: stage
changes go through the actions (and so through the rules, handoffs and checks)."""

from django.contrib import admin

from .models import Milestone, ReasonCode, Rule, RuleVersion, Stage, Transition, ValueList


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "name_ja", "team", "hands_to", "sla_hours", "category", "order"]
    filter_horizontal = ["exits"]
    readonly_fields = ["key"]


@admin.register(ReasonCode)
class ReasonCodeAdmin(admin.ModelAdmin):
    list_display = ["kind", "key", "label", "label_ja", "sends_to", "active"]
    list_filter = ["kind", "active"]


@admin.register(ValueList)
class ValueListAdmin(admin.ModelAdmin):
    list_display = ["key", "name"]


class VersionInline(admin.TabularInline):
    model = RuleVersion
    extra = 0
    can_delete = False
    readonly_fields = ["number", "from_stages", "definition", "reason", "note", "created_at", "created_by"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # new versions are published with `kyogyo rules publish` (validated)


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "stage", "priority", "active", "current_version"]
    readonly_fields = ["current_version"]
    inlines = [VersionInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Transition)
class TransitionAdmin(ReadOnlyAdmin):
    list_display = [
        "subject",
        "seq",
        "from_stage",
        "to_stage",
        "at",
        "via",
        "actor",
        "rule_version",
        "reason",
    ]
    list_filter = ["via", "to_stage"]
    raw_id_fields = ["subject"]
    date_hierarchy = "at"


@admin.register(Milestone)
class MilestoneAdmin(ReadOnlyAdmin):
    list_display = ["subject", "current_stage", "current_since", "reentry_count", "transition_count"]
    list_filter = ["current_stage"]
    raw_id_fields = ["subject", "account"]
