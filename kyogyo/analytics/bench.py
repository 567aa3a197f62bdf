"""Benchmarks of the analytics. Figures are printed, never asserted in tests.

- ``query``: the cohort waterfall by month × segment over a snapshot of N people,
  against the same computation in plain pandas (the ratio is printed). For sizes the
  operational database does not hold, the snapshot is *synthesised* in DuckDB with the
  demo company's shape (stage-by-stage progression, re-entries, segments, two years).
- ``refresh``: a full rebuild from the configured database, then ``transitions`` new
  stage changes through the journey actions, then the incremental refresh.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from django.conf import settings
from django.utils import timezone

from kyogyo.analytics import snapshot
from kyogyo.analytics.metrics import waterfall
from kyogyo.analytics.metrics.base import Context
from kyogyo.analytics.snapshot import builder as refresh_module
from kyogyo.analytics.snapshot import schema
from kyogyo.analytics.snapshot.store import Manifest, Snapshot, write_manifest
from kyogyo.analytics.spec import Spec

SEGMENTS = ["small", "smb", "mid_market", "enterprise", ""]
# chance of reaching each next stage, in path order (the demo company's shape)
PROGRESSION = [
    ("lead", "mql", 0.11),
    ("mql", "sal", 0.85),
    ("sal", "sql", 0.70),
    ("sql", "opportunity", 0.92),
    ("opportunity", "won", 0.45),
    ("won", "onboarding", 1.0),
    ("onboarding", "active", 0.7),
    ("active", "renewed", 0.3),
]
MEDIAN_DAYS = {
    "mql": 20,
    "sal": 0.2,
    "sql": 7,
    "opportunity": 0.2,
    "won": 45,
    "onboarding": 0.2,
    "active": 24,
    "renewed": 365,
}


def peak_rss_mib() -> float:
    """This process's peak resident memory. On Linux from VmHWM, which starts afresh in a new
    program (ru_maxrss keeps the parent's peak across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthesise(directory: Path, people: int, seed: int = 1) -> Snapshot:
    """A snapshot generation of ``people`` synthetic people (subjects, transitions,
    stages copied from the configured stage model)."""
    directory.mkdir(parents=True, exist_ok=True)
    stages = refresh_module._stage_keys()
    tz = settings.TIME_ZONE
    path = directory / "gen-000001.duckdb"
    duck = duckdb.connect(str(path))
    try:
        for table in refresh_module.ALL_TABLES:
            refresh_module._create_stored(duck, table, tz, stages)
        refresh_module._copy_rows(duck, schema.FULL_TABLES[0])
        refresh_module._store(duck, schema.FULL_TABLES[0], tz, stages)
        duck.execute(f"SELECT setseed({1 / (seed + 1)})")
        # a random number per person and step decides how far each person gets
        steps = []
        previous = "f_lead"
        for i, (_, to_key, chance) in enumerate(PROGRESSION):
            days = MEDIAN_DAYS[to_key]
            steps.append(
                f"CASE WHEN r{i} < {chance} AND {previous} IS NOT NULL "
                f"THEN {previous} + to_seconds(CAST(-ln(1 - random()) * {days * 86400 / 0.693} AS BIGINT)) "
                f'END AS "f_{to_key}"'
            )
            previous = f'"f_{to_key}"'
        randoms = ", ".join(f"random() AS r{i}" for i in range(len(PROGRESSION)))
        duck.execute(
            f"""CREATE TEMP TABLE people AS
            SELECT i AS subject_id, i // 3 AS account_id,
                   TIMESTAMP '2024-11-01' + to_seconds(CAST(random() * 730 * 86400 AS BIGINT)) AS f_lead,
                   list_extract({SEGMENTS!r}, 1 + CAST(floor(random() * {len(SEGMENTS)}) AS INTEGER)) AS segment,
                   random() < 0.12 AS reentered, {randoms}
            FROM range(1, {people} + 1) t(i)"""
        )
        chained = "SELECT *, " + ", ".join(steps[:1]) + " FROM people"
        for step in steps[1:]:
            chained = f"SELECT *, {step} FROM ({chained})"
        firsts = {key for key in stages}
        columns = []
        for column in duck.execute("DESCRIBE subjects").fetchall():
            name = column[0]
            if name.startswith("f_") and name[2:] in firsts:
                reached = {"f_lead", *(f"f_{p[1]}" for p in PROGRESSION)}
                columns.append(name if name in reached else f"NULL::TIMESTAMP AS {name}")
            elif name.startswith("n_"):
                columns.append(f'CASE WHEN "f_{name[2:]}" IS NULL THEN 0 ELSE 1 END AS "{name}"')
            else:
                columns.append(
                    {
                        "subject_id": "subject_id",
                        "account_id": "account_id",
                        "created_at": "f_lead AS created_at",
                        "segment": "segment",
                        "current_stage": "'lead' AS current_stage",
                        "current_since": "f_lead AS current_since",
                        "reentry_count": "CASE WHEN reentered THEN 1 ELSE 0 END AS reentry_count",
                        "transition_count": "1 AS transition_count",
                    }.get(name, f"NULL AS {name}")
                )
        duck.execute(f"INSERT INTO subjects SELECT {', '.join(columns)} FROM ({chained})")
        duck.execute(
            """INSERT INTO transitions (id, subject_id, seq, from_stage, to_stage, "at", via, is_reentry)
            SELECT row_number() OVER (), subject_id, 1, NULL, 'lead', f_lead, 'system', false FROM subjects"""
        )
        duck.execute(
            """INSERT INTO transitions (id, subject_id, seq, from_stage, to_stage, "at", via, is_reentry)
            SELECT 10000000000 + subject_id, subject_id, 9, 'nurture', 'mql', f_mql + INTERVAL 60 DAY, 'rule', true
            FROM subjects WHERE reentry_count = 1 AND f_mql IS NOT NULL"""
        )
        stage_path = refresh_module._path()
        refresh_module._derive_entries(duck, stages, stage_path)
        duck.execute("CHECKPOINT")
    finally:
        duck.close()
    now = timezone.now().isoformat()
    manifest = Manifest(
        generation=1,
        file=path.name,
        schema_version=schema.SCHEMA_VERSION,
        time_zone=tz,
        stages=stages,
        path=stage_path,
        built_at=now,
        refreshed_at=now,
        counts={"subjects": people},
    )
    write_manifest(manifest, directory)
    return snapshot.open_current(directory)  # type: ignore[return-value]


def pandas_waterfall(subjects: pd.DataFrame, transitions: pd.DataFrame, path: list[tuple[str, str | None]]):
    """The same cohort waterfall by month × segment in plain pandas (for the ratio)."""
    out = []
    for stage, nxt in path:
        f = subjects[f"f_{stage}"]
        cohort = subjects[f.notna()]
        keys = [cohort[f"f_{stage}"].dt.strftime("%Y-%m"), cohort["segment"].fillna("").replace("", "(none)")]
        if nxt is not None:
            days = (cohort[f"f_{nxt}"] - cohort[f"f_{stage}"]).dt.total_seconds() / 86400
            reached = days >= 0
            frame = pd.DataFrame({"reached": reached, "days": days.where(reached)})
            grouped = frame.groupby(keys).agg(
                entered=("reached", "size"), advanced=("reached", "sum"), median=("days", "median")
            )
        else:
            grouped = cohort.groupby(keys).size().to_frame("entered")
        out.append(grouped)
    re = transitions[transitions["is_reentry"]]
    out.append(re.groupby([re["to_stage"], re["at"].dt.strftime("%Y-%m")]).size())
    return out


@dataclass
class QueryFigures:
    people: int
    duckdb_seconds: float
    duckdb_best: float
    pandas_seconds: float
    peak_rss_mib: float
    pandas_peak_rss_mib: float
    slices: int
    synthetic: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "synthetic": self.synthetic,
            "duckdb_median_seconds": round(self.duckdb_seconds, 4),
            "duckdb_best_seconds": round(self.duckdb_best, 4),
            "pandas_seconds": round(self.pandas_seconds, 3),
            "pandas_over_duckdb": round(self.pandas_seconds / self.duckdb_seconds, 1)
            if self.duckdb_seconds
            else None,
            "peak_rss_mib": round(self.peak_rss_mib),
            "peak_rss_with_pandas_mib": round(self.pandas_peak_rss_mib),
            "slices": self.slices,
        }


def query(
    people: int, *, runs: int = 5, directory: Path | None = None, with_pandas: bool = True
) -> QueryFigures:
    """Time the cohort waterfall by month × segment (median of ``runs`` after one warm-up)
    over the snapshot in ``directory`` (the current one) or a synthesised one of ``people``.

    Synthesis, the DuckDB query and the pandas run each happen in a process of their own,
    so each peak memory figure is that step's alone."""
    with tempfile.TemporaryDirectory(prefix="kyogyo-bench-analytics-") as scratch:
        synthetic = directory is None
        where = Path(scratch) if directory is None else directory
        if synthetic:
            _in_child("synthesise", str(where), people)
        duck = _in_child("duckdb", str(where), runs)
        pandas = _in_child("pandas", str(where)) if with_pandas else {"seconds": 0.0, "peak": 0.0}
        return QueryFigures(
            people=duck["people"],
            duckdb_seconds=duck["median"],
            duckdb_best=duck["best"],
            pandas_seconds=pandas["seconds"],
            peak_rss_mib=duck["peak"],
            pandas_peak_rss_mib=pandas["peak"],
            slices=duck["slices"],
            synthetic=synthetic,
        )


def _in_child(task: str, *args: Any) -> dict[str, Any]:
    import django

    context = multiprocessing.get_context("spawn")
    with context.Pool(1, initializer=django.setup) as pool:
        return pool.apply(_child, (task, *args))


def _child(task: str, *args: Any) -> dict[str, Any]:
    if task == "synthesise":
        synthesise(Path(args[0]), args[1])
        return {}
    found = snapshot.open_current(Path(args[0]))
    assert found is not None
    context = Context.create(found)
    if task == "duckdb":
        spec = Spec(by=("month", "segment"))
        result = waterfall.compute(context, spec)  # warm-up: file pages in the cache
        timings = []
        for _ in range(args[1]):
            started = time.perf_counter()
            result = waterfall.compute(context, spec)
            timings.append(time.perf_counter() - started)
        return {
            "people": found.query("SELECT count(*) FROM subjects")[0][0],
            "median": statistics.median(timings),
            "best": min(timings),
            "slices": len(result.slices),
            "peak": peak_rss_mib(),
        }
    path = [(s.key, context.next_on_path(s.key)) for s in context.path()]
    cursor = found.cursor()
    wanted = ", ".join(f'"f_{key}"' for key, _ in path)
    subjects = cursor.execute(f"SELECT segment, {wanted} FROM subjects").df()
    transitions = cursor.execute('SELECT to_stage, "at", is_reentry FROM transitions').df()
    cursor.close()
    started = time.perf_counter()
    pandas_waterfall(subjects, transitions, path)
    return {"seconds": time.perf_counter() - started, "peak": peak_rss_mib()}


def refresh_figures(transitions: int, *, say=lambda _m: None) -> dict[str, Any]:
    """Rebuild from the configured database, append ``transitions`` stage changes through
    the actions (people in lead or nurture become MQLs), then refresh incrementally."""
    from kyogyo.journey import rulebook
    from kyogyo.journey.actions import advance
    from kyogyo.journey.models import Milestone

    say("rebuilding the snapshot from the database …")
    started = time.perf_counter()
    built = snapshot.rebuild(reason="benchmark")
    rebuild_seconds = time.perf_counter() - started
    stages = rulebook.load_stage_model()
    lead_ids = [stages.get(k).id for k in ("lead", "nurture")]
    subjects = list(
        Milestone.objects.filter(current_stage_id__in=lead_ids)
        .order_by("pk")
        .values_list("subject_id", flat=True)[:transitions]
    )
    if len(subjects) < transitions:
        raise RuntimeError(
            f"only {len(subjects):,} people in lead or nurture; build a bigger demo company first"
        )
    from kyogyo.customers.models import Contact

    say(f"writing {transitions:,} stage changes through the actions …")
    now = timezone.now()
    for contact in Contact.objects.filter(pk__in=subjects).iterator(chunk_size=1000):
        advance(contact, "mql", via="system", at=now, stages=stages)
    say("refreshing incrementally …")
    started = time.perf_counter()
    refreshed = snapshot.refresh()
    refresh_seconds = time.perf_counter() - started
    return {
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "people": built.counts.get("subjects", 0),
        "rebuild_seconds": round(rebuild_seconds, 2),
        "new_transitions": transitions,
        "refresh_seconds": round(refresh_seconds, 2),
        "refresh_kind": refreshed.kind,
        "refresh_changed": refreshed.changed,
        "peak_rss_mib": round(peak_rss_mib()),
    }


def today() -> dt.date:
    return timezone.localdate()
