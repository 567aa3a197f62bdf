"""The analytics snapshot: an incremental refresh ends with exactly what a rebuild reads,
whatever path changed the data; readers keep their generation while a refresh runs; the
snapshot rebuilds itself when it cannot be updated in place; ids that were missing when
read (an open transaction) are picked up later."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from kyogyo.analytics import snapshot
from kyogyo.analytics.models import SnapshotChange
from kyogyo.analytics.snapshot.builder import ALL_TABLES
from kyogyo.analytics.snapshot.store import refresh_lock
from kyogyo.testing import TOKYO, local

NOV = dt.datetime(2026, 11, 10, 11, 0, tzinfo=TOKYO)


@pytest.fixture
def demo(defaults):
    from kyogyo.demo.build import build

    build(seed=5, people=300, end=dt.date(2026, 10, 31), driver="bulk")


def contents() -> dict[str, list]:
    """Every table of the current generation, in a comparable form."""
    current = snapshot.open_current()
    found = {}
    for name in [*(t.name for t in ALL_TABLES), "entries"]:
        if name == "activity_days":
            rows = current.query(
                "SELECT contact_id, day, type, campaign_id, source, sum(n) FROM activity_days GROUP BY ALL"
            )
        else:
            rows = current.query(f"SELECT * FROM {name}")
        found[name] = sorted(rows, key=repr)
    return found


def change_everything(make_contact, walk, waiting) -> None:
    """One change through each path the snapshot must notice."""
    from kyogyo.customers.actions import update_account, update_contact
    from kyogyo.deals.actions import win_deal
    from kyogyo.deals.models import Deal
    from kyogyo.handoffs.actions import accept_handoff, mark_breaches
    from kyogyo.handoffs.models import Handoff
    from kyogyo.marketing.actions import record_activity
    from kyogyo.success.actions import change_mrr, record_nps
    from kyogyo.success.models import Subscription

    newcomer = walk(make_contact(at=NOV), [("mql", NOV + dt.timedelta(hours=1))])  # new rows, a new handoff
    record_activity(newcomer, "web_visit", NOV + dt.timedelta(hours=2), source="organic_search")
    handoff = Handoff.objects.get(subject=waiting, status=Handoff.Status.OPEN)
    accept_handoff(handoff, actor=handoff.assigned_to, at=NOV + dt.timedelta(hours=3))  # an updated handoff
    deal = Deal.objects.filter(status=Deal.Status.OPEN).first()
    win_deal(deal, actor=deal.owner, at=NOV + dt.timedelta(days=1))  # an updated deal
    update_account(newcomer.account, segment="enterprise")  # people of a changed company
    some = Deal.objects.exclude(contact=None).exclude(contact=newcomer).first().contact
    update_contact(some, source="partner_referral")  # a changed person
    subscription = Subscription.objects.filter(status=Subscription.Status.ACTIVE).first()
    change_mrr(subscription, subscription.mrr + 10_000, on=dt.date(2026, 11, 11))  # new change, updated row
    record_nps(some, 9, at=NOV + dt.timedelta(days=2))
    mark_breaches(now=NOV + dt.timedelta(days=30))  # a queryset update, no save()


def test_an_incremental_refresh_equals_a_rebuild(demo, snapshot_dir, make_contact, walk):
    waiting = walk(make_contact(at=NOV), [("mql", NOV)])  # its handoff is accepted after the first refresh
    first = snapshot.refresh()
    assert first.kind == "rebuild" and first.reason == "no snapshot yet"
    change_everything(make_contact, walk, waiting)
    second = snapshot.refresh()
    assert second.kind == "refresh"
    assert second.changed["transitions"] >= 2 and second.changed["handoffs"] >= 2
    assert second.changed["deals"] >= 1 and second.changed["subscriptions"] == 1
    assert second.changed["subjects"] >= 3
    incremental = contents()
    snapshot.rebuild()
    assert contents() == incremental


def test_a_refresh_with_nothing_new_changes_nothing(demo, snapshot_dir):
    snapshot.refresh()
    before = contents()
    result = snapshot.refresh()
    assert result.kind == "refresh" and not any(result.changed.values())
    assert contents() == before


def test_score_updates_are_not_recorded_as_changes(demo, snapshot_dir, make_contact):
    from kyogyo.customers.models import Contact

    snapshot.refresh()
    Contact.objects.filter(pk__in=Contact.objects.values("pk")[:10]).update(
        fit_score=99, engagement_score=1.5
    )
    assert not SnapshotChange.objects.exists()
    Contact.objects.filter(pk=Contact.objects.first().pk).update(source="webinar")
    assert list(SnapshotChange.objects.values_list("table", flat=True)) == ["contact"]


def test_consumed_changes_are_removed(demo, snapshot_dir):
    from kyogyo.customers.models import Account

    snapshot.refresh()
    Account.objects.filter(pk=Account.objects.first().pk).update(segment="smb")
    assert SnapshotChange.objects.count() == 1
    snapshot.refresh()
    assert SnapshotChange.objects.count() == 0


def test_readers_keep_their_generation_while_a_refresh_runs(demo, snapshot_dir, make_contact):
    snapshot.refresh()
    reader = snapshot.open_current()
    before = reader.query("SELECT count(*) FROM subjects")[0][0]
    make_contact(at=NOV)
    snapshot.refresh()
    assert reader.query("SELECT count(*) FROM subjects")[0][0] == before  # still the old generation
    current = snapshot.open_current()
    assert current.manifest.generation == reader.manifest.generation + 1
    assert current.query("SELECT count(*) FROM subjects")[0][0] == before + 1
    snapshot.refresh()  # the reader's generation is now two behind and removed from disk …
    assert reader.query("SELECT count(*) FROM subjects")[0][0] == before  # … yet still readable


def test_a_changed_stage_model_rebuilds(demo, snapshot_dir):
    from kyogyo.journey.models import Stage

    snapshot.refresh()
    Stage.objects.create(key="trial", name="Trial", order=45, category=Stage.Category.CUSTOMER)
    result = snapshot.refresh()
    assert result.kind == "rebuild" and result.reason == "the stage model changed"
    columns = [r[0] for r in snapshot.open_current().query("DESCRIBE subjects")]
    assert "f_trial" in columns


def test_ids_missing_at_one_refresh_are_read_by_the_next(demo, snapshot_dir):
    """A row whose id is below the watermark but whose transaction had not committed when
    the refresh read (simulated by inserting it with an explicit id afterwards)."""
    from kyogyo.marketing.models import Activity

    snapshot.refresh()
    contact_id = Activity.objects.first().contact_id
    top = Activity.objects.order_by("-id").first().id
    Activity.objects.create(id=top + 3, contact_id=contact_id, type="web_visit", occurred_at=NOV)
    snapshot.refresh()
    gaps = [int(g[0]) for g in snapshot.open_current().manifest.gaps["activity_days"]]
    assert gaps == [top + 1, top + 2]
    Activity.objects.create(id=top + 1, contact_id=contact_id, type="email_open", occurred_at=NOV)
    snapshot.refresh()
    current = snapshot.open_current()
    assert [int(g[0]) for g in current.manifest.gaps["activity_days"]] == [top + 2]
    types = {r[0] for r in current.query("SELECT type FROM activity_days WHERE day = '2026-11-10'")}
    assert types == {"web_visit", "email_open"}


def test_a_second_refresh_waits_then_says_busy(demo, snapshot_dir):
    with refresh_lock(), pytest.raises(snapshot.SnapshotError) as caught:
        snapshot.refresh(wait_seconds=0.2)
    assert caught.value.code == "busy"


def test_times_are_local_and_keys_not_ids(defaults, snapshot_dir, make_contact, walk):
    walk(make_contact(at=NOV), [("mql", NOV + dt.timedelta(hours=1))])
    snapshot.refresh()
    rows = snapshot.open_current().query('SELECT from_stage, to_stage, "at" FROM transitions ORDER BY seq')
    assert rows == [
        (None, "lead", local(2026, 11, 10, 11, 0)),
        ("lead", "mql", local(2026, 11, 10, 12, 0)),
    ]
    handoff = snapshot.open_current().query("SELECT stage, from_team, to_team, status FROM handoffs")
    assert handoff == [("mql", "marketing", "inside_sales", "open")]


def test_snapshot_commands(demo, snapshot_dir):
    out = StringIO()
    call_command("snapshot", "status", stdout=out)
    assert "no snapshot yet" in out.getvalue()
    out = StringIO()
    call_command("snapshot", "refresh", "--format", "json", stdout=out)
    built = json.loads(out.getvalue())
    assert built["kind"] == "rebuild" and built["counts"]["subjects"] > 0
    out = StringIO()
    call_command("snapshot", "status", "--format", "json", stdout=out)
    status = json.loads(out.getvalue())
    assert status["exists"] and status["generation"] == 1 and status["pending"]["transitions"] == 0
    out = StringIO()
    call_command("snapshot", "rebuild", stdout=out)
    assert "generation 2: rebuild" in out.getvalue()


def test_change_capture_triggers_are_installed(db):
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'analytics_capture_%%'")
            assert cursor.fetchone()[0] == 6
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'analytics_capture_%%'"
            )
            assert cursor.fetchone()[0] == 12


def test_text_survives_as_it_was_written(defaults, make_contact):
    """Quotes, commas, line breaks, non-ASCII and the difference between empty and
    missing values come through both read paths (CSV on PostgreSQL, rows on SQLite)."""
    from kyogyo.customers.models import Account

    nasty = 'He said "hi", then\nleft; 株式会社テスト\t\\N'
    contact = make_contact(at=NOV)
    Account.objects.filter(pk=contact.account_id).update(name=nasty, segment="", industry="")
    snapshot.refresh()
    rows = snapshot.open_current().query("SELECT name, segment, employee_count FROM accounts")
    assert rows == [(nasty, "", 500)]
    Account.objects.filter(pk=contact.account_id).update(employee_count=None)
    snapshot.refresh()
    assert snapshot.open_current().query("SELECT employee_count FROM accounts") == [(None,)]
