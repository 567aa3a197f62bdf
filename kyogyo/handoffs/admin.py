from django.contrib import admin

from kyogyo.journey.admin import ReadOnlyAdmin

from .models import BusinessCalendar, CalendarException, Handoff, RoutingRule


class ExceptionInline(admin.TabularInline):
    model = CalendarException
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["__str__", "time_zone", "day_start", "day_end", "holiday_country"]
    inlines = [ExceptionInline]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "priority", "active"]
    filter_horizontal = ["users"]


@admin.register(Handoff)
class HandoffAdmin(ReadOnlyAdmin):
    """Read-only: accepting and rejecting go through the actions (locks, journey, SLA)."""

    list_display = [
        "subject",
        "stage",
        "from_team",
        "to_team",
        "assigned_to",
        "status",
        "due_at",
        "breached_at",
    ]
    list_filter = ["status", "to_team", "stage"]
    raw_id_fields = ["subject", "transition", "resolution"]
