"""Settings → API tokens over HTTP: everyone manages their own tokens (the secret shown
once, never listed), admins see and revoke everyone's, others' tokens read as 404."""

from __future__ import annotations

import re

from kyogyo.api import actions
from kyogyo.api.models import ApiToken

PAYLOAD = "<script>alert(1)</script>"


def test_a_member_creates_a_token_sees_the_secret_once_and_it_works(client, people):
    client.force_login(people.is_rep)
    response = client.post("/settings/tokens/", {"name": PAYLOAD, "scope": "read"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    secret = re.search(r"<code>(kyg_[A-Za-z0-9_-]+)</code>", html).group(1)
    assert PAYLOAD not in html and "&lt;script&gt;" in html
    assert actions.authenticate(secret).user == people.is_rep
    listed = client.get("/settings/tokens/").content.decode()
    assert secret not in listed and secret.split("_")[1] in listed  # the prefix only


def test_a_token_needs_a_name(client, people):
    client.force_login(people.is_rep)
    response = client.post("/settings/tokens/", {"name": "", "scope": "read"})
    assert response.status_code == 422 and b"This field is required." in response.content
    response = client.post("/settings/tokens/", {"name": "x", "scope": "admin"})
    assert response.status_code == 422 and b"Select a valid choice" in response.content
    assert not ApiToken.objects.exists()


def test_empty_state_and_no_settings_crumb_for_members(client, people):
    client.force_login(people.is_rep)
    html = client.get("/settings/tokens/").content.decode()
    assert "No tokens yet." in html
    assert 'class="crumbs"' not in html


def test_revoke_own_token_after_confirmation(client, people):
    token, secret = actions.create_token(people.is_rep, name="CI", scope="read", actor=people.is_rep)
    client.force_login(people.is_rep)
    assert "data-confirm=" in client.get("/settings/tokens/").content.decode()
    response = client.post(f"/settings/tokens/{token.pk}/revoke", follow=True)
    assert b'The token <span translate="no">CI</span> is revoked' in response.content
    assert actions.authenticate(secret) is None


def test_others_tokens_are_invisible_to_members_and_visible_to_admins(client, people):
    token, _secret = actions.create_token(people.fs_rep, name="fs-tool", scope="write", actor=people.fs_rep)
    client.force_login(people.is_rep)
    assert b"fs-tool" not in client.get("/settings/tokens/").content
    assert client.post(f"/settings/tokens/{token.pk}/revoke").status_code == 404
    token.refresh_from_db()
    assert token.is_active
    client.force_login(people.admin)
    html = client.get("/settings/tokens/").content.decode()
    assert "fs-tool" in html and "fs_rep" in html
    client.post(f"/settings/tokens/{token.pk}/revoke")
    token.refresh_from_db()
    assert not token.is_active


def test_anonymous_visitors_sign_in_first(client, db):
    assert client.get("/settings/tokens/").status_code == 302


def test_the_list_costs_the_same_for_many_tokens(client, people, django_assert_max_num_queries):
    for n in range(30):
        actions.create_token(
            people.fs_rep if n % 2 else people.is_rep, name=f"t{n}", scope="read", actor=people.admin
        )
    client.force_login(people.admin)
    with django_assert_max_num_queries(6):
        assert client.get("/settings/tokens/").status_code == 200
