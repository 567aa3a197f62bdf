"""What every page's layout needs."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from kyogyo.web.navigation import navigation


def workspace(request: HttpRequest) -> dict[str, object]:
    return {
        "nav_items": navigation(request),
        "language_choices": settings.LANGUAGES,
    }
