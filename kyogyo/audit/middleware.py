"""Every request writes under the path it came through and the person signed in (an API
call's actor is named once its token is checked: ``kyogyo/api/auth.py``)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from kyogyo.audit.context import origin

PREFIXES = (("/api/", "api"), ("/admin/", "admin"), ("/intake/", "intake"))


def path_of(request: HttpRequest) -> str:
    return next((path for prefix, path in PREFIXES if request.path.startswith(prefix)), "ui")


class RequestOriginMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
        with origin(path_of(request), actor=actor, label=f"{request.method} {request.path}"[:200]):
            return self.get_response(request)
