from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import Team, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "name_ja", "order"]
    readonly_fields = ["key"]


@admin.register(User)
class KyogyoUserAdmin(UserAdmin):
    list_display = ["username", "email", "team", "role", "is_active"]
    list_filter = ["team", "role", "is_active"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Kyogyo", {"fields": ("team", "role", "language", "time_zone")}),
    )
