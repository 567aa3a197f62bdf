"""Settings → API tokens: everyone manages their own personal tokens (admins see and
revoke everyone's). A new token's secret is shown once, in the answer to its creation,
never stored in plain text and never shown again."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kyogyo.api import actions
from kyogyo.api.models import ApiToken
from kyogyo.org import access
from kyogyo.org.models import User
from kyogyo.web.paging import paginate
from kyogyo.web.refusals import refusal_message
from kyogyo.web.settings_pages import data_message, submit

PER_PAGE = 50


class TokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. the tool that uses it."),
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("Scope"), choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ
    )


def visible_tokens(user: User):  # type: ignore[no-untyped-def]
    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-pk")
    return tokens if access.is_admin(user) else tokens.filter(user=user)


def _render(request: HttpRequest, form: TokenForm, *, secret: str = "", status: int = 200) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context = {
        "form": form,
        "secret": secret,
        "page": paginate(request, visible_tokens(user), PER_PAGE),
        "sees_all": access.is_admin(user),
    }
    response = render(request, "api/settings/tokens.html", context, status=status)
    if secret:
        add_never_cache_headers(response)  # the secret must not stay in a cache
    return response


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request, TokenForm())
    form = TokenForm(request.POST)
    done, created = submit(
        form,
        lambda data: actions.create_token(
            request.user,  # type: ignore[arg-type]
            name=data["name"],
            scope=data["scope"],
            actor=request.user,  # type: ignore[arg-type]
        ),
        actions.TokenError,
        field=lambda exc: "name" if getattr(exc, "code", "") == "bad_name" else None,
    )
    if done:
        token, secret = created
        messages.success(request, data_message(_("The token %(name)s is created."), name=token.name))
        return _render(request, TokenForm(), secret=secret, status=201)
    return _render(request, form, status=422)


@login_required
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = visible_tokens(request.user).filter(pk=pk).first()  # type: ignore[arg-type]
    if token is None:
        raise Http404  # someone else's token reads as no token at all
    try:
        actions.revoke_token(token, actor=request.user)  # type: ignore[arg-type]
    except actions.TokenError as exc:
        messages.error(request, refusal_message(exc))
    else:
        messages.success(
            request, data_message(_("The token %(name)s is revoked; it no longer works."), name=token.name)
        )
    return redirect("settings:tokens")
