from django.contrib import admin

from .models import Account, Contact


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
