from django.contrib import admin

from .models import Account, ConsentRecord, Contact


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "industry", "employee_count", "country", "segment", "kind"]
    list_filter = ["kind", "segment", "country"]
    search_fields = ["name", "domain"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "account", "consent", "fit_score", "engagement_score"]
    list_filter = ["consent"]
    search_fields = ["email", "first_name", "last_name"]
    raw_id_fields = ["account", "owner"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    """Read-only: consent records are evidence, appended by the actions, never edited."""

    list_display = ["contact", "state", "source", "occurred_at"]
    list_filter = ["state"]
    search_fields = ["contact__email", "source"]
    raw_id_fields = ["contact"]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
