"""Each signed-in person sees the app in their own language and time zone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from kyogyo.org import restricted

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def preferred_zone(name: str) -> zoneinfo.ZoneInfo | None:
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None  # a zone removed from tzdata: fall back to the company's


class PersonalPreferencesMiddleware:
    """After authentication: the user's saved language wins over the browser's, and times
    are shown in the user's zone (the company's when none is saved)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = getattr(user, "language", "")
            if language in LANGUAGE_CODES:
                translation.activate(language)
                request.LANGUAGE_CODE = language
            zone = preferred_zone(getattr(user, "time_zone", ""))
            if zone is not None:
                timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class RestrictedFieldsMiddleware:
    """After authentication: the admins' restricted-field markings are read at most once a
    request, and pages know whom they are for (kyogyo/org/restricted.py)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with restricted.request_scope(getattr(request, "user", None)):
            return self.get_response(request)
