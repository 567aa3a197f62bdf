"""The main navigation: one entry per area of the app, shown when its page exists and the
person may open it. Areas are built app by app; an entry whose URL is not routed yet is
left out rather than linking to a 404."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from kyogyo.org import access
from kyogyo.org.models import User


@dataclass(frozen=True)
class Area:
    url_name: str
    label: str | Promise
    allowed: Callable[[User], bool] = access.can_read_records


AREAS = (
    Area("web:home", _("Home")),
    Area("customers:contacts", _("People")),
    Area("customers:accounts", _("Companies")),
    Area("handoffs:list", _("Handoffs")),
    Area("deals:list", _("Deals")),
    Area("deals:pipeline", _("Pipeline")),
    Area("analytics:dashboard", _("The Model"), access.can_read_reports),
    Area("analytics:plans", _("Planning"), access.can_read_reports),
    Area("success:home", _("Customer Success")),
    Area("healthcheck:list", _("Health check"), access.can_read_reports),
    Area("web:settings", _("Settings"), access.can_manage_settings),
)


@dataclass(frozen=True)
class NavItem:
    url: str
    label: str | Promise
    current: bool


def navigation(request: HttpRequest) -> list[NavItem]:
    user = request.user
    if not user.is_authenticated:
        return []
    items = []
    for area in AREAS:
        if not area.allowed(user):  # type: ignore[arg-type]
            continue
        try:
            url = reverse(area.url_name)
        except NoReverseMatch:
            continue
        current = request.path == url if url == "/" else request.path.startswith(url)
        items.append(NavItem(url, area.label, current))
    return items
