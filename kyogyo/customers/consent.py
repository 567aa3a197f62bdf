"""Consent given and withdrawn: each change appends a ``ConsentRecord`` (the evidence) and
sets the contact's ``consent`` (the current state) in the same transaction.

A grant always names the wording the person agreed to, so nothing can turn a withdrawal
back into a grant without an explicit, worded agreement from the person."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from kyogyo.customers import actions as customer_actions
from kyogyo.customers.models import ConsentRecord, Contact


class ConsentError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def latest_record(contact: Contact) -> ConsentRecord | None:
    return ConsentRecord.objects.filter(contact=contact).order_by("-occurred_at", "-id").first()


@transaction.atomic
def grant_consent(
    contact: Contact,
    *,
    wording: str,
    source: str,
    at: dt.datetime | None = None,
    **via: Any,
) -> ConsentRecord | None:
    """The person agreed to ``wording``. Nothing is added when their latest record is already
    a grant of the same wording (a repeated tick is no new evidence). ``via``: ``form=`` or
    ``inbound_source=``."""
    if not (wording or "").strip():
        raise ConsentError("no_wording", "a consent grant needs the wording the person agreed to")
    latest = latest_record(contact)
    if (
        contact.consent == Contact.Consent.GRANTED
        and latest is not None
        and latest.state == ConsentRecord.State.GRANTED
        and latest.wording == wording
    ):
        return None
    return _record(contact, ConsentRecord.State.GRANTED, wording=wording, source=source, at=at, **via)


@transaction.atomic
def withdraw_consent(
    contact: Contact,
    *,
    source: str,
    wording: str = "",
    at: dt.datetime | None = None,
    **via: Any,
) -> ConsentRecord | None:
    """The person opted out; nothing is added when they already had."""
    latest = latest_record(contact)
    if contact.consent == Contact.Consent.WITHDRAWN and (
        latest is None or latest.state == ConsentRecord.State.WITHDRAWN
    ):
        return None
    return _record(contact, ConsentRecord.State.WITHDRAWN, wording=wording, source=source, at=at, **via)


def _record(
    contact: Contact, state: str, *, wording: str, source: str, at: dt.datetime | None, **via: Any
) -> ConsentRecord:
    record = ConsentRecord.objects.create(
        contact=contact,
        state=state,
        source=source[:60],
        wording=wording,
        occurred_at=at or timezone.now(),
        form=via.get("form"),
        inbound_source=via.get("inbound_source"),
    )
    if contact.consent != state:
        # Through the customer action: consent is a field rules read, so they run again.
        customer_actions.update_contact(contact, consent=state)
    return record
