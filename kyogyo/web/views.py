"""The layout's own pages: home, personal preferences, the language switch and the CSP
violation report endpoint. The team areas have their views in their own apps."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from kyogyo.org import access
from kyogyo.org.signin import count_attempt_from
from kyogyo.web import workspace
from kyogyo.web.forms import LanguageForm, PreferencesForm, SignInForm

log = logging.getLogger("kyogyo.csp")

MAX_CSP_REPORT_BYTES = 16_384


class SignInView(auth_views.LoginView):
    form_class = SignInForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        wait = count_attempt_from(request)
        if wait:
            # an unbound form: binding it would try the password, which is what we refuse
            form = self.get_form_class()(
                request, initial={"username": request.POST.get("username", "")[:150]}
            )
            message = _("Too many sign-in attempts from your address. Wait a few minutes and try again.")
            context = self.get_context_data(form=form, throttled=message)
            response = self.render_to_response(context, status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)


@login_required
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    from kyogyo.analytics.kpis import my_kpis

    context = {**workspace.home_for(request.user), "my_kpis": my_kpis(request.user)}  # type: ignore[arg-type]
    return render(request, "web/home.html", context)


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        translation.activate(user.language)
        messages.success(request, _("Your preferences are saved."))
        response = redirect("web:preferences")
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax")
        return response
    return render(request, "web/preferences.html", {"form": form})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch language; remembered on the person when signed in, in a cookie otherwise."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(_("Unknown language."))
    language = form.cleaned_data["language"]
    target = form.cleaned_data["next"] or reverse("web:home")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = reverse("web:home")
    if request.user.is_authenticated:
        request.user.language = language  # type: ignore[union-attr]
        request.user.save(update_fields=["language"])  # type: ignore[union-attr]
    response = redirect(target)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
    return response


@login_required
@require_safe
def settings_index(request: HttpRequest) -> HttpResponse:
    if not access.can_manage_settings(request.user):  # type: ignore[arg-type]
        raise PermissionDenied(_("Only admins change settings."))
    return render(request, "web/settings.html", {"sections": workspace.settings_sections()})


@csrf_exempt  # browsers post reports without a token; nothing is changed but a log line
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    body = request.body[:MAX_CSP_REPORT_BYTES]
    try:
        report = json.loads(body or b"{}").get("csp-report", {})
    except (ValueError, AttributeError):
        return HttpResponse(status=400)
    log.warning(
        "CSP violation: %s blocked %s on %s",
        str(report.get("violated-directive", "?"))[:200],
        str(report.get("blocked-uri", "?"))[:500],
        str(report.get("document-uri", "?"))[:500],
    )
    return HttpResponse(status=204)
