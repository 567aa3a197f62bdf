"""ETags and ``If-Match``: an update sent with the ETag the client read is applied only if
the record still looks the same; otherwise 412, and the client reloads. The ETag is a
hash of the record as the API shows it, so it changes whenever anything visible changes,
whichever path changed it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Schema

from kyogyo.api.errors import ApiError


def etag_of(shown: Schema) -> str:
    canonical = json.dumps(shown.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def set_etag(response: HttpResponse, shown: Schema) -> None:
    response["ETag"] = etag_of(shown)


def check_if_match(request: HttpRequest, shown: Schema, current: Any = None) -> None:
    """Refuse with 412 when ``If-Match`` names another version than the one shown now.
    Call it with the record locked (``select_for_update``), so nobody changes it between
    the check and the write."""
    wanted = request.headers.get("If-Match")
    if not wanted or wanted.strip() == "*":
        return
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    now = etag_of(shown)
    if now not in tags:
        raise ApiError(
            412,
            "precondition_failed",
            "the record was changed since you read it; read it again (GET) and re-apply your change",
            headers={"ETag": now},
        )
