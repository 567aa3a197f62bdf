"""Sign-in under attack: an account locks after repeated wrong passwords (on every sign-in
path, the admin's too), each address is rate limited, everything is logged; and the
production settings pass `check --deploy`."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys

import pytest
from django.contrib.auth import authenticate


@pytest.fixture
def strict(settings):
    settings.KYOGYO_LOGIN_LOCKOUT = (3, 900)
    settings.KYOGYO_LOGIN_RATE_LIMIT = (10, 300)
    return settings


def sign_in(client, username, password, path="/login/"):
    return client.post(path, {"username": username, "password": password})


def test_an_account_locks_after_repeated_wrong_passwords(client, people, strict, caplog):
    caplog.set_level(logging.WARNING, logger="kyogyo.security")
    for _ in range(3):
        assert sign_in(client, "is_rep", "wrong").status_code == 200
    response = sign_in(client, "is_rep", "pw-is_rep")  # even the right password, for now
    assert response.status_code == 200
    assert b"this account is locked" in response.content
    assert "_auth_user_id" not in client.session
    assert "failed sign-in for 'is_rep'" in caplog.text
    assert "account 'is_rep' locked" in caplog.text


def test_the_lock_holds_on_the_admin_sign_in_and_authenticate(client, people, strict):
    for _ in range(3):
        sign_in(client, "admin", "wrong")
    assert authenticate(username="admin", password="pw-admin") is None
    response = sign_in(client, "admin", "pw-admin", path="/admin/login/")
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_other_accounts_are_not_locked(client, people, strict):
    for _ in range(3):
        sign_in(client, "is_rep", "wrong")
    assert sign_in(client, "fs_rep", "pw-fs_rep").status_code == 302


def test_the_lock_ignores_case_and_spaces_in_the_name(client, people, strict):
    for name in ("IS_REP", "is_rep ", "Is_Rep"):
        sign_in(client, name, "wrong")
    assert b"this account is locked" in sign_in(client, "is_rep", "pw-is_rep").content


def test_too_many_attempts_from_one_address_answer_429(client, people, strict):
    for n in range(10):
        sign_in(client, f"nobody{n}", "wrong")
    response = sign_in(client, "fs_rep", "pw-fs_rep")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert b"Too many sign-in attempts from your address" in response.content


def test_a_right_password_before_the_limit_signs_in(client, people, strict):
    sign_in(client, "is_rep", "wrong")
    assert sign_in(client, "is_rep", "pw-is_rep").status_code == 302


def test_production_settings_pass_check_deploy(tmp_path):
    env = {
        **os.environ,
        "KYOGYO_DATA_DIR": str(tmp_path),
        "KYOGYO_DEBUG": "0",
        "KYOGYO_HTTPS": "1",
        "KYOGYO_SECRET_KEY": secrets.token_urlsafe(50),
        "KYOGYO_ALLOWED_HOSTS": "kyogyo.example.jp",
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests of this run, never in production
    done = subprocess.run(
        [sys.executable, "-m", "kyogyo.cli", "check", "--deploy", "--system-only", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_secure_headers_on_every_page(client, db):
    response = client.get("/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "Content-Security-Policy" in response
