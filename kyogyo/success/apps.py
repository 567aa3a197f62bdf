from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuccessConfig(AppConfig):
    name = "kyogyo.success"
    verbose_name = _("Customer success")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from kyogyo.handoffs.models import Handoff
        from kyogyo.success.receivers import open_deal_of_accepted_expansion

        post_save.connect(
            open_deal_of_accepted_expansion, sender=Handoff, dispatch_uid="success-open-expansion-deal"
        )
