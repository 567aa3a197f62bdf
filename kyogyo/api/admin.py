from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from kyogyo.api.actions import revoke_token
from kyogyo.api.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are seen and revoked here, never made: a new token is shown once, to its
    owner, by `kyogyo tokens create` or `POST /api/tokens`."""

    list_display = ["name", "user", "prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = [f.name for f in ApiToken._meta.fields if f.name != "secret_hash"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):  # type: ignore[no-untyped-def]
        for token in queryset.select_related("user"):
            revoke_token(token, actor=request.user)
        messages.success(request, _("Tokens revoked."))
