"""Staff see tokens in the admin (never their secrets) and revoke them there."""

from __future__ import annotations

from django.test import Client

from kyogyo.api.actions import create_token
from kyogyo.api.models import ApiToken


def test_tokens_are_listed_without_secrets_and_revoked_from_the_admin(people):
    token, plain = create_token(people.csm, name="crm sync", scope="write", actor=people.csm)
    admin = people.admin
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/api/apitoken/")
    assert page.status_code == 200 and "crm sync" in page.content.decode()
    assert plain.split("_")[-1] not in page.content.decode()
    detail = client.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()
    assert token.secret_hash not in detail
    assert client.get("/admin/api/apitoken/add/").status_code == 403
    client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
