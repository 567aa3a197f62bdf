"""What every settings page shares: only admins open them (the 403 page otherwise), a form
goes through its action in one shape (``submit``), and an action's refusal is shown next to
the field it is about."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
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


def submit(
    form: forms.Form,
    act: Callable[[dict[str, Any]], Any],
    refusals: type[Exception] | tuple[type[Exception], ...],
    field: Callable[[Exception], str | None] | None = None,
) -> tuple[bool, Any]:
    """A settings form's one shape: a valid form's data goes through ``act`` (the action);
    a refusal (one of ``refusals``) goes on the form, on the field ``field(error)`` names or
    on the error's own. Returns (done, what ``act`` returned); not done → render the form
    again, with ``form_status``."""
    if not form.is_valid():
        return False, None
    try:
        return True, act(form.cleaned_data)
    except refusals as exc:
        refuse_on_form(form, exc, field(exc) if field else None)
        return False, None


def form_status(form: forms.Form) -> int:
    """422 for a form shown again with errors, 200 for one shown first."""
    return 422 if form.errors else 200


def refuse_on_form(form: forms.Form, error: Exception, field: str | None = None) -> None:
    """Put an action's refusal on the form: on ``field`` (or the error's own ``field``)
    when the form has it, above the form otherwise."""
    target = field or getattr(error, "field", None)
    if target not in form.fields:
        target = None
    form.add_error(target, refusal_message(error))


def checked(request: HttpRequest, name: str) -> bool:
    return request.POST.get(name, "") in ("1", "on", "true", "yes")


def data_message(sentence: str, **values: object) -> SafeString:
    """A translated sentence (``%(name)s`` placeholders) with data in it, for a message:
    the data escaped and marked ``translate="no"``, like data anywhere else on a page."""
    spans = {key: format_html('<span translate="no">{}</span>', value) for key, value in values.items()}
    return mark_safe(conditional_escape(sentence) % spans)
