"""Unknown query parameters are refused (422 naming them), not ignored: a filter with a typo
(``?stauts=open``) would otherwise answer with everything, which looks like an answer.
The parameters an operation takes are read from the API's own OpenAPI schema, so the rule
holds for every operation without any of them listing its parameters twice."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

API_PREFIX = "/api/"
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@cache
def query_parameters() -> dict[tuple[str, str], dict[str, bool]]:
    """(METHOD, path template) → {query parameter: whether it may repeat}."""
    from kyogyo.api.site import api

    found = {}
    for path, item in api.get_openapi_schema()["paths"].items():
        for method, operation in item.items():
            found[(method.upper(), path)] = {
                p["name"]: _is_list(p.get("schema", {}))
                for p in operation.get("parameters", [])
                if p.get("in") == "query"
            }
    return found


def _is_list(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "array":
        return True
    return any(_is_list(option) for option in schema.get("anyOf", []))


def operation_template(request: HttpRequest) -> str | None:
    """``/api/deals/{deal_id}`` for a request to ``/api/deals/7``, when the API has an
    operation for this method there; None otherwise (a 404 or 405 to come)."""
    try:
        match = request.resolver_match or resolve(request.path_info)
    except Resolver404:
        return None
    template = "/" + _CONVERTER.sub(r"{\1}", match.route)
    return template if (request.method or "", template) in query_parameters() else None


class UnknownQueryParametersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view: Any, args: Any, kwargs: Any) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX) or request.resolver_match is None:
            return None
        template = operation_template(request)
        if template is None:  # not an operation: the API answers 404 / 405 itself
            return None
        allowed = query_parameters()[(request.method or "", template)]
        unknown = sorted(set(request.GET) - set(allowed))
        repeated = sorted(
            n for n in request.GET if n in allowed and not allowed[n] and len(request.GET.getlist(n)) > 1
        )
        if not unknown and not repeated:
            return None
        details = [
            {"field": name, "code": "unknown_parameter", "message": "not a parameter of this operation"}
            for name in unknown
        ] + [{"field": name, "code": "repeated_parameter", "message": "takes one value"} for name in repeated]
        takes = ", ".join(sorted(allowed)) or "none"
        if unknown:
            code = "unknown_parameter"
            message = f"unknown query parameter(s): {', '.join(unknown)}; this operation takes: {takes}"
        else:
            code = "repeated_parameter"
            message = f"query parameter(s) given more than once: {', '.join(repeated)}"
        return JsonResponse({"error": {"code": code, "message": message, "details": details}}, status=422)
