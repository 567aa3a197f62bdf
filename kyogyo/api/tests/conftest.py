"""An API client per named user: ``api(people.is_rep)`` is a test client whose every
request carries a fresh write token of that user (``scope="read"`` for a read token)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kyogyo.api.actions import create_token


class ApiClient:
    def __init__(self, token: str):
        self.token = token
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> Any:
        return self.client.get("/api" + path, params or {}, headers=headers)

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.post("/api" + path, body or {}, content_type="application/json", headers=headers)

    def patch(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.client.patch("/api" + path, body or {}, content_type="application/json", headers=headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self.client.delete("/api" + path, headers=headers)


@pytest.fixture
def api(people):
    def make(user, scope: str = "write") -> ApiClient:
        _, plain = create_token(user, name="test", scope=scope, actor=user)
        return ApiClient(plain)

    return make
