"""Report results are kept with the snapshot generation they were computed from: asked again,
the same answer without computing; a refresh, other filters, another "now" or changed
analytics settings compute again; what is kept stays bounded."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import threading

import pytest
from django.urls import reverse

from kyogyo.analytics import reports, snapshot
from kyogyo.analytics.metrics import waterfall
from kyogyo.analytics.models import AnalyticsSettings
from kyogyo.analytics.snapshot import store
from kyogyo.testing import T0

DAY = dt.timedelta(days=1)
APRIL = {"start": dt.date(2026, 4, 1), "end": dt.date(2026, 4, 30)}


@pytest.fixture
def computed(monkeypatch):
    """How many times the waterfall was really computed (the real computation, counted)."""
    calls: list[int] = []
    real = waterfall.compute

    def counting(context, spec):
        calls.append(1)
        return real(context, spec)

    monkeypatch.setattr(waterfall, "compute", counting)
    return calls


@pytest.fixture
def april(make_contact, walk, analytics):
    """Two web leads in April, one of them MQL; one event lead."""
    walk(make_contact(at=T0, source="web"), [("mql", T0 + DAY)])
    make_contact(at=T0, source="web")
    make_contact(at=T0, source="event")
    analytics()


def entered(data: dict, stage: str) -> int:
    return next(row["entered"] for row in data["stages"] if row["stage"] == stage)


def run(**options) -> dict:
    return reports.run("waterfall", {**reports.own_defaults("waterfall"), **APRIL, **options})[1]


def test_asked_again_the_same_report_is_not_computed_again(april, computed):
    first = run()
    second = run()
    assert entered(first, "lead") == entered(second, "lead") == 3
    assert entered(second, "mql") == 1
    assert len(computed) == 1


def test_a_refresh_computes_again_with_the_new_rows(april, make_contact, walk, computed):
    assert entered(run(), "mql") == 1
    walk(make_contact(at=T0 + DAY, source="web"), [("mql", T0 + 2 * DAY)])
    assert entered(run(), "mql") == 1  # the snapshot is not refreshed yet: its numbers
    snapshot.refresh()
    assert entered(run(), "mql") == 2
    assert entered(run(), "lead") == 4
    assert len(computed) == 2


def test_filters_and_options_are_part_of_the_key(april, computed):
    assert entered(run(), "lead") == 3
    assert entered(run(filter=[("source", "web")]), "lead") == 2
    assert entered(run(filter=[("source", "event")]), "lead") == 1
    assert entered(run(filter=[("source", "web")]), "lead") == 2
    assert [row["stage"] for row in run(stages="lead,mql")["stages"]] == ["lead", "mql"]
    assert entered(run(), "lead") == 3
    assert len(computed) == 4


def test_another_as_of_or_window_computes_again(april, computed):
    run()
    run(as_of=dt.date(2026, 4, 10))
    run(start=dt.date(2026, 4, 2))
    run(as_of=dt.date(2026, 4, 10))
    assert len(computed) == 3


def test_changed_analytics_settings_compute_again(april, computed):
    assert run()["stages"][0]["conversion"]["small"] is True  # 1 of 3, under 30
    chosen = AnalyticsSettings.load()
    chosen.small_denominator = 2
    chosen.save()
    assert run()["stages"][0]["conversion"]["small"] is False
    assert len(computed) == 2


def test_each_caller_gets_its_own_copy(april):
    first = run()
    first["stages"][0]["entered"] = 999
    first["stages"].clear()
    assert entered(run(), "lead") == 3


def test_the_snapshot_age_is_as_of_each_ask(april, monkeypatch):
    ticks = itertools.count()
    monkeypatch.setattr(store.Snapshot, "freshness", lambda self, now=None: {"age_seconds": next(ticks)})
    first = run()["snapshot"]["age_seconds"]
    assert run()["snapshot"]["age_seconds"] > first


def test_what_a_generation_keeps_is_bounded(april, monkeypatch, computed):
    monkeypatch.setattr(store, "MEMO_ENTRIES", 3)
    for day in range(1, 6):
        run(start=dt.date(2026, 4, day))
    found = snapshot.open_current()
    assert len(found._memo) == 3
    run(start=dt.date(2026, 4, 5))  # among the three most recent: kept
    assert len(computed) == 5
    run(start=dt.date(2026, 4, 1))  # dropped first
    assert len(computed) == 6


def kept_results(found) -> int:
    return sum(1 for key in found._memo if key[0] == "report")


def test_what_a_generation_keeps_is_bounded_in_bytes(april, monkeypatch, computed):
    run(start=dt.date(2026, 4, 1))
    found = snapshot.open_current()
    one = found._memo_bytes
    assert one > 0
    monkeypatch.setattr(store, "MEMO_BYTES", 2 * one + one // 2)  # room for two results
    run(start=dt.date(2026, 4, 2))
    run(start=dt.date(2026, 4, 3))
    assert kept_results(found) == 2 and found._memo_bytes <= store.MEMO_BYTES
    run(start=dt.date(2026, 4, 1))  # dropped first
    assert len(computed) == 4


def test_a_result_larger_than_the_whole_budget_is_still_answered(april, monkeypatch):
    monkeypatch.setattr(store, "MEMO_BYTES", 10)
    assert entered(run(), "lead") == 3
    assert entered(run(start=dt.date(2026, 4, 2)), "lead") == 3
    assert kept_results(snapshot.open_current()) == 1  # the newest only


def test_readers_asking_what_is_being_computed_wait_for_it(april):
    """Two threads, one question: computed once, both answered (and an error reaches both)."""
    found = snapshot.open_current()
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> str:
        calls.append("first")
        started.set()
        release.wait()
        return "answer"

    def again() -> str:
        calls.append("again")
        return "computed twice"

    answers: list[str] = []
    first = threading.Thread(target=lambda: answers.append(found.memo("question", slow)))
    first.start()
    started.wait()
    second = threading.Thread(target=lambda: answers.append(found.memo("question", again)))
    second.start()
    release.set()
    first.join()
    second.join()
    assert answers == ["answer", "answer"] and calls == ["first"]

    def failing() -> str:
        raise ValueError("no such stage")

    with pytest.raises(ValueError, match="no such stage"):
        found.memo("bad question", failing)
    assert found.memo("bad question", lambda: "asked again") == "asked again"  # errors are not kept


def test_a_rebuild_that_reuses_a_file_name_is_not_answered_from_the_old_one(
    april, make_contact, snapshot_dir, computed
):
    assert entered(run(), "lead") == 3
    shutil.rmtree(snapshot_dir)  # the next build starts again at generation 1
    make_contact(at=T0, source="web")
    snapshot.refresh()
    assert snapshot.open_current().manifest.generation == 1
    assert entered(run(), "lead") == 4


def test_reports_that_read_live_tables_are_never_kept():
    """Any report whose module reads operational records through the ORM must be listed."""
    import inspect

    from kyogyo.analytics import metrics

    reading = {
        name for name, module in metrics.registry().items() if ".objects." in inspect.getsource(module)
    }
    assert reading <= reports.LIVE_REPORTS


def test_the_dashboard_asked_again_computes_nothing_again(client, people, april, computed):
    client.force_login(people.manager)
    url = reverse("analytics:dashboard")
    first = client.get(url, {"start": "2026-04-01", "end": "2026-04-30"})
    assert first.status_code == 200
    count = len(computed)
    second = client.get(url, {"start": "2026-04-01", "end": "2026-04-30"})
    assert second.status_code == 200
    assert len(computed) == count
    filtered = client.get(url, {"start": "2026-04-01", "end": "2026-04-30", "source": "event"})
    assert filtered.status_code == 200
    assert len(computed) > count  # other filters: computed again
