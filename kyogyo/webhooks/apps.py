from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "kyogyo.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from kyogyo.deals.models import Deal
        from kyogyo.journey.signals import handoff_event, stage_changed
        from kyogyo.success.models import SubscriptionChange
        from kyogyo.webhooks import receivers
        from kyogyo.webhooks.actions import forget_subscriptions
        from kyogyo.webhooks.models import Endpoint

        stage_changed.connect(receivers.on_stage_changed, dispatch_uid="webhooks-stage-changed")
        handoff_event.connect(receivers.on_handoff_event, dispatch_uid="webhooks-handoff-event")
        post_save.connect(receivers.on_deal_saved, sender=Deal, dispatch_uid="webhooks-deal-saved")
        post_save.connect(
            receivers.on_subscription_change_saved, sender=SubscriptionChange, dispatch_uid="webhooks-churn"
        )
        post_save.connect(forget_subscriptions, sender=Endpoint, dispatch_uid="webhooks-forget-saved")
        post_delete.connect(forget_subscriptions, sender=Endpoint, dispatch_uid="webhooks-forget-deleted")
