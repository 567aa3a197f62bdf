"""One error format for every answer that is not a success:

    {"error": {"code": "not_found", "message": "no such deal", "details": [...]}}

``code`` is stable (clients branch on it), ``message`` is for people, ``details`` names the
fields or items at fault. The domain's own refusals (``JourneyError``, ``DealError``, …)
carry a code already; they are passed through with a status that says what kind of
refusal it is."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from kyogyo.api.actions import TokenError
from kyogyo.deals.actions import DealError
from kyogyo.handoffs.actions import HandoffError
from kyogyo.journey.machine import JourneyError
from kyogyo.success.actions import SubscriptionError


class ErrorDetail(Schema):
    field: str | None = None
    code: str
    message: str


class ErrorBody(Schema):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorOut(Schema):
    error: ErrorBody


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers or {}
        super().__init__(message)


def not_found(what: str = "record") -> ApiError:
    # The same answer for an id that does not exist and one the caller may not see.
    return ApiError(404, "not_found", f"no such {what}")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


# Codes of domain refusals that mean "the input is wrong" (422) rather than "not now, not
# in this state" (409) or "not you" (403).
INVALID_CODES = frozenset(
    {
        "bad_amount",
        "bad_currency",
        "bad_mrr",
        "bad_reason",
        "bad_class",
        "bad_name",
        "bad_scope",
        "invalid",
        "unknown_field",
        "unknown_stage",
        "reason_required",
        "note_too_long",
        "bad_date",
        "bad_plan",
        "bad_score",
        "bad_via",
        "naive_time",
        "actor_required",
    }
)
FORBIDDEN_CODES = frozenset({"forbidden", "not_receiving_team"})
DOMAIN_ERRORS = (JourneyError, DealError, HandoffError, SubscriptionError, TokenError)


def status_for_code(code: str) -> int:
    if code in FORBIDDEN_CODES:
        return 403
    if code in INVALID_CODES:
        return 422
    return 409


def error_response(api: NinjaAPI, request: HttpRequest, error: ApiError) -> HttpResponse:
    body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
    response = api.create_response(request, body, status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def _location(loc: Any) -> str:
    # pydantic's locations look like ("body", "payload", "items", 3, "type"): drop the
    # framework's own parts, keep what the client sent.
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path", "header", "filters")]
    return ".".join(parts) or "body"


def install_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(api, request, exc)

    @api.exception_handler(NinjaValidationError)
    def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        details = [
            {
                "field": _location(e.get("loc", ())),
                "code": str(e.get("type", "invalid")),
                "message": e.get("msg", ""),
            }
            for e in exc.errors
        ]
        return error_response(
            api, request, ApiError(422, "invalid", "the request is not valid", details=details)
        )

    @api.exception_handler(AuthenticationError)
    def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        error = ApiError(
            401,
            "unauthorized",
            "send a valid API token: Authorization: Bearer kyg_…",
            headers={"WWW-Authenticate": 'Bearer realm="kyogyo"'},
        )
        return error_response(api, request, error)

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400:
            # A body that is not JSON is invalid input like any other: 422, which every
            # operation documents (a 400 would be an answer no operation declares).
            detail = {"field": "body", "code": "bad_json", "message": str(exc)}
            return error_response(api, request, ApiError(422, "invalid", str(exc), details=[detail]))
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return error_response(api, request, ApiError(exc.status_code, code, str(exc)))

    @api.exception_handler(DjangoValidationError)
    def on_model_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        details: list[dict[str, Any]] = []
        if hasattr(exc, "error_dict"):
            for field, field_errors in exc.error_dict.items():
                for error in field_errors:
                    message = " ".join(str(m) for m in error.messages)
                    details.append({"field": field, "code": error.code or "invalid", "message": message})
        else:
            details = [{"field": None, "code": "invalid", "message": m} for m in exc.messages]
        return error_response(
            api, request, ApiError(422, "invalid", "the record is not valid", details=details)
        )

    for error_class in DOMAIN_ERRORS:

        @api.exception_handler(error_class)
        def on_domain_error(request: HttpRequest, exc: Exception) -> HttpResponse:
            code = getattr(exc, "code", "conflict")
            return error_response(api, request, ApiError(status_for_code(code), code, str(exc)))


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error answers an operation documents, beside the ones every operation has."""
    return {status: ErrorOut for status in (400, 401, 403, 422, 429, *statuses)}
