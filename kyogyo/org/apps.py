from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "kyogyo.org"
    verbose_name = _("Teams and users")

    def ready(self) -> None:
        from django.db.models.signals import pre_save

        from kyogyo.org.restricted import refuse_masked_save

        pre_save.connect(refuse_masked_save, dispatch_uid="kyogyo.org.refuse_masked_save")
