from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HealthcheckConfig(AppConfig):
    name = "kyogyo.healthcheck"
    verbose_name = _("The Model health check")
