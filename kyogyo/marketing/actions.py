"""Recording activities: the touches that drive engagement scores and stage rules.

``record_activities`` is the one path for every activity, single or in thousands:
each item is validated on its own (bad items are reported with their index and the
rest go in), then in one transaction the rows are written, engagement scores folded
in, journeys started at the first touch and the stage rules run."""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from kyogyo.customers.models import Account, Contact
from kyogyo.journey import actions as journey_actions
from kyogyo.journey import rulebook
from kyogyo.journey.models import Transition
from kyogyo.marketing.models import Activity, ActivityType, Campaign
from kyogyo.ops.rows import Table
from kyogyo.org.models import User
from kyogyo.scoring.engine import add_touch

MAX_PAYLOAD_BYTES = 16_384
MAX_FUTURE_SKEW = dt.timedelta(minutes=5)
ACTIVITY_TYPES = frozenset(ActivityType.values)


@dataclass(frozen=True)
class ActivityInput:
    contact_id: int
    type: str
    occurred_at: dt.datetime
    source: str = ""
    campaign_id: int | None = None
    actor_id: int | None = None
    payload: dict[str, Any] | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class ItemError:
    index: int
    field: str
    code: str
    message: str


class WrittenActivities(Sequence[Activity]):
    """The rows a batch wrote, as model instances built only when asked for: a caller that
    counts them (the bulk endpoint, the importer) does not pay for thousands of instances."""

    def __init__(self, ids: Sequence[int], rows: Sequence[Sequence[Any]]) -> None:
        self._ids, self._rows = ids, rows
        self._built: list[Activity] | None = None

    def _records(self) -> list[Activity]:
        if self._built is None:
            self._built = [
                Activity.from_db(connection.alias, ACTIVITY_COLUMNS, [pk, *row])
                for pk, row in zip(self._ids, self._rows, strict=True)
            ]
        return self._built

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, index: Any) -> Any:
        return self._records()[index]

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __repr__(self) -> str:
        return repr(self._records())


@dataclass
class IngestResult:
    created: Sequence[Activity] = field(default_factory=list)
    duplicates: int = 0
    errors: list[ItemError] = field(default_factory=list)
    transitions: list[Transition] = field(default_factory=list)


class ActivityError(ValueError):
    def __init__(self, errors: Sequence[ItemError]):
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))


def item_errors(index: int, item: ActivityInput, now: dt.datetime) -> list[ItemError]:
    errors = []
    for name in ("contact_id", "campaign_id", "actor_id"):
        value = getattr(item, name)
        if (value is not None or name == "contact_id") and (
            not isinstance(value, int) or isinstance(value, bool) or value <= 0
        ):
            errors.append(
                ItemError(index, name, "bad_id", f"{name} must be a positive whole number, got {value!r}")
            )
    if item.type not in ACTIVITY_TYPES:
        errors.append(
            ItemError(
                index,
                "type",
                "unknown_type",
                f"unknown activity type {item.type!r}; known: {', '.join(ActivityType.values)}",
            )
        )
    if not isinstance(item.occurred_at, dt.datetime) or item.occurred_at.tzinfo is None:
        errors.append(
            ItemError(index, "occurred_at", "bad_time", "occurred_at must be a date-time with a time zone")
        )
    elif item.occurred_at > now + MAX_FUTURE_SKEW:
        errors.append(ItemError(index, "occurred_at", "in_future", "occurred_at is in the future"))
    if len(item.source or "") > 60:
        errors.append(ItemError(index, "source", "too_long", "source is longer than 60 characters"))
    if item.external_id is not None and not (0 < len(item.external_id) <= 100):
        errors.append(
            ItemError(index, "external_id", "bad_external_id", "external_id must be 1–100 characters")
        )
    if item.payload is not None:
        if not isinstance(item.payload, dict):
            errors.append(ItemError(index, "payload", "bad_payload", "payload must be an object"))
        else:
            try:
                size = len(json.dumps(item.payload, allow_nan=False).encode())
            except (TypeError, ValueError):
                errors.append(ItemError(index, "payload", "bad_payload", "payload must be plain JSON"))
            else:
                if size > MAX_PAYLOAD_BYTES:
                    errors.append(
                        ItemError(
                            index, "payload", "too_large", f"payload is larger than {MAX_PAYLOAD_BYTES} bytes"
                        )
                    )
    return errors


def record_activity(
    contact: Contact, type: str, occurred_at: dt.datetime | None = None, **extra: Any
) -> Activity:
    """Record one activity; raises ``ActivityError`` naming what is wrong."""
    result = record_activities([ActivityInput(contact.pk, type, occurred_at or timezone.now(), **extra)])
    if result.errors:
        raise ActivityError(result.errors)
    if not result.created:
        return Activity.objects.get(external_id=extra.get("external_id"))
    return result.created[0]


def record_activities(
    items: Sequence[ActivityInput],
    *,
    book: rulebook.RuleBook | None = None,
    now: dt.datetime | None = None,
) -> IngestResult:
    now = now or timezone.now()
    result = IngestResult()
    valid: list[tuple[int, ActivityInput]] = []
    for index, item in enumerate(items):
        errors = item_errors(index, item, now)
        result.errors.extend(errors)
        if not errors:
            valid.append((index, item))
    if not valid:
        return result
    # Read-only configuration: loaded before the people are locked, so the locks are held
    # for as short a time as possible.
    book = book or rulebook.load()
    with transaction.atomic():
        # The people first (in id order), then the external ids: every batch takes its locks
        # in that order, so two batches never wait on each other in a circle.
        contacts = _lock_contacts({i.contact_id for _, i in valid})
        valid = _drop_unknown_references(valid, result, contacts)
        if not valid:
            return result
        # With the external ids locked, two batches carrying the same id cannot both pass.
        _lock_external_ids([i.external_id for _, i in valid if i.external_id])
        valid = _drop_duplicates(valid, result)
        if not valid:
            return result
        kept = [i for _, i in valid]
        result.created = _insert_activities(kept)
        touched = [contacts[pk] for pk in sorted({i.contact_id for i in kept})]
        _fold_into_scores(kept, contacts, book)
        result.transitions = _move_journeys(touched, kept, book)
    return result


ACTIVITY_COLUMNS = [f.attname for f in Activity._meta.concrete_fields]


def _insert_activities(items: Sequence[ActivityInput]) -> WrittenActivities:
    """The rows, written in bulk (``Table``), and their records."""
    table = Table(Activity)
    rows = [
        {
            "contact_id": i.contact_id,
            "type": i.type,
            "occurred_at": i.occurred_at,
            "source": i.source or "",
            "campaign_id": i.campaign_id,
            "actor_id": i.actor_id,
            "payload": i.payload or {},
            "external_id": i.external_id,
        }
        for i in items
    ]
    ordered = [[row[name] for name in table.attnames] for row in rows]
    return WrittenActivities(table.insert(ordered), ordered)


def _lock_contacts(ids: set[int]) -> dict[int, Contact]:
    """The people named, locked (in id order), with their company."""
    if connection.vendor == "postgresql" and READ_AS_STORED:
        return _lock_contacts_in_binary(sorted(ids))
    query = (
        Contact.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(pk__in=sorted(ids))
        .order_by("pk")
    )
    return {c.pk: c for c in query}


CONTACT_FIELDS = Contact._meta.concrete_fields
ACCOUNT_FIELDS = Account._meta.concrete_fields
# Values that come from the database as they are (no field converts them): else the ORM reads.
READ_AS_STORED = not any(hasattr(f, "from_db_value") for f in (*CONTACT_FIELDS, *ACCOUNT_FIELDS))


def _lock_contacts_in_binary(ids: list[int]) -> dict[int, Contact]:
    """PostgreSQL: the ORM's query above, read in the binary format. Its C loaders turn the
    people's and companies' timestamps into datetimes several times faster than the text
    format's parser, which for a batch of thousands cost more than the query itself. The
    instances are the ones the ORM builds (``from_db``, the company cached on the person)
    from the same values (``READ_AS_STORED``)."""
    import psycopg

    quote = connection.ops.quote_name
    columns = [f"c.{quote(f.column or '')}" for f in CONTACT_FIELDS] + [
        f"a.{quote(f.column or '')}" for f in ACCOUNT_FIELDS
    ]
    contacts, accounts = quote(Contact._meta.db_table), quote(Account._meta.db_table)
    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:  # Django's cursors bind on the client, in text
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {contacts} c LEFT JOIN {accounts} a ON a.id = c.account_id "
            "WHERE c.id = ANY(%s::bigint[]) ORDER BY c.id FOR UPDATE OF c",
            [ids],
            binary=True,
        )
        rows = cursor.fetchall()
    alias, split = connection.alias, len(CONTACT_FIELDS)
    contact_names = [f.attname for f in CONTACT_FIELDS]
    account_names = [f.attname for f in ACCOUNT_FIELDS]
    company = Contact.account.field
    found = {}
    for row in rows:
        contact = Contact.from_db(alias, contact_names, row[:split])
        company.set_cached_value(
            contact, None if row[split] is None else Account.from_db(alias, account_names, row[split:])
        )
        found[contact.pk] = contact
    return found


def _lock_external_ids(external_ids: list[str]) -> None:
    """PostgreSQL: a transaction-scoped advisory lock per external id (sorted, so two
    batches never wait on each other in a circle). SQLite's writers are serialised anyway."""
    if connection.vendor != "postgresql" or not external_ids:
        return
    keys = sorted({zlib.crc32(f"activity:{e}".encode()) for e in external_ids})
    with connection.cursor() as cursor:
        # One statement per key, in order, sent as one batch (not one round trip each).
        cursor.executemany("SELECT pg_advisory_xact_lock(%s)", [[key] for key in keys])


def _drop_unknown_references(
    valid: list[tuple[int, ActivityInput]], result: IngestResult, contacts: Mapping[int, Contact]
) -> list[tuple[int, ActivityInput]]:
    """Items naming a contact, campaign or acting user that does not exist are reported,
    never allowed to fail the whole batch at commit."""
    known = {
        "contact_id": set(contacts),
        "campaign_id": _existing(Campaign, {i.campaign_id for _, i in valid if i.campaign_id is not None}),
        "actor_id": _existing(User, {i.actor_id for _, i in valid if i.actor_id is not None}),
    }
    names = {"contact_id": "contact", "campaign_id": "campaign", "actor_id": "user"}
    kept = []
    for index, item in valid:
        missing = next(
            (
                f
                for f in ("contact_id", "campaign_id", "actor_id")
                if getattr(item, f) is not None and getattr(item, f) not in known[f]
            ),
            None,
        )
        if missing is None:
            kept.append((index, item))
        else:
            result.errors.append(
                ItemError(
                    index,
                    missing,
                    f"unknown_{names[missing]}",
                    f"no {names[missing]} with id {getattr(item, missing)}",
                )
            )
    return kept


def _existing(model: type[Campaign] | type[User], ids: set[int]) -> set[int]:
    return set(model.objects.filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()


def _drop_duplicates(
    valid: list[tuple[int, ActivityInput]], result: IngestResult
) -> list[tuple[int, ActivityInput]]:
    """An external id seen before (in the database or earlier in the batch) is recorded once."""
    ids = [i.external_id for _, i in valid if i.external_id]
    seen = (
        set(Activity.objects.filter(external_id__in=ids).values_list("external_id", flat=True))
        if ids
        else set()
    )
    kept = []
    for index, item in valid:
        if item.external_id and item.external_id in seen:
            result.duplicates += 1
            continue
        if item.external_id:
            seen.add(item.external_id)
        kept.append((index, item))
    return kept


def _latest_by_contact(items: Sequence[ActivityInput]) -> dict[int, dt.datetime]:
    latest: dict[int, dt.datetime] = {}
    for item in items:
        if item.contact_id not in latest or item.occurred_at > latest[item.contact_id]:
            latest[item.contact_id] = item.occurred_at
    return latest


def _fold_into_scores(
    items: Sequence[ActivityInput], contacts: Mapping[int, Contact], book: rulebook.RuleBook
) -> None:
    """Add each activity's decayed weight to its contact's engagement score (locked rows)."""
    half_life = book.scoring.half_life_days
    touched = {}
    for item in sorted(items, key=lambda i: i.occurred_at):
        contact = touched[item.contact_id] = contacts[item.contact_id]
        weight = book.scoring.weights.get(item.type, 0.0)
        contact.engagement_score, contact.engagement_at = add_touch(
            contact.engagement_score,
            contact.engagement_at,
            item.occurred_at,
            weight,
            half_life,
        )
        if contact.last_activity_at is None or item.occurred_at > contact.last_activity_at:
            contact.last_activity_at = item.occurred_at
    _save_scores([touched[pk] for pk in sorted(touched)])


def _save_scores(contacts: Sequence[Contact]) -> None:
    """PostgreSQL: one UPDATE from arrays; SQLite: one parameterised UPDATE per row, sent as a
    batch. Both far cheaper than ``bulk_update``'s CASE expressions for thousands of rows."""
    table = connection.ops.quote_name(Contact._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} AS c SET engagement_score = v.score, engagement_at = v.scored_at, "
                "last_activity_at = v.last_at FROM unnest(%s::float8[], %s::timestamptz[], "
                "%s::timestamptz[], %s::bigint[]) AS v(score, scored_at, last_at, id) WHERE c.id = v.id",
                [
                    [c.engagement_score for c in contacts],
                    [c.engagement_at for c in contacts],
                    [c.last_activity_at for c in contacts],
                    [c.pk for c in contacts],
                ],
            )
            return
        cursor.executemany(
            f"UPDATE {table} SET engagement_score = %s, engagement_at = %s, last_activity_at = %s "
            "WHERE id = %s",
            [(c.engagement_score, adapt(c.engagement_at), adapt(c.last_activity_at), c.pk) for c in contacts],
        )


def _move_journeys(
    contacts: Sequence[Contact], items: Sequence[ActivityInput], book: rulebook.RuleBook
) -> list[Transition]:
    """A person's first touch starts their journey in the entry stage; then the stage rules
    judge everyone touched at the time of their latest touch. One batch of moves: the journey
    starts first, then the rule moves."""
    # Read after the people are locked, in a statement of its own: a row joined to the locking
    # query would be the version from before a concurrent move that the lock waited for.
    states = journey_actions.read_states([c.pk for c in contacts], book.stages)
    batch = journey_actions.JourneyBatch.for_locked(book.stages, states)
    first: dict[int, dt.datetime] = {}
    for item in items:
        if item.contact_id not in states and (
            item.contact_id not in first or item.occurred_at < first[item.contact_id]
        ):
            first[item.contact_id] = item.occurred_at
    by_id = {c.pk: c for c in contacts}
    for cid, at in sorted(first.items()):
        batch.advance(by_id[cid], book.stages.entry_key, at=at, via=Transition.Via.SYSTEM)
    batch.run_rules(contacts, _latest_by_contact(items), book)
    return batch.write()


CAMPAIGN_FIELDS = {"name", "channel", "starts_on", "ends_on", "external_id"}


def _check_campaign_dates(campaign: Campaign) -> None:
    from django.core.exceptions import ValidationError

    if campaign.starts_on and campaign.ends_on and campaign.ends_on < campaign.starts_on:
        raise ValidationError({"ends_on": "a campaign cannot end before it starts"})


@transaction.atomic
def create_campaign(**values: Any) -> Campaign:
    campaign = Campaign(**{k: v for k, v in values.items() if k in CAMPAIGN_FIELDS})
    _check_campaign_dates(campaign)
    campaign.full_clean()
    campaign.save()
    return campaign


@transaction.atomic
def update_campaign(campaign: Campaign, **values: Any) -> Campaign:
    changed = [k for k, v in values.items() if k in CAMPAIGN_FIELDS and getattr(campaign, k) != v]
    for name in changed:
        setattr(campaign, name, values[name])
    if changed:
        _check_campaign_dates(campaign)
        campaign.full_clean()
        campaign.save(update_fields=changed)
    return campaign
