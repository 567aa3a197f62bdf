from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """The pages the four teams work in: layout, sign-in, preferences, the home workspace."""

    name = "kyogyo.web"
    label = "web"
    verbose_name = _("Web app")
