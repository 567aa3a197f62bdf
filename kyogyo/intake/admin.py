from django.contrib import admin

from .models import Form, InboundSource


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "activity_type", "campaign", "rate_limit", "rate_window", "active"]
    list_filter = ["active", "activity_type"]
    search_fields = ["key", "name"]
    raw_id_fields = ["campaign"]


@admin.register(InboundSource)
class InboundSourceAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "accepts", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["key", "name"]
    # The secret is shown once, by `kyogyo intake hooks add` / `rotate-secret`, never on a page.
    exclude = ["secret", "previous_secret", "previous_secret_until"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False  # sources are added with the command line, which shows the secret once
