"""What every settings page shares: only admins open them (the 403 page otherwise), and
an action's refusal is shown next to the field it is about."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from kyogyo.org import access
from kyogyo.web.refusals import refusal_message

View = Callable[..., HttpResponse]


def admin_page(view: View) -> View:
    """Signed in and an admin (``access.can_manage_settings``), else the 403 page."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not access.can_manage_settings(request.user):  # type: ignore[arg-type]
            raise PermissionDenied(_("Only admins change settings."))
        return view(request, *args, **kwargs)

    return login_required(wrapped)


def refuse_on_form(form: forms.Form, error: Exception, field: str | None = None) -> None:
    """Put an action's refusal on the form: on ``field`` (or the error's own ``field``)
    when the form has it, above the form otherwise."""
    target = field or getattr(error, "field", None)
    if target not in form.fields:
        target = None
    form.add_error(target, refusal_message(error))


def checked(request: HttpRequest, name: str) -> bool:
    return request.POST.get(name, "") in ("1", "on", "true", "yes")
