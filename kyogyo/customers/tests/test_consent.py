"""Consent records: appended by grant/withdraw with the contact's state in step, never
changed or deleted (the model refuses, and so does the database)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from kyogyo.customers.consent import ConsentError, grant_consent, withdraw_consent
from kyogyo.customers.models import ConsentRecord
from kyogyo.testing import T0


def test_grant_and_withdraw_append_records_and_set_the_state(make_contact):
    contact = make_contact()
    assert contact.consent == "unknown"

    granted = grant_consent(contact, wording="News by email", source="form:wp", at=T0)
    assert (contact.consent, granted.state, granted.wording, granted.occurred_at) == (
        "granted",
        "granted",
        "News by email",
        T0,
    )
    assert grant_consent(contact, wording="News by email", source="form:wp") is None  # no new evidence
    assert grant_consent(contact, wording="News and events", source="form:events") is not None

    withdrawn = withdraw_consent(contact, source="email:unsubscribe")
    assert withdraw_consent(contact, source="email:unsubscribe") is None
    contact.refresh_from_db()
    assert contact.consent == "withdrawn" and withdrawn.state == "withdrawn"
    assert ConsentRecord.objects.filter(contact=contact).count() == 3


def test_a_grant_needs_the_wording(make_contact):
    contact = make_contact()
    with pytest.raises(ConsentError, match="wording"):
        grant_consent(contact, wording="  ", source="import")
    assert not ConsentRecord.objects.exists()
    contact.refresh_from_db()
    assert contact.consent == "unknown"


def test_a_record_cannot_be_changed_or_deleted_through_the_model(make_contact):
    record = grant_consent(make_contact(), wording="News", source="form:wp")
    record.wording = "Something else"
    with pytest.raises(ValidationError, match="append-only"):
        record.save()
    with pytest.raises(ValidationError, match="append-only"):
        record.delete()


def test_the_database_refuses_to_change_a_record(make_contact, on_postgres):
    record = grant_consent(make_contact(), wording="News", source="form:wp")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).update(wording="edited")
    if on_postgres:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            ConsentRecord.objects.filter(pk=record.pk).delete()
    record.refresh_from_db()
    assert record.wording == "News"
