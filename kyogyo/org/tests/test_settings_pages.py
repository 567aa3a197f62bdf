"""Settings → teams and users over HTTP: admins only, new people through the action (with
clear, per-field errors), team and role changes, deactivation instead of deletion."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kyogyo.org.models import Team, User

PAYLOAD = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture
def admin_client(client, people):
    client.force_login(people.admin)
    return client


@pytest.mark.parametrize(
    "name", ["settings:users", "settings:user", "settings:team"], ids=["list", "user", "team"]
)
def test_members_and_managers_get_the_403_page(client, people, name):
    args = {"settings:users": [], "settings:user": [people.is_rep.pk], "settings:team": [1]}[name]
    for who in (people.is_rep, people.manager):
        client.force_login(who)
        response = client.get(reverse(name, args=args))
        assert response.status_code == 403
        assert b"Only admins change settings." in response.content


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    assert client.get("/settings/users/").status_code == 302


def test_the_list_shows_people_with_team_and_role(admin_client, people, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        html = admin_client.get("/settings/users/").content.decode()
    assert "is_rep" in html and "Inside Sales" in html and "Manager" in html


def test_an_admin_adds_a_user_who_can_sign_in(admin_client, people, client):
    team = Team.objects.get(key=Team.FIELD_SALES)
    response = admin_client.post(
        "/settings/users/",
        {
            "username": "newbie",
            "email": "new@example.jp",
            "team": team.pk,
            "role": "member",
            "password": "a-long-pw-91",
        },
        follow=True,
    )
    assert b'<span translate="no">newbie</span> can now sign in.' in response.content
    created = User.objects.get(username="newbie")
    assert created.team == team and created.role == "member" and created.check_password("a-long-pw-91")


def test_a_taken_name_and_a_bad_email_are_said_next_to_their_fields(admin_client, people):
    response = admin_client.post(
        "/settings/users/",
        {"username": "IS_REP", "email": "nope", "role": "member", "password": "a-long-pw-91"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Enter a valid email address." in html
    response = admin_client.post(
        "/settings/users/", {"username": "IS_REP", "role": "member", "password": "a-long-pw-91"}
    )
    assert "This user name is taken." in response.content.decode()
    assert User.objects.filter(username__iexact="is_rep").count() == 1


def test_a_weak_password_is_refused(admin_client, people):
    response = admin_client.post(
        "/settings/users/", {"username": "weak", "role": "member", "password": "123"}
    )
    assert response.status_code == 422
    assert not User.objects.filter(username="weak").exists()


def test_team_and_role_change(admin_client, people):
    team = Team.objects.get(key=Team.CUSTOMER_SUCCESS)
    response = admin_client.post(f"/settings/users/{people.is_rep.pk}/", {"team": team.pk, "role": "manager"})
    assert response.status_code == 302
    people.is_rep.refresh_from_db()
    assert (people.is_rep.team, people.is_rep.role) == (team, "manager")


def test_an_admin_cannot_drop_their_own_admin_role(admin_client, people):
    response = admin_client.post(f"/settings/users/{people.admin.pk}/", {"team": "", "role": "member"})
    assert response.status_code == 422
    assert b"You cannot take away your own admin role." in response.content
    people.admin.refresh_from_db()
    assert people.admin.role == "admin"


def test_deactivating_keeps_the_user_and_blocks_sign_in(admin_client, people, client):
    page = admin_client.get(f"/settings/users/{people.is_rep.pk}/").content.decode()
    assert "data-confirm=" in page
    response = admin_client.post(f"/settings/users/{people.is_rep.pk}/active", {"active": "0"}, follow=True)
    assert b"is deactivated; their records are kept." in response.content
    people.is_rep.refresh_from_db()
    assert not people.is_rep.is_active
    assert not client.login(username="is_rep", password="pw-is_rep")
    admin_client.post(f"/settings/users/{people.is_rep.pk}/active", {"active": "1"})
    people.is_rep.refresh_from_db()
    assert people.is_rep.is_active


def test_an_admin_cannot_deactivate_themselves(admin_client, people):
    response = admin_client.post(f"/settings/users/{people.admin.pk}/active", {"active": "0"}, follow=True)
    assert b"You cannot deactivate yourself." in response.content
    people.admin.refresh_from_db()
    assert people.admin.is_active


def test_rename_a_team_and_names_are_shown_as_text(admin_client, people):
    team = Team.objects.get(key=Team.MARKETING)
    response = admin_client.post(f"/settings/teams/{team.pk}/", {"name": PAYLOAD, "name_ja": "マーケ"})
    assert response.status_code == 302
    html = admin_client.get("/settings/users/").content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    response = admin_client.post(f"/settings/teams/{team.pk}/", {"name": ""})
    assert response.status_code == 422


def test_unknown_records_answer_404(admin_client, people):
    assert admin_client.get("/settings/users/999999/").status_code == 404
    assert admin_client.get("/settings/teams/999999/").status_code == 404
