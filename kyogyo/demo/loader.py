"""The bulk path's loader: writes the companies, simulates the shards (in parallel
processes when asked), then stitches each shard's rows into the database in canonical
order — giving them their final ids, resolving round-robin placeholders with the
rotation's real position and recomputing the hash chains those placeholders entered.

Rows go in with multi-row inserts (SQLite) or COPY (PostgreSQL), each shard in one
transaction; a failure leaves the shards before it complete and nothing of the rest."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from django.core.management.color import no_style
from django.db import connection, connections, models, transaction
from django.db.models import Max

from kyogyo.customers.models import Account, Contact
from kyogyo.deals.models import Deal, DealMove
from kyogyo.demo import bulk, scenario
from kyogyo.handoffs import routing
from kyogyo.handoffs.actions import mark_breaches
from kyogyo.handoffs.models import Handoff, RoutingCursor
from kyogyo.journey import machine
from kyogyo.journey.models import Milestone, Transition
from kyogyo.marketing.models import Activity
from kyogyo.success.models import NpsResponse, Subscription, SubscriptionChange

Progress = Callable[[int, int], None]

# Columns holding ids of rows a shard numbered itself: (column, table its ids belong to).
LOCAL_REFERENCES: dict[type[models.Model], list[tuple[str, type[models.Model]]]] = {
    Contact: [("id", Contact)],
    Activity: [("id", Activity), ("contact_id", Contact)],
    Transition: [("id", Transition), ("subject_id", Contact)],
    Milestone: [("subject_id", Contact)],
    Handoff: [
        ("id", Handoff),
        ("transition_id", Transition),
        ("resolution_id", Transition),
        ("subject_id", Contact),
    ],
    Deal: [("id", Deal), ("contact_id", Contact)],
    DealMove: [("id", DealMove), ("deal_id", Deal)],
    Subscription: [("id", Subscription), ("deal_id", Deal)],
    SubscriptionChange: [("id", SubscriptionChange), ("subscription_id", Subscription)],
    NpsResponse: [("id", NpsResponse), ("contact_id", Contact)],
}
# Columns that may hold a rotation placeholder instead of a user id.
USER_COLUMNS: dict[type[models.Model], list[str]] = {
    Transition: ["actor_id"],
    Handoff: ["assigned_to_id", "acted_by_id"],
    Deal: ["owner_id"],
    DealMove: ["actor_id"],
}


class Codec:
    """Turns a model's rows (dicts keyed by attribute name) into lists of database values in
    column order: what Django would send, computed in the shard workers, not the writer."""

    def __init__(self, model: type[models.Model], vendor: str) -> None:
        self.fields = list(model._meta.concrete_fields)
        self.names = [f.attname for f in self.fields]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.converters = [(i, c) for i, c in enumerate(_converter(f, vendor) for f in self.fields) if c]

    def encode(self, rows: list[dict[str, Any]]) -> list[list[Any]]:
        names, converters = self.names, self.converters
        encoded = []
        for row in rows:
            values = [row.get(n) for n in names]
            for i, convert in converters:
                if values[i] is not None:
                    values[i] = convert(values[i])
            encoded.append(values)
        return encoded


def _converter(field: models.Field, vendor: str) -> Callable[[Any], Any] | None:
    if isinstance(field, models.JSONField):
        return lambda v: json.dumps(v) if v else ("{}" if isinstance(v, dict) else json.dumps(v))
    if isinstance(field, models.CharField | models.TextField):
        return str  # plain text, not a choices enum member
    if isinstance(field, models.DateTimeField):
        if vendor == "postgresql":
            return lambda v: v.isoformat()
        # What Django's SQLite backend stores: naive UTC text (adapt_datetimefield_value).
        return lambda v: v.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
    if isinstance(field, models.DateField):
        return lambda v: v.isoformat()
    return None


class Writer:
    """Writes encoded rows with explicit ids: multi-row inserts on SQLite, COPY on PostgreSQL."""

    def __init__(self) -> None:
        self.vendor = connection.vendor

    def begin(self) -> None:
        """Settings for one bulk transaction (call inside it)."""
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                # A big page cache keeps the indexes' hot pages in memory during the load.
                cursor.execute("PRAGMA cache_size = -1000000")
                return
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SELECT current_setting('is_superuser')")
            if cursor.fetchone()[0] == "on":
                # As pg_restore does: skip the per-row foreign-key triggers. The rows are the
                # engine's own (same as the actions write), and `kyogyo check` verifies them.
                cursor.execute("SET LOCAL session_replication_role = replica")

    def end(self) -> None:
        """Undo ``begin``'s settings: SET LOCAL lasts to the end of the *outermost*
        transaction, so a load inside a larger one (a test, an import) would otherwise leave
        every trigger after it switched off."""
        if self.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
                cursor.execute("SET LOCAL synchronous_commit = DEFAULT")

    def write(self, model: type[models.Model], rows: list[list[Any]]) -> None:
        if not rows:
            return
        fields = list(model._meta.concrete_fields)
        columns = ", ".join(connection.ops.quote_name(f.column or "") for f in fields)
        table = connection.ops.quote_name(model._meta.db_table or "")
        connection.ensure_connection()
        raw = connection.connection
        if self.vendor == "postgresql":
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for values in rows:
                    copy.write_row(values)
        else:
            marks = ", ".join("?" for _ in fields)
            raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def next_ids() -> dict[type[models.Model], int]:
    """The next id each table would hand out."""
    tables: list[type[models.Model]] = [Account, *bulk.TABLES, RoutingCursor]
    ids = {m: (m._default_manager.aggregate(m=Max("pk"))["m"] or 0) + 1 for m in tables if m is not Milestone}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT name, seq FROM sqlite_sequence")
            seqs = dict(cursor.fetchall())
        for model in ids:
            ids[model] = max(ids[model], seqs.get(model._meta.db_table, 0) + 1)
    return ids


# The shard workers inherit these from the parent when it forks.
_shard_context: dict[str, Any] = {}


@dataclass
class EncodedShard:
    result: bulk.ShardResult
    rows: dict[type[models.Model], list[list[Any]]]
    transition_micros: list[int]


def _simulate(shard: int) -> EncodedShard:
    context = _shard_context
    driver = bulk.BulkDriver(context["config"], shard)
    story = scenario.Story(context["company"], driver, context["campaign_ids"], context["staff"])
    story.account_ids = context["config"].account_ids
    story.run_shard(shard)
    result = driver.result()
    codecs = context["codecs"]
    rows = {model: codecs[model].encode(result.rows[model]) for model in bulk.TABLES}
    micros = [machine.micros_of(row["at"]) for row in result.rows[Transition]]
    result.rows = {}  # sent encoded only
    return EncodedShard(result, rows, micros)


class Loader:
    def __init__(
        self, company: scenario.Company, campaign_ids: list, staff: dict[str, list[int]], *, workers: int = 1
    ) -> None:
        self.company = company
        self.campaign_ids = campaign_ids
        self.staff = staff
        self.workers = max(1, workers)
        self.writer = Writer()
        self.ids = next_ids()
        self.cursors = {c.pool: [c.pk, c.last_user_id, False] for c in RoutingCursor.objects.all()}
        self.customer_accounts: set[int] = set()

    def _take(self, model: type[models.Model], count: int) -> int:
        """Reserve ``count`` ids; returns the offset to add to shard-local ids."""
        first = self.ids[model]
        self.ids[model] = first + count
        return first - 1

    def load(self, now: dt.datetime, progress: Progress | None = None) -> None:
        account_ids = self._write_accounts()
        config = bulk.BulkConfig.load(self.company, account_ids)
        self.config = config
        self.codecs = {model: Codec(model, connection.vendor) for model in bulk.TABLES}
        _shard_context.update(
            config=config,
            company=self.company,
            campaign_ids=self.campaign_ids,
            staff=self.staff,
            codecs=self.codecs,
        )
        done = 0
        for result in self._shards():
            self._stitch(result)
            done += result.result.people
            if progress:
                progress(done, self.company.people)
        self._finish(now)

    def _shards(self) -> Iterator[EncodedShard]:
        shards = range(scenario.SHARDS)
        if self.workers == 1:
            yield from map(_simulate, shards)
            return
        connections.close_all()  # a forked child must never touch the parent's connections
        with multiprocessing.get_context("fork").Pool(self.workers) as pool:
            # A window of shards in flight, taken in order: the workers stay busy while the
            # writer catches up, and finished shards never pile up in memory.
            waiting = iter(shards)
            running = deque(pool.apply_async(_simulate, (s,)) for s in islice(waiting, self.workers + 1))
            while running:
                done = running.popleft().get()
                following = next(waiting, None)
                if following is not None:
                    running.append(pool.apply_async(_simulate, (following,)))
                yield done

    def _write_accounts(self) -> dict[int, int]:
        rows, account_ids = [], {}
        for spec in self.company.all_accounts():
            account_id = self._take(Account, 1) + 1
            account_ids[spec.index] = account_id
            rows.append(
                {
                    "id": account_id,
                    "name": spec.name,
                    "domain": spec.domain,
                    "industry": spec.industry,
                    "employee_count": spec.employee_count,
                    "country": spec.country,
                    "segment": spec.segment,
                    "kind": spec.kind,
                    "external_id": None,
                    "created_at": self.company.start_moment,
                }
            )
        with transaction.atomic():
            self.writer.begin()
            self.writer.write(Account, Codec(Account, connection.vendor).encode(rows))
            self.writer.end()
        return account_ids

    def _stitch(self, shard: EncodedShard) -> None:
        result, rows = shard.result, shard.rows
        resolve = self._rotation(result)
        offsets = {
            model: self._take(model, len(rows[model])) for model in bulk.TABLES if model is not Milestone
        }
        for model, columns in USER_COLUMNS.items():
            indexes = [self.codecs[model].index[c] for c in columns]
            for values in rows[model]:
                for i in indexes:
                    value = values[i]
                    if value is not None and value < 0:
                        values[i] = resolve(value)
        last_hashes = _rehash(
            rows[Transition], shard.transition_micros, result.rehash, self.codecs[Transition]
        )
        milestone = self.codecs[Milestone].index
        for values in rows[Milestone]:
            subject = values[milestone["subject_id"]]
            if subject in last_hashes:
                values[milestone["last_hash"]] = last_hashes[subject]
        for model, references in LOCAL_REFERENCES.items():
            shifts = [(self.codecs[model].index[column], offsets[target]) for column, target in references]
            for values in rows[model]:
                for i, shift in shifts:
                    if values[i] is not None:
                        values[i] += shift
        with transaction.atomic():
            self.writer.begin()
            for model in bulk.TABLES:
                self.writer.write(model, rows[model])
            self.writer.end()
        self.customer_accounts |= result.customer_accounts

    def _rotation(self, result: bulk.ShardResult) -> Callable[[int], int]:
        """Resolve the shard's placeholders from each pool's rotation position, and move
        the positions on by the shard's assignments."""
        keys = self.config.pool_keys
        pools = {
            p.key: p for rules, team in self.config.pools.values() for p in [*(q for _, q in rules), team]
        }
        starts: dict[int, tuple[list[int], int]] = {}
        for number in result.pools_first_used:
            key = keys[number]
            if key not in self.cursors:
                self.cursors[key] = [self._take(RoutingCursor, 1) + 1, None, True]
        for number, count in result.assignments.items():
            key = keys[number]
            ordered = sorted(pools[key].user_ids)
            first = routing.next_in_rotation(ordered, self.cursors[key][1])
            position = ordered.index(first)  # type: ignore[arg-type]
            starts[number] = (ordered, position)
            self.cursors[key][1] = ordered[(position + count - 1) % len(ordered)]

        def resolve(value: int) -> int:
            number, k = bulk.unplace(value, len(keys))
            ordered, position = starts[number]
            return ordered[(position + k) % len(ordered)]

        return resolve

    def _finish(self, now: dt.datetime) -> None:
        with transaction.atomic():
            written = sorted(self.customer_accounts)
            for start in range(0, len(written), 500):
                Account.objects.filter(pk__in=written[start : start + 500]).update(kind=Account.Kind.CUSTOMER)
            for pool, (cursor_id, last_user_id, new) in sorted(
                self.cursors.items(), key=lambda c: c[1][0] or 0
            ):
                if new:
                    RoutingCursor.objects.create(pk=cursor_id, pool=pool, last_user_id=last_user_id)
                else:
                    RoutingCursor.objects.filter(pk=cursor_id or 0).update(last_user_id=last_user_id)
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    for sql in connection.ops.sequence_reset_sql(
                        no_style(), [Account, *bulk.TABLES, RoutingCursor]
                    ):
                        cursor.execute(sql)
        mark_breaches(now)
        with connection.cursor() as cursor:
            # Fresh statistics, or the planner guesses about tables that grew by millions of rows.
            cursor.execute("ANALYZE")


def _rehash(
    transitions: list[list[Any]], micros: list[int], subjects: set[int], codec: Codec
) -> dict[int, str]:
    """Recompute the hash chains of ``subjects`` (rows are in subject, seq order) now that
    their actors are real; returns each subject's last hash."""
    at = codec.index
    subject_i, seq_i, from_i, to_i = at["subject_id"], at["seq"], at["from_stage_id"], at["to_stage_id"]
    via_i, actor_i, version_i, reason_i, hash_i = (
        at["via"],
        at["actor_id"],
        at["rule_version_id"],
        at["reason_id"],
        at["hash"],
    )
    last: dict[int, str] = {}
    for values, when in zip(transitions, micros, strict=True):
        subject = values[subject_i]
        if subject not in subjects:
            continue
        values[hash_i] = machine.chain_hash(
            last.get(subject, ""),
            values[seq_i],
            values[from_i],
            values[to_i],
            when,
            values[via_i],
            values[actor_i],
            values[version_i],
            values[reason_i],
        )
        last[subject] = values[hash_i]
    return last
