from django.contrib import admin

from .models import NpsResponse, Subscription, SubscriptionChange


class ChangeInline(admin.TabularInline):
    model = SubscriptionChange
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "occurred_on", "mrr_before", "mrr_after"]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["account", "plan", "mrr", "currency", "starts_on", "ends_on", "status"]
    list_filter = ["status", "plan"]
    raw_id_fields = ["account", "deal"]
    inlines = [ChangeInline]


@admin.register(NpsResponse)
class NpsResponseAdmin(admin.ModelAdmin):
    list_display = ["contact", "account", "score", "answered_at"]
    raw_id_fields = ["contact", "account"]
