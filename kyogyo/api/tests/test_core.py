"""The API's common behaviour, through HTTP: tokens and scopes, the error format,
pagination, Idempotency-Key, ETag / If-Match and the per-token rate limit."""

from __future__ import annotations

import json

import pytest
from django.test import Client, RequestFactory

from kyogyo.api.actions import create_token, revoke_token
from kyogyo.api.idempotency import fingerprint_of
from kyogyo.api.models import ApiToken, IdempotentRequest
from kyogyo.customers.models import Account
from kyogyo.testing import ApiClient


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]


# --- tokens -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer nonsense",
        "Bearer kyg_",
        "Bearer kyg_abc_def",
        "Basic dXNlcjpwdw==",
        "Bearer " + "x" * 500,
    ],
)
def test_requests_without_a_valid_token_are_401(people, header):
    client = Client(HTTP_AUTHORIZATION=header) if header else Client()
    response = client.get("/api/me")
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_acts_as_its_user_and_is_stored_hashed(people):
    token, plain = create_token(people.is_rep, name="sync", scope="read", actor=people.is_rep)
    assert plain.startswith("kyg_") and plain not in json.dumps(list(ApiToken.objects.values()), default=str)
    me = ApiClient(plain).get("/me").json()
    assert me == {
        "id": people.is_rep.pk,
        "username": "is_rep",
        "team": "inside_sales",
        "role": "member",
        "token_scope": "read",
    }
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_or_an_inactive_user_is_refused(people):
    token, plain = create_token(people.marketer, name="t", scope="write", actor=people.marketer)
    client = ApiClient(plain)
    assert client.get("/me").status_code == 200
    revoke_token(token, actor=people.marketer)
    assert client.get("/me").status_code == 401
    _, other = create_token(people.csm, name="t", scope="write", actor=people.csm)
    people.csm.is_active = False
    people.csm.save()
    assert ApiClient(other).get("/me").status_code == 401


def test_a_read_token_cannot_write(api, people):
    reader = api(people.marketer, scope="read")
    assert reader.get("/accounts").status_code == 200
    response = reader.post("/accounts", {"name": "Acme"})
    assert response.status_code == 403
    assert error_of(response)["code"] == "insufficient_scope"
    assert not Account.objects.exists()


def test_tokens_over_the_api_create_list_and_revoke(api, people):
    me = api(people.fs_rep)
    created = me.post("/tokens", {"name": "laptop", "scope": "read"})
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("kyg_") and body["scope"] == "read" and body["user"] == "fs_rep"
    assert ApiClient(body["token"]).get("/me").json()["token_scope"] == "read"
    listed = me.get("/tokens").json()["items"]
    assert {t["name"] for t in listed} == {"test", "laptop"} and all("token" not in t for t in listed)
    assert me.delete(f"/tokens/{body['id']}").json()["revoked_at"] is not None
    assert ApiClient(body["token"]).get("/me").status_code == 401


def test_only_admins_touch_other_peoples_tokens(api, people):
    theirs, _ = create_token(people.csm, name="csm's", scope="read", actor=people.csm)
    rep = api(people.fs_rep)
    assert rep.delete(f"/tokens/{theirs.pk}").status_code == 404  # like an unknown id
    assert rep.delete("/tokens/999999").status_code == 404
    assert rep.post("/tokens", {"name": "x", "user_id": people.csm.pk}).status_code == 404
    admin = api(people.admin)
    assert admin.post("/tokens", {"name": "for csm", "user_id": people.csm.pk}).json()["user"] == "csm"
    assert admin.delete(f"/tokens/{theirs.pk}").status_code == 200


# --- errors and validation ----------------------------------------------------------------


def test_invalid_input_names_the_field(api, people):
    response = api(people.marketer).post("/accounts", {"name": "", "employee_count": -1, "country": "Japan"})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid"
    assert {d["field"] for d in error["details"]} == {"name", "employee_count", "country"}


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07"])
def test_control_characters_are_refused(api, people, text):
    response = api(people.marketer).post("/accounts", {"name": text})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "name"


def test_a_body_that_is_not_json_is_a_clear_error(api, people):
    client = api(people.marketer)
    response = client.client.post("/api/accounts", "{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert error_of(response)["code"] in ("bad_request", "invalid")


@pytest.mark.parametrize("path", ["/accounts/0", "/accounts/99999999", "/accounts/9223372036854775808"])
def test_ids_out_of_range_or_unknown(api, people, path):
    response = api(people.marketer).get(path)
    assert response.status_code in (404, 422)
    assert error_of(response)["code"] in ("not_found", "invalid")


def test_model_validation_is_422_with_its_field(api, people):
    client = api(people.marketer)
    assert client.post("/contacts", {"email": "dup@example.jp"}).status_code == 201
    response = client.post("/contacts", {"email": "dup@example.jp"})
    assert response.status_code == 422
    assert error_of(response)["details"][0]["field"] == "email"
    response = client.post("/contacts", {"email": "not an email"})
    assert response.status_code == 422


# --- pagination ---------------------------------------------------------------------------


def test_cursor_pages_walk_every_record_once(api, people):
    for n in range(7):
        Account.objects.create(name=f"A{n}", created_at="2026-01-01T00:00Z")
    client = api(people.marketer)
    seen, cursor = [], None
    while True:
        page = client.get("/accounts", {"limit": 3, **({"cursor": cursor} if cursor else {})}).json()
        seen += [a["name"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"A{n}" for n in range(7)]


@pytest.mark.parametrize(
    "params", [{"cursor": "garbage!"}, {"cursor": "aWQ6eA"}, {"limit": 0}, {"limit": 501}]
)
def test_bad_page_parameters(api, people, params):
    response = api(people.marketer).get("/accounts", params)
    assert response.status_code == 422
    assert error_of(response)["code"] in ("bad_cursor", "invalid")


def test_an_empty_list_is_an_empty_page(api, people):
    assert api(people.marketer).get("/accounts").json() == {"items": [], "next_cursor": None}


# --- idempotency --------------------------------------------------------------------------


def test_a_replay_returns_the_first_answer_and_does_the_work_once(api, people):
    client = api(people.marketer)
    first = client.post("/accounts", {"name": "Once"}, **{"Idempotency-Key": "k-1"})
    again = client.post("/accounts", {"name": "Once"}, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Account.objects.filter(name="Once").count() == 1


def test_the_same_key_with_another_body_is_refused(api, people):
    client = api(people.marketer)
    client.post("/accounts", {"name": "One"}, **{"Idempotency-Key": "k-2"})
    response = client.post("/accounts", {"name": "Two"}, **{"Idempotency-Key": "k-2"})
    assert response.status_code == 422
    assert error_of(response)["code"] == "idempotency_key_reused"
    assert not Account.objects.filter(name="Two").exists()


def test_keys_belong_to_their_token_and_errors_are_kept_too(api, people):
    one, two = api(people.marketer), api(people.marketer)
    assert one.post("/accounts", {"name": "X"}, **{"Idempotency-Key": "same"}).status_code == 201
    assert two.post("/accounts", {"name": "X"}, **{"Idempotency-Key": "same"}).status_code == 201
    bad = one.post("/accounts", {"name": ""}, **{"Idempotency-Key": "bad"})
    assert one.post("/accounts", {"name": ""}, **{"Idempotency-Key": "bad"}).json() == bad.json()


def test_a_rate_limited_or_unauthorised_write_is_not_kept(api, people, settings):
    settings.KYOGYO_API_RATE_LIMIT = (1, 3600)
    client = api(people.marketer)
    assert client.get("/me").status_code == 200
    assert client.post("/accounts", {"name": "Later"}, **{"Idempotency-Key": "k-3"}).status_code == 429
    assert not IdempotentRequest.objects.exists()


def test_a_request_still_running_under_the_same_key_is_told_so(api, people):
    client = api(people.marketer)
    body = {"name": "B"}
    running = RequestFactory().post("/api/accounts", body, content_type="application/json")
    token = ApiToken.objects.get(user=people.marketer)
    IdempotentRequest.objects.create(token=token, key="busy", fingerprint=fingerprint_of(running))
    response = client.post("/accounts", body, **{"Idempotency-Key": "busy"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "idempotency_in_progress"
    assert not Account.objects.exists()


def test_a_bad_key_is_refused(api, people):
    response = api(people.marketer).post("/accounts", {"name": "K"}, **{"Idempotency-Key": "x" * 201})
    assert response.status_code == 422
    assert error_of(response)["code"] == "bad_idempotency_key"


# --- ETag / If-Match ----------------------------------------------------------------------


def test_an_update_with_a_stale_etag_is_412_and_changes_nothing(api, people):
    client = api(people.marketer)
    created = client.post("/accounts", {"name": "Acme"})
    etag = created["ETag"]
    assert client.get(f"/accounts/{created.json()['id']}")["ETag"] == etag
    updated = client.patch(
        f"/accounts/{created.json()['id']}", {"industry": "software"}, **{"If-Match": etag}
    )
    assert updated.status_code == 200 and updated["ETag"] != etag
    stale = client.patch(f"/accounts/{created.json()['id']}", {"industry": "retail"}, **{"If-Match": etag})
    assert stale.status_code == 412
    assert error_of(stale)["code"] == "precondition_failed"
    assert stale["ETag"] == updated["ETag"]
    assert Account.objects.get().industry == "software"


def test_an_update_without_if_match_applies(api, people):
    client = api(people.marketer)
    account = client.post("/accounts", {"name": "Acme"}).json()
    assert client.patch(f"/accounts/{account['id']}", {"segment": "smb"}).json()["segment"] == "smb"


# --- rate limit ---------------------------------------------------------------------------


def test_the_rate_limit_answers_429_with_retry_after(api, people, settings):
    settings.KYOGYO_API_RATE_LIMIT = (5, 3600)
    client = api(people.marketer)
    answers = [client.get("/me").status_code for _ in range(7)]
    assert answers == [200] * 5 + [429] * 2
    limited = client.get("/me")
    assert error_of(limited)["code"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 3600
    # Another token of the same user has its own allowance.
    assert api(people.marketer).get("/me").status_code == 200


# --- docs ---------------------------------------------------------------------------------


def test_schema_and_interactive_docs_are_served_locally(people):
    client = Client()
    schema = client.get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Kyogyo API"
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower() and "/static/ninja/" in html
