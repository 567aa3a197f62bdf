from django.contrib import admin

from kyogyo.healthcheck.models import Assessment, Mark


class MarkInline(admin.TabularInline):
    model = Mark
    extra = 0


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ("assessed_on", "author", "created_at")
    inlines = [MarkInline]
