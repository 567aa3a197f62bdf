from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "kyogyo.deals"
    verbose_name = _("Deals")

    def ready(self) -> None:
        from kyogyo.deals.receivers import close_deals_of_rejected_sql
        from kyogyo.journey.signals import handoff_rejected

        handoff_rejected.connect(close_deals_of_rejected_sql, dispatch_uid="deals-close-rejected-sql")
