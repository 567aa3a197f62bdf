"""Personal-data rights (APPI / GDPR): everything held about one person, and erasing it.

Erasure keeps the person as an anonymous subject — their journey, activities, deals and
survey scores still count in every aggregate, so the waterfall and the conversion rates
stay honest — and removes what identifies them: name, e-mail, phone, title, external id,
activity payloads (form fields), free-text notes on their transitions and handoffs, survey
comments, the copies of their address in webhook bodies, API replay records, the admin's
log and the import files of the data directory. Their address is kept only as a one-way
digest on the suppression list, so a later import, form or API call cannot silently bring
them back; the erasure itself is recorded (when, by whom, why)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kyogyo.customers.models import ConsentRecord, Contact, SuppressedIdentity
from kyogyo.org.models import User

ERASED = "[erased]"
SCRUBBED_SUFFIXES = {".csv", ".txt", ".json", ".jsonl", ".tsv", ".log"}


class PrivacyError(ValueError):
    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def email_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def is_suppressed(email: str | None) -> bool:
    if not email:
        return False
    return SuppressedIdentity.objects.filter(digest=email_digest(email)).exists()


def suppressed_among(emails: list[str]) -> set[str]:
    """The addresses (as given, lower-cased) that are on the suppression list: one query."""
    by_digest = {email_digest(e): e.strip().lower() for e in emails if e}
    if not by_digest:
        return set()
    found = SuppressedIdentity.objects.filter(digest__in=list(by_digest)).values_list("digest", flat=True)
    return {by_digest[d] for d in found}


# --- everything about one person ---------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime | dt.date) else value


def person_data(contact: Contact) -> dict[str, Any]:
    """What Kyogyo holds about this person, as plain JSON-ready data."""
    from kyogyo.deals.models import Deal
    from kyogyo.handoffs.models import Handoff
    from kyogyo.journey.models import Transition
    from kyogyo.marketing.models import Activity
    from kyogyo.success.models import NpsResponse

    fields = ("email", "first_name", "last_name", "title", "phone", "consent", "source", "external_id")
    return {
        "person": {
            "id": contact.pk,
            **{name: getattr(contact, name) for name in fields},
            "company": contact.account.name if contact.account else None,
            "created_at": _iso(contact.created_at),
            "erased_at": _iso(contact.erased_at),
        },
        "consent_records": [
            {"state": r.state, "source": r.source, "wording": r.wording, "occurred_at": _iso(r.occurred_at)}
            for r in ConsentRecord.objects.filter(contact=contact).order_by("occurred_at", "id")
        ],
        "activities": [
            {"type": a.type, "occurred_at": _iso(a.occurred_at), "source": a.source, "payload": a.payload}
            for a in Activity.objects.filter(contact=contact).order_by("occurred_at", "id")
        ],
        "stage_changes": [
            {
                "from": t.from_stage.key if t.from_stage else None,
                "to": t.to_stage.key,
                "at": _iso(t.at),
                "via": t.via,
                "note": t.note,
            }
            for t in Transition.objects.filter(subject=contact)
            .select_related("from_stage", "to_stage")
            .order_by("seq")
        ],
        "handoffs": [
            {"stage": h.stage.key, "status": h.status, "created_at": _iso(h.created_at), "note": h.note}
            for h in Handoff.objects.filter(subject=contact)
            .select_related("stage")
            .order_by("created_at", "id")
        ],
        "deals": [
            {"name": d.name, "status": d.status, "amount": d.amount}
            for d in Deal.objects.filter(contact=contact).order_by("id")
        ],
        "survey_answers": [
            {"score": n.score, "comment": n.comment, "answered_at": _iso(getattr(n, "answered_at", None))}
            for n in NpsResponse.objects.filter(contact=contact).order_by("id")
        ],
    }


# --- erasure -----------------------------------------------------------------------------------


@dataclass
class ErasureResult:
    contact_id: int
    scrubbed: dict[str, int] = field(default_factory=dict)


def _scrub_text(text: str, needles: list[str]) -> str:
    for needle in needles:
        text = re.sub(re.escape(needle), ERASED, text, flags=re.IGNORECASE)
    return text


def _scrub_files(needles: list[str]) -> int:
    """Import uploads, error files and journals in the data directory that mention the
    person's address get it replaced (CSV/text in place, XLSX cell by cell)."""
    root = Path(settings.DATA_DIR) / "imports"
    if not root.is_dir() or not needles:
        return 0
    changed = 0
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        if path.suffix.lower() in SCRUBBED_SUFFIXES:
            raw = path.read_bytes()
            for encoding in ("utf-8-sig", "cp932"):
                try:
                    text = raw.decode(encoding)
                    break
                except UnicodeDecodeError:
                    continue
            else:
                continue
            scrubbed = _scrub_text(text, needles)
            if scrubbed != text:
                path.write_bytes(scrubbed.encode(encoding))
                changed += 1
        elif path.suffix.lower() == ".xlsx":
            changed += _scrub_workbook(path, needles)
    return changed


def _scrub_workbook(path: Path, needles: list[str]) -> int:
    import openpyxl

    workbook = openpyxl.load_workbook(path)
    touched = False
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    scrubbed = _scrub_text(cell.value, needles)
                    if scrubbed != cell.value:
                        cell.value = scrubbed
                        touched = True
    if touched:
        workbook.save(path)
    return int(touched)


def erase_person(contact: Contact, *, actor: User | None, reason: str = "") -> ErasureResult:
    """Erase one person's personal data (see the module's docstring); idempotent."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    from kyogyo.api.models import IdempotentRequest
    from kyogyo.handoffs.models import Handoff
    from kyogyo.journey.models import Transition
    from kyogyo.marketing.models import Activity
    from kyogyo.success.models import NpsResponse
    from kyogyo.webhooks.models import Delivery

    now = timezone.now()
    result = ErasureResult(contact.pk)
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        email = contact.email or ""
        needles = [email] if email else []
        if email:
            SuppressedIdentity.objects.get_or_create(
                digest=email_digest(email),
                defaults={"erased_at": now, "erased_by": actor, "reason": reason[:200]},
            )
        scrub = result.scrubbed
        scrub["activity payloads"] = (
            Activity.objects.filter(contact=contact).exclude(payload={}).update(payload={})
        )
        scrub["stage change notes"] = (
            Transition.objects.filter(subject=contact).exclude(note="").update(note="")
        )
        scrub["handoff notes"] = Handoff.objects.filter(subject=contact).exclude(note="").update(note="")
        scrub["survey comments"] = (
            NpsResponse.objects.filter(contact=contact).exclude(comment="").update(comment="")
        )
        if email:
            deliveries = Delivery.objects.filter(body__icontains=email)
            scrub["webhook bodies"] = 0
            for delivery in deliveries.only("pk", "body"):
                delivery.body = _scrub_text(delivery.body, needles)
                delivery.save(update_fields=["body"])
                scrub["webhook bodies"] += 1
            scrub["API replay records"] = _drop_replays(IdempotentRequest, email)
        contact_type = ContentType.objects.get_for_model(Contact)
        scrub["admin log entries"] = LogEntry.objects.filter(
            content_type=contact_type, object_id=str(contact.pk)
        ).update(object_repr=ERASED, change_message="")
        for name in ("email", "external_id"):
            setattr(contact, name, None)
        for name in ("first_name", "last_name", "title", "phone"):
            setattr(contact, name, "")
        contact.consent = Contact.Consent.WITHDRAWN
        contact.erased_at = contact.erased_at or now
        contact.save(
            update_fields=[
                "email",
                "external_id",
                "first_name",
                "last_name",
                "title",
                "phone",
                "consent",
                "erased_at",
            ]
        )
        if email:
            scrub["copies in other records"] = _scrub_everywhere(email)
        scrub["history entries"] = _redact_history(contact, email)
    result.scrubbed["import files"] = _scrub_files(needles)
    return result


APPEND_ONLY = {("journey", "transition"), ("customers", "consentrecord"), ("audit", "change")}


def _redact_history(contact: Contact, email: str) -> int:
    """Last, once every other store is scrubbed (each scrub wrote history of its own): the
    person's own history, their handoffs' and NPS answers' notes, and any history row that
    still quotes the address."""
    from kyogyo.audit import history
    from kyogyo.handoffs.models import Handoff

    count = history.redact(Contact, [contact.pk])
    handoffs = Handoff.objects.filter(subject=contact).values_list("pk", flat=True)
    count += history.redact(Handoff, handoffs, fields=["note"])
    return count + history.redact_mentions(email) if email else count


def _scrub_everywhere(email: str) -> int:
    """The address written anywhere else — another person's notes, a deal's name, a note on
    someone else's stage change: every text column of every table is searched (a full scan
    per column: erasure is rare and must be complete) and the address replaced. The log's
    notes, which may only be blanked, are blanked."""
    from django.db.models import CharField, JSONField, TextField
    from django.db.models.functions import Cast

    from kyogyo.journey.models import Transition

    changed = Transition.objects.filter(note__icontains=email).update(note="")
    for model in apps.get_models():
        if (model._meta.app_label, model._meta.model_name) in APPEND_ONLY or not model._meta.managed:
            continue
        for column in model._meta.concrete_fields:
            if isinstance(column, JSONField):
                rows = model._default_manager.annotate(_text=Cast(column.attname, TextField())).filter(
                    _text__icontains=email
                )
            elif isinstance(column, CharField | TextField) and not column.choices:
                rows = model._default_manager.filter(**{f"{column.attname}__icontains": email})
            else:
                continue
            for row in rows.only("pk", column.attname):
                value = getattr(row, column.attname)
                if isinstance(value, str):
                    scrubbed: Any = _scrub_text(value, [email])
                else:
                    scrubbed = json.loads(_scrub_text(json.dumps(value, ensure_ascii=False), [email]))
                if column.unique and isinstance(scrubbed, str) and column.null:
                    scrubbed = None  # a unique column cannot hold "[erased]" twice
                setattr(row, column.attname, scrubbed)
                row.save(update_fields=[column.attname])
                changed += 1
    return changed


def _drop_replays(model: Any, email: str) -> int:
    """Stored API answers kept for Idempotency-Key replays that hold the address."""
    needle = email.lower().encode()
    doomed = [
        pk for pk, body in model._default_manager.values_list("pk", "body") if needle in bytes(body).lower()
    ]
    if doomed:
        model._default_manager.filter(pk__in=doomed).delete()
    return len(doomed)
