"""The REST API: one NinjaAPI, a router per domain app (each app's ``api.py``), token
authentication on every operation, the shared error format, cursor pagination and, on
writes, ``Idempotency-Key`` and ``If-Match``. Schema at ``/api/openapi.json``, interactive
docs at ``/api/docs`` (served from our own static files)."""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI

from kyogyo.api.auth import TokenAuth
from kyogyo.api.errors import install_handlers

API_VERSION = "1"

DESCRIPTION = """
Every record type and journey action of Kyogyo, backed by the same actions as the app.

* **Authentication**: `Authorization: Bearer kyg_…` with a personal token (`kyogyo tokens
  create`). A token acts as its user, with that user's permissions; a `read` token only reads.
* **Errors**: `{"error": {"code", "message", "details": [{"field", "code", "message"}]}}`.
  An id you may not see answers like an id that does not exist (404).
* **Lists**: `?limit=` (≤ 500) and `?cursor=` from the previous page's `next_cursor`.
* **Writes**: send `Idempotency-Key` to make a retry safe; send the `ETag` you read as
  `If-Match` on updates (412 when the record changed meanwhile).
* **Rate limit**: per token; over it the answer is 429 with `Retry-After`.
"""

WRITE_METHODS = ("post", "put", "patch", "delete")


class KyogyoAPI(NinjaAPI):
    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(*args, **kwargs)
        for item in schema.get("paths", {}).values():
            for method, operation in item.items():
                if method in WRITE_METHODS:
                    operation.setdefault("parameters", []).append(
                        {
                            "in": "header",
                            "name": "Idempotency-Key",
                            "required": False,
                            "description": "makes a retry of this write safe (kept 24 hours)",
                            "schema": {
                                "type": "string",
                                "minLength": 1,
                                "maxLength": 200,
                                "pattern": "^[!-~]([ -~]*[!-~])?$",
                            },
                        }
                    )
        return schema


api = KyogyoAPI(
    title="Kyogyo API",
    version=API_VERSION,
    description=DESCRIPTION,
    auth=TokenAuth(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_handlers(api)


def _add_routers() -> None:
    from kyogyo.analytics.api import router as analytics_router
    from kyogyo.api.api import router as tokens_router
    from kyogyo.audit.api import router as history
    from kyogyo.customers.api import accounts, contacts
    from kyogyo.deals.api import deals, pipeline_stages
    from kyogyo.exports.api import router as exports
    from kyogyo.handoffs.api import handoffs
    from kyogyo.imports.api import router as imports
    from kyogyo.journey.api import reasons, rules, stages
    from kyogyo.marketing.api import activities, campaigns
    from kyogyo.success.api import nps, subscriptions

    api.add_router("/accounts", accounts)
    api.add_router("/contacts", contacts)
    api.add_router("/campaigns", campaigns)
    api.add_router("/activities", activities)
    api.add_router("/exports", exports)
    api.add_router("/imports", imports)
    api.add_router("/deals", deals)
    api.add_router("/pipeline-stages", pipeline_stages)
    api.add_router("/subscriptions", subscriptions)
    api.add_router("/nps", nps)
    api.add_router("/handoffs", handoffs)
    api.add_router("/stages", stages)
    api.add_router("/reasons", reasons)
    api.add_router("/rules", rules)
    api.add_router("/history", history)
    api.add_router("/", analytics_router)
    api.add_router("/", tokens_router)


_add_routers()
