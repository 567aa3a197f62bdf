"""The two public endpoints: website forms (``/intake/forms/<key>``, guarded by origin,
honeypot and rate limit) and signed inbound webhooks (``/intake/hooks/<key>``).

Both are CSRF-exempt — a visitor's browser on another site, or another system, has no
CSRF token — and answer in JSON: ``{"error": {"code", "message", "fields"?}}`` on refusal."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from kyogyo.intake import hooks
from kyogyo.intake.actions import submit_form
from kyogyo.intake.fills import FillInvalid, read_fill
from kyogyo.intake.models import Form, InboundSource
from kyogyo.intake.visitors import client_address, request_origin
from kyogyo.ops import ratelimit

log = logging.getLogger("kyogyo.intake")

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PREFLIGHT_MAX_AGE = 600


def max_form_bytes() -> int:
    return int(getattr(settings, "KYOGYO_INTAKE_MAX_FORM_BYTES", 65_536))


def _error(
    status: int,
    code: str,
    message: str,
    *,
    fields: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["fields"] = fields
    response = JsonResponse({"error": error}, status=status, headers=headers)
    response["Cache-Control"] = "no-store"
    return response


def _too_large(request: HttpRequest, limit: int) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return True


# ------------------------------------------------------------------ website forms


@csrf_exempt
def form_fill(request: HttpRequest, key: str) -> HttpResponse:
    form = Form.objects.filter(key=key, active=True).first()
    if form is None:
        return _error(404, "no_form", f"there is no active form {key!r}")
    origin = request_origin(request)
    if origin is None or origin not in form.allowed_origins:
        seen = origin or "no origin"
        message = f"this form accepts fills only from its own website(s); {seen} is not one of them"
        return _error(403, "origin_not_allowed", message, headers={"Vary": "Origin"})
    cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if request.method == "OPTIONS":
        return _preflight(request, cors)
    if request.method != "POST":
        return _error(405, "method_not_allowed", "send the fill with POST", headers={**cors, "Allow": "POST"})
    limit = max_form_bytes()
    if _too_large(request, limit):
        return _error(413, "too_large", f"the fill is larger than {limit:,} bytes", headers=cors)
    # Before the fill's own transaction: the count must not roll back with it.
    client = client_address(request)
    decision = ratelimit.hit(
        f"intake:form:{form.key}:{client}", limit=form.rate_limit, window=form.rate_window
    )
    if not decision.allowed:
        message = f"too many fills from this address; try again in {decision.retry_after} s"
        headers = {**cors, "Retry-After": str(decision.retry_after)}
        return _error(429, "rate_limited", message, headers=headers)
    try:
        submitted = _submitted(request, limit)
        fill = read_fill(form, submitted)
        if fill.trapped:
            log.warning("intake: form %s: honeypot filled in by %s; nothing stored", form.key, client)
            return _accepted(fill.redirect, {"status": "accepted"}, 200, cors)
        outcome = submit_form(form, fill)
    except FillInvalid as invalid:
        fields = {name: {"code": e.code, "message": e.message} for name, e in invalid.fields.items()}
        message = f"{len(fields)} field(s) need correcting: {', '.join(fields)}"
        return _error(400, "invalid_fill", message, fields=fields, headers=cors)
    except _BodyRefused as refused:
        return _error(refused.status, refused.code, str(refused), headers=cors)
    answer = {
        "status": "accepted",
        "contact_id": outcome.contact.pk,
        "stage": outcome.stage,
        "created": outcome.created,
        "duplicate": outcome.duplicate,
    }
    return _accepted(fill.redirect, answer, 201 if outcome.created else 200, cors)


def _preflight(request: HttpRequest, cors: dict[str, str]) -> HttpResponse:
    wanted = request.headers.get("Access-Control-Request-Method", "POST").upper()
    if wanted != "POST":
        return _error(403, "method_not_allowed", "only POST is allowed", headers=cors)
    response = HttpResponse(status=204, headers=cors)
    response["Access-Control-Allow-Methods"] = "POST"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
    return response


def _accepted(
    redirect: str | None, answer: dict[str, Any], status: int, cors: dict[str, str]
) -> HttpResponse:
    """A plain HTML form that names a page on its own site is sent there (303); scripts get JSON."""
    response: HttpResponse
    if redirect:
        response = HttpResponseRedirect(redirect, status=303, headers=cors)
    else:
        response = JsonResponse(answer, status=status, headers=cors)
    response["Cache-Control"] = "no-store"
    return response


class _BodyRefused(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status, self.code = status, code
        super().__init__(message)


def _submitted(request: HttpRequest, limit: int) -> dict[str, list[Any]]:
    """Field name → values, from a form-encoded, multipart or JSON body."""
    try:
        body = request.body
    except RequestDataTooBig:
        raise _BodyRefused(413, "too_large", f"the fill is larger than {limit:,} bytes") from None
    if len(body) > limit:
        raise _BodyRefused(413, "too_large", f"the fill is larger than {limit:,} bytes")
    if request.content_type == "application/json":
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            raise _BodyRefused(400, "bad_body", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _BodyRefused(400, "bad_body", "the body must be a JSON object of field → value")
        return {str(k): v if isinstance(v, list) else [v] for k, v in data.items()}
    if request.content_type in FORM_TYPES:
        try:
            return {name: request.POST.getlist(name) for name in request.POST}
        except TooManyFieldsSent:
            raise _BodyRefused(400, "bad_body", "too many fields") from None
        except (MultiPartParserError, RequestDataTooBig, ValueError) as error:
            raise _BodyRefused(400, "bad_body", f"the form body cannot be read: {error}") from None
    message = "send application/x-www-form-urlencoded, multipart/form-data or application/json"
    raise _BodyRefused(415, "unsupported_content_type", message)


# ------------------------------------------------------------------ inbound webhooks


@csrf_exempt
def hook(request: HttpRequest, key: str) -> HttpResponse:
    if request.method != "POST":
        return _error(405, "method_not_allowed", "send the message with POST", headers={"Allow": "POST"})
    source = InboundSource.objects.filter(key=key, active=True).first()
    if source is None:
        return _error(404, "no_source", f"there is no active inbound source {key!r}")
    limit = hooks.max_body_bytes()
    if _too_large(request, limit):
        return _error(413, "too_large", f"the body is larger than {limit:,} bytes")
    try:
        body = request.body
    except RequestDataTooBig:
        return _error(413, "too_large", f"the body is larger than {limit:,} bytes")
    if len(body) > limit:
        return _error(413, "too_large", f"the body is larger than {limit:,} bytes")
    now = time.time()
    try:
        timestamp = hooks.check_signature(source, body, request.headers.get(hooks.SIGNATURE_HEADER), now=now)
        data = hooks.read_body(source, _json(body))
        with transaction.atomic():
            hooks.remember(source, body, timestamp, data.get("id"), now=now)
            outcome = hooks.ingest(source, data)
    except hooks.HookRefused as refused:
        return _error(refused.status, refused.code, str(refused))
    answer = {
        "status": "processed",
        "contacts": outcome.contacts,
        "activities": outcome.activities,
        "errors": [vars(e) for e in outcome.errors],
    }
    return JsonResponse(answer, status=200, headers={"Cache-Control": "no-store"})


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise hooks.HookRefused(400, "bad_body", "the body is not valid JSON (UTF-8)") from None
