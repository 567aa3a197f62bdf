"""Settings → webhooks (admins only): endpoints (the destination check refuses private and
local addresses), switching them on and off, rotating the signing secret (shown once), and
each endpoint's delivery log with a retry for failed deliveries."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kyogyo.web.paging import paginate
from kyogyo.web.refusals import refusal_message
from kyogyo.web.settings_pages import admin_page, submit
from kyogyo.webhooks import actions
from kyogyo.webhooks.models import Delivery, Endpoint

URL_ERRORS = {"bad_url", "blocked_address", "unresolvable", "bad_scheme", "bad_host", "credentials"}


class EventsWidget(forms.CheckboxSelectMultiple):
    """Event types are identifiers (data): their labels are marked as not to translate."""

    option_template_name = "webhooks/settings/_event_option.html"


def _event_choices() -> list[tuple[str, str]]:
    return [("*", str(gettext_lazy("All events")))] + [(e, e) for e in actions.EVENT_TYPES]


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=500,
        widget=forms.URLInput(attrs={"translate": "no"}),
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=_event_choices,
        widget=EventsWidget(attrs={"class": "checks"}),
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)


class EditEndpointForm(EndpointForm):
    description = None  # type: ignore[assignment]


def _endpoint(pk: int) -> Endpoint:
    found = Endpoint.objects.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def _field_of(exc: Exception) -> str:
    return "url" if getattr(exc, "code", "") in URL_ERRORS else "events"


def _shown_once(response: HttpResponse) -> HttpResponse:
    add_never_cache_headers(response)
    return response


def _list(request: HttpRequest, form: EndpointForm, *, secret: str = "", status: int = 200) -> HttpResponse:
    context = {"endpoints": Endpoint.objects.order_by("pk"), "form": form, "secret": secret}
    return render(request, "webhooks/settings/endpoints.html", context, status=status)


@admin_page
def endpoints(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _list(request, EndpointForm())
    form = EndpointForm(request.POST)
    done, created = submit(
        form,
        lambda data: actions.create_endpoint(data["url"], data["events"], description=data["description"]),
        actions.WebhookError,
        field=_field_of,
    )
    if done:
        messages.success(request, _("The endpoint is added and receives events from now on."))
        return _shown_once(_list(request, EndpointForm(), secret=created.secret, status=201))
    return _list(request, form, status=422)


def _detail(
    request: HttpRequest,
    endpoint: Endpoint,
    form: forms.Form | None = None,
    *,
    secret: str = "",
    status: int = 200,
) -> HttpResponse:
    status_filter = request.GET.get("status", "")
    deliveries = Delivery.objects.filter(endpoint=endpoint).order_by("-pk")
    if status_filter in Delivery.Status.values:
        deliveries = deliveries.filter(status=status_filter)
    context = {
        "endpoint": endpoint,
        "form": form or EditEndpointForm(initial={"url": endpoint.url, "events": endpoint.events}),
        "secret": secret,
        "page": paginate(request, deliveries, 50),
        "statuses": Delivery.Status.choices,
        "status_filter": status_filter,
    }
    return render(request, "webhooks/settings/endpoint.html", context, status=status)


@admin_page
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    if request.method != "POST":
        return _detail(request, endpoint)
    form = EditEndpointForm(request.POST)
    done, _saved = submit(
        form,
        lambda data: actions.update_endpoint(endpoint, url=data["url"], events=data["events"]),
        actions.WebhookError,
        field=_field_of,
    )
    if done:
        messages.success(request, _("The endpoint is saved."))
        return redirect("settings:webhook", pk=endpoint.pk)
    endpoint.refresh_from_db()  # a refused change leaves nothing half-applied on the page
    return _detail(request, endpoint, form, status=422)


@admin_page
@require_POST
def endpoint_active(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = _endpoint(pk)
    active = request.POST.get("active") == "1"
    actions.update_endpoint(endpoint, active=active, resolver=None)
    if active:
        messages.success(request, _("The endpoint is switched on."))
    else:
        messages.success(request, _("The endpoint is switched off; it receives no events until switched on."))
    return redirect("settings:webhook", pk=endpoint.pk)


@admin_page
@require_POST
def rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = actions.update_endpoint(_endpoint(pk), rotate_secret=True, resolver=None)
    messages.success(request, _("The endpoint has a new secret; deliveries are signed with it from now on."))
    return _shown_once(_detail(request, endpoint, secret=endpoint.secret))


@admin_page
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = Delivery.objects.filter(pk=pk).first()
    if delivery is None:
        raise Http404
    try:
        actions.retry_delivery(delivery)
    except actions.WebhookError as exc:
        messages.error(request, refusal_message(exc))
    else:
        messages.success(request, _("The delivery is sent again at the next run."))
    return redirect("settings:webhook", pk=delivery.endpoint_id)
