from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SuccessConfig(AppConfig):
    name = "kyogyo.success"
    verbose_name = _("Customer success")
