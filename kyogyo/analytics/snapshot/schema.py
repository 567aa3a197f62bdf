"""What the snapshot holds: each table's columns in DuckDB and the query that reads it
from the operational database.

Times are read as epoch seconds and stored as the company's *local* time (naive
``TIMESTAMP``), because every period, cohort and fiscal quarter is a local-calendar
notion; durations are unaffected. Stage, team and reason columns hold keys, not ids.

Kinds of table, by how a refresh keeps them current:

- ``append``: rows are never changed; new rows are found by id.
- ``upsert``: new rows by id, changed or deleted rows through the change log that
  database triggers fill (see ``analytics/migrations/0002_change_capture.py``).
- ``full``: small configuration tables, copied whole on every refresh.
- ``subjects`` is derived: one wide row per person with a journey (milestones, contact,
  account), re-read for every person touched by a new transition or a changed record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (name, DuckDB type, source expression kind): kind "ts" = epoch seconds → local TIMESTAMP,
# "date" = ISO text → DATE, "bool" = 0/1 → BOOLEAN, "" = as is.
Column = tuple[str, str, str]


@dataclass(frozen=True)
class Table:
    name: str
    kind: str  # append | upsert | full | subjects
    columns: list[Column]
    # SELECT list and FROM/JOIN clause in the operational database; {ts} and {date}
    # are filled per vendor. Rows are filtered by "{key} > %s" / "{key} IN (…)".
    select: str
    source: str
    key: str = "id"
    change_table: str = ""  # the name triggers write for this table's updates and deletes
    order: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c[0] for c in self.columns]


def ts(column: str, vendor: str) -> str:
    if vendor == "postgresql":
        return f"floor(extract(epoch from {column}))::bigint"
    # '%%' because the query always goes through the driver's parameter substitution
    return f"CAST(strftime('%%s', {column}) AS INTEGER)"


def date(column: str, vendor: str) -> str:
    return f"CAST({column} AS TEXT)"


TRANSITIONS = Table(
    name="transitions",
    kind="append",
    columns=[
        ("id", "BIGINT", ""),
        ("subject_id", "BIGINT", ""),
        ("seq", "INTEGER", ""),
        ("from_stage", "VARCHAR", ""),
        ("to_stage", "VARCHAR", ""),
        ("at", "TIMESTAMP", "ts"),
        ("via", "VARCHAR", ""),
        ("actor_id", "BIGINT", ""),
        ("rule_version_id", "BIGINT", ""),
        ("reason", "VARCHAR", ""),
        ("is_reentry", "BOOLEAN", "bool"),
    ],
    select=(
        "t.id, t.subject_id, t.seq, fs.key, ts.key, {ts:t.at}, t.via, t.actor_id, "
        "t.rule_version_id, r.key, t.is_reentry"
    ),
    source=(
        "journey_transition t JOIN journey_stage ts ON ts.id = t.to_stage_id "
        "LEFT JOIN journey_stage fs ON fs.id = t.from_stage_id "
        "LEFT JOIN journey_reasoncode r ON r.id = t.reason_id"
    ),
    key="t.id",
)

HANDOFFS = Table(
    name="handoffs",
    kind="upsert",
    change_table="handoff",
    columns=[
        ("id", "BIGINT", ""),
        ("subject_id", "BIGINT", ""),
        ("transition_id", "BIGINT", ""),
        ("stage", "VARCHAR", ""),
        ("from_team", "VARCHAR", ""),
        ("to_team", "VARCHAR", ""),
        ("assigned_to_id", "BIGINT", ""),
        ("created_at", "TIMESTAMP", "ts"),
        ("due_at", "TIMESTAMP", "ts"),
        ("status", "VARCHAR", ""),
        ("acted_at", "TIMESTAMP", "ts"),
        ("acted_by_id", "BIGINT", ""),
        ("reason", "VARCHAR", ""),
        ("breached_at", "TIMESTAMP", "ts"),
    ],
    select=(
        "h.id, h.subject_id, h.transition_id, s.key, ft.key, tt.key, h.assigned_to_id, "
        "{ts:h.created_at}, {ts:h.due_at}, h.status, {ts:h.acted_at}, h.acted_by_id, r.key, "
        "{ts:h.breached_at}"
    ),
    source=(
        "handoffs_handoff h JOIN journey_stage s ON s.id = h.stage_id "
        "JOIN org_team ft ON ft.id = h.from_team_id JOIN org_team tt ON tt.id = h.to_team_id "
        "LEFT JOIN journey_reasoncode r ON r.id = h.reason_id"
    ),
    key="h.id",
)

DEALS = Table(
    name="deals",
    kind="upsert",
    change_table="deal",
    columns=[
        ("id", "BIGINT", ""),
        ("account_id", "BIGINT", ""),
        ("contact_id", "BIGINT", ""),
        ("amount", "BIGINT", ""),
        ("currency", "VARCHAR", ""),
        ("pipeline_stage", "VARCHAR", ""),
        ("probability", "INTEGER", ""),
        ("status", "VARCHAR", ""),
        ("expected_close", "DATE", "date"),
        ("owner_id", "BIGINT", ""),
        ("loss_reason", "VARCHAR", ""),
        ("campaign_id", "BIGINT", ""),
        ("created_at", "TIMESTAMP", "ts"),
        ("closed_at", "TIMESTAMP", "ts"),
    ],
    select=(
        "d.id, d.account_id, d.contact_id, d.amount, d.currency, p.key, "
        "COALESCE(d.probability, p.probability), d.status, {date:d.expected_close}, d.owner_id, "
        "r.key, d.campaign_id, {ts:d.created_at}, {ts:d.closed_at}"
    ),
    source=(
        "deals_deal d JOIN deals_pipelinestage p ON p.id = d.pipeline_stage_id "
        "LEFT JOIN journey_reasoncode r ON r.id = d.loss_reason_id"
    ),
    key="d.id",
)

SUBSCRIPTIONS = Table(
    name="subscriptions",
    kind="upsert",
    change_table="subscription",
    columns=[
        ("id", "BIGINT", ""),
        ("account_id", "BIGINT", ""),
        ("deal_id", "BIGINT", ""),
        ("plan", "VARCHAR", ""),
        ("mrr", "BIGINT", ""),
        ("currency", "VARCHAR", ""),
        ("billing_period", "VARCHAR", ""),
        ("starts_on", "DATE", "date"),
        ("ends_on", "DATE", "date"),
        ("status", "VARCHAR", ""),
    ],
    select=(
        "s.id, s.account_id, s.deal_id, s.plan, s.mrr, s.currency, s.billing_period, "
        "{date:s.starts_on}, {date:s.ends_on}, s.status"
    ),
    source="success_subscription s",
    key="s.id",
)

MRR_CHANGES = Table(
    name="mrr_changes",
    kind="append",
    columns=[
        ("id", "BIGINT", ""),
        ("subscription_id", "BIGINT", ""),
        ("account_id", "BIGINT", ""),
        ("kind", "VARCHAR", ""),
        ("occurred_on", "DATE", "date"),
        ("mrr_before", "BIGINT", ""),
        ("mrr_after", "BIGINT", ""),
    ],
    select=("c.id, c.subscription_id, s.account_id, c.kind, {date:c.occurred_on}, c.mrr_before, c.mrr_after"),
    source="success_subscriptionchange c JOIN success_subscription s ON s.id = c.subscription_id",
    key="c.id",
)

NPS = Table(
    name="nps",
    kind="upsert",
    change_table="nps",
    columns=[
        ("id", "BIGINT", ""),
        ("contact_id", "BIGINT", ""),
        ("account_id", "BIGINT", ""),
        ("score", "INTEGER", ""),
        ("answered_at", "TIMESTAMP", "ts"),
    ],
    select="n.id, n.contact_id, n.account_id, n.score, {ts:n.answered_at}",
    source="success_npsresponse n",
    key="n.id",
)

ACCOUNTS = Table(
    name="accounts",
    kind="upsert",
    change_table="account",
    columns=[
        ("id", "BIGINT", ""),
        ("name", "VARCHAR", ""),
        ("segment", "VARCHAR", ""),
        ("industry", "VARCHAR", ""),
        ("employee_count", "INTEGER", ""),
        ("country", "VARCHAR", ""),
        ("kind", "VARCHAR", ""),
        ("created_at", "TIMESTAMP", "ts"),
    ],
    select=("a.id, a.name, a.segment, a.industry, a.employee_count, a.country, a.kind, {ts:a.created_at}"),
    source="customers_account a",
    key="a.id",
)

# Activities are kept as daily counts per person, type, campaign and source: what
# attribution, engagement and health need, at a fraction of the rows. Counts add up, so
# new activities simply append more count rows.
ACTIVITIES = Table(
    name="activity_days",
    kind="append",
    columns=[
        ("id", "BIGINT", ""),
        ("contact_id", "BIGINT", ""),
        ("at", "TIMESTAMP", "ts"),
        ("type", "VARCHAR", ""),
        ("campaign_id", "BIGINT", ""),
        ("source", "VARCHAR", ""),
    ],
    select="x.id, x.contact_id, {ts:x.occurred_at}, x.type, x.campaign_id, x.source",
    source="marketing_activity x",
    key="x.id",
)

SUBJECTS = Table(
    name="subjects",
    kind="subjects",
    change_table="contact",
    columns=[
        ("subject_id", "BIGINT", ""),
        ("account_id", "BIGINT", ""),
        ("created_at", "TIMESTAMP", "ts"),
        ("source", "VARCHAR", ""),
        ("owner_id", "BIGINT", ""),
        ("owner_team", "VARCHAR", ""),
        ("segment", "VARCHAR", ""),
        ("industry", "VARCHAR", ""),
        ("country", "VARCHAR", ""),
        ("employee_count", "INTEGER", ""),
        ("current_stage", "VARCHAR", ""),
        ("current_since", "TIMESTAMP", "ts"),
        ("reentry_count", "INTEGER", ""),
        ("transition_count", "INTEGER", ""),
        ("first_entered", "VARCHAR", ""),
        ("entries", "VARCHAR", ""),
    ],
    select=(
        "m.subject_id, c.account_id, {ts:c.created_at}, c.source, c.owner_id, ut.key, a.segment, "
        "a.industry, a.country, a.employee_count, s.key, {ts:m.current_since}, m.reentry_count, "
        "m.transition_count, CAST(m.first_entered AS TEXT), CAST(m.entries AS TEXT)"
    ),
    source=(
        "journey_milestone m JOIN customers_contact c ON c.id = m.subject_id "
        "JOIN journey_stage s ON s.id = m.current_stage_id "
        "LEFT JOIN customers_account a ON a.id = c.account_id "
        "LEFT JOIN org_user u ON u.id = c.owner_id LEFT JOIN org_team ut ON ut.id = u.team_id"
    ),
    key="m.subject_id",
)

FULL_TABLES = [
    Table(
        name="stages",
        kind="full",
        columns=[
            ("key", "VARCHAR", ""),
            ("name", "VARCHAR", ""),
            ("name_ja", "VARCHAR", ""),
            ("ord", "INTEGER", ""),
            ("category", "VARCHAR", ""),
            ("team", "VARCHAR", ""),
            ("hands_to", "VARCHAR", ""),
            ("stall_days", "INTEGER", ""),
            ("sla_hours", "INTEGER", ""),
        ],
        select='s.key, s.name, s.name_ja, s."order", s.category, t.key, h.key, s.stall_days, s.sla_hours',
        source=(
            "journey_stage s LEFT JOIN org_team t ON t.id = s.team_id "
            "LEFT JOIN org_team h ON h.id = s.hands_to_id"
        ),
        order='s."order", s.key',
    ),
    Table(
        name="stage_exits",
        kind="full",
        columns=[("from_stage", "VARCHAR", ""), ("to_stage", "VARCHAR", "")],
        select="f.key, t.key",
        source=(
            "journey_stage_exits e JOIN journey_stage f ON f.id = e.from_stage_id "
            "JOIN journey_stage t ON t.id = e.to_stage_id"
        ),
    ),
    Table(
        name="pipeline_stages",
        kind="full",
        columns=[
            ("key", "VARCHAR", ""),
            ("name", "VARCHAR", ""),
            ("ord", "INTEGER", ""),
            ("probability", "INTEGER", ""),
            ("is_won", "BOOLEAN", "bool"),
            ("is_lost", "BOOLEAN", "bool"),
        ],
        select='p.key, p.name, p."order", p.probability, p.is_won, p.is_lost',
        source="deals_pipelinestage p",
    ),
    Table(
        name="reasons",
        kind="full",
        columns=[
            ("kind", "VARCHAR", ""),
            ("key", "VARCHAR", ""),
            ("label", "VARCHAR", ""),
            ("label_ja", "VARCHAR", ""),
        ],
        select="r.kind, r.key, r.label, r.label_ja",
        source="journey_reasoncode r",
    ),
    Table(
        name="teams",
        kind="full",
        columns=[("key", "VARCHAR", ""), ("name", "VARCHAR", ""), ("ord", "INTEGER", "")],
        select='t.key, t.name, t."order"',
        source="org_team t",
    ),
    Table(
        name="users",
        kind="full",
        columns=[("id", "BIGINT", ""), ("username", "VARCHAR", ""), ("team", "VARCHAR", "")],
        select="u.id, u.username, t.key",
        source="org_user u LEFT JOIN org_team t ON t.id = u.team_id",
    ),
    Table(
        name="campaigns",
        kind="full",
        columns=[("id", "BIGINT", ""), ("name", "VARCHAR", ""), ("channel", "VARCHAR", "")],
        select="c.id, c.name, c.channel",
        source="marketing_campaign c",
    ),
    Table(
        name="spend",
        kind="full",
        columns=[
            ("month", "DATE", "date"),
            ("team", "VARCHAR", ""),
            ("amount", "BIGINT", ""),
            ("currency", "VARCHAR", ""),
        ],
        select="{date:s.month}, t.key, s.amount, s.currency",
        source="analytics_spend s JOIN org_team t ON t.id = s.team_id",
    ),
    Table(
        name="targets",
        kind="full",
        columns=[
            ("metric", "VARCHAR", ""),
            ("team", "VARCHAR", ""),
            ("starts_on", "DATE", "date"),
            ("ends_on", "DATE", "date"),
            ("value", "DOUBLE", ""),
        ],
        select="x.metric, t.key, {date:x.starts_on}, {date:x.ends_on}, x.value",
        source="analytics_target x LEFT JOIN org_team t ON t.id = x.team_id",
    ),
]

UPSERT_TABLES = [ACCOUNTS, HANDOFFS, DEALS, SUBSCRIPTIONS, NPS]
APPEND_TABLES = [TRANSITIONS, MRR_CHANGES, ACTIVITIES]

# Operational tables whose updates and deletes the triggers record, with the columns
# that matter to the snapshot (an update of only other columns, e.g. scores, is ignored).
CAPTURED = {
    "contact": ("customers_contact", ["account_id", "source", "owner_id"]),
    "account": ("customers_account", ["name", "segment", "industry", "employee_count", "country", "kind"]),
    "deal": (
        "deals_deal",
        [
            "account_id",
            "contact_id",
            "amount",
            "currency",
            "pipeline_stage_id",
            "probability",
            "status",
            "expected_close",
            "owner_id",
            "loss_reason_id",
            "campaign_id",
            "closed_at",
        ],
    ),
    "handoff": (
        "handoffs_handoff",
        ["status", "acted_at", "acted_by_id", "reason_id", "breached_at", "assigned_to_id", "due_at"],
    ),
    "subscription": ("success_subscription", ["mrr", "status", "ends_on", "plan", "billing_period"]),
    "nps": ("success_npsresponse", ["score", "answered_at", "account_id", "contact_id"]),
}

# Bumped whenever a table's columns change: a snapshot of another version is rebuilt.
SCHEMA_VERSION = 2


def render(table: Table, vendor: str) -> str:
    """The SELECT … FROM … of a table for a vendor (no WHERE)."""
    text = table.select
    while "{ts:" in text or "{date:" in text:
        for marker, fn in (("{ts:", ts), ("{date:", date)):
            start = text.find(marker)
            if start < 0:
                continue
            end = text.index("}", start)
            text = text[:start] + fn(text[start + len(marker) : end], vendor) + text[end + 1 :]
    return f"SELECT {text} FROM {table.source}"


def duck_expression(column: Column, tz: str) -> str:
    """How an incoming raw column becomes the stored one."""
    name, duck_type, kind = column
    quoted = f'"{name}"'
    if kind == "ts":
        return f"timezone('{tz}', to_timestamp({quoted}))::TIMESTAMP AS {quoted}"
    if kind == "date":
        return f"CAST({quoted} AS DATE) AS {quoted}"
    if kind == "bool":
        return f"CAST({quoted} AS BOOLEAN) AS {quoted}"
    return f"CAST({quoted} AS {duck_type}) AS {quoted}"
