"""kyogyo bench: how fast the bulk demo path, the action path, the contacts import and the
analytics run here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyogyo.ops import bench


class Command(BaseCommand):
    help = (
        "Benchmarks. `bench journey` builds a demo company with the bulk path into a new scratch "
        "database (SQLite, and PostgreSQL when --postgres is given), then streams activities "
        "through the action path (rules, transitions, handoffs) and prints people/s and "
        "activities/s. Scratch databases are removed afterwards. `bench ingest` runs only the "
        "action-path part against the configured database. `bench import` writes a contacts CSV of "
        "--rows new people (a company for every ten, created on the way) and times `kyogyo import "
        "contacts FILE --preset generic` on scratch databases: seconds, rows/s, peak memory. "
        "`bench pages` times every main page of the web app through a real server on the configured "
        "database (p50/p95/max per page, and the first request, which works out the reports a page "
        "shows: once per snapshot generation). `bench load` runs --users concurrent signed-in users reading "
        "pages and the API against a local server (each pausing about --think seconds between "
        "clicks), then bursts at the API and sign-in rate limits "
        "(let through vs stated). `bench analytics` times the cohort "
        "waterfall by month × segment over snapshots of --people sizes (synthesised in DuckDB with "
        "the demo's shape; the real snapshot too with --refresh) beside plain pandas, and with "
        "--refresh a full rebuild from the configured database, N new transitions through the "
        "actions (they are written to that database) and the incremental refresh."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True, metavar="WHAT")
        journey = sub.add_parser("journey", help="bulk demo path and action path, on scratch databases")
        journey.add_argument(
            "--people", type=int, default=1_000_000, help="people in the bulk demo (default 1,000,000)"
        )
        journey.add_argument(
            "--activities",
            type=int,
            default=20_000,
            help="activities through the action path (default 20,000)",
        )
        journey.add_argument(
            "--postgres",
            metavar="URL",
            nargs="?",
            const="postgres://postgres@127.0.0.1:5432/postgres",
            help="also run on PostgreSQL (server URL; a scratch database is created there)",
        )
        journey.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
        journey.add_argument("--format", choices=["text", "json"], default="text")
        analytics = sub.add_parser("analytics", help="snapshot queries, rebuild and incremental refresh")
        analytics.add_argument(
            "--people",
            type=int,
            action="append",
            help="size of a synthesised snapshot to query (repeatable; default 1,000,000 and 10,000,000)",
        )
        analytics.add_argument("--runs", type=int, default=5, help="timed runs per query (median reported)")
        analytics.add_argument(
            "--refresh",
            action="store_true",
            help="also rebuild from the configured database, write --transitions stage changes and refresh",
        )
        analytics.add_argument("--transitions", type=int, default=10_000)
        analytics.add_argument("--no-pandas", action="store_true", help="skip the pandas comparison")
        analytics.add_argument("--format", choices=["text", "json"], default="text")
        endpoint = sub.add_parser(
            "api", help="the bulk activity endpoint through a real server, on the configured database"
        )
        endpoint.add_argument("--activities", type=int, default=20_000)
        endpoint.add_argument(
            "--batch", type=int, default=1000, help="activities per request (default 1,000)"
        )
        endpoint.add_argument("--clients", type=int, default=2, help="requests in flight at once (default 2)")
        endpoint.add_argument("--format", choices=["text", "json"], default="text")
        pages = sub.add_parser(
            "pages", help="response times of the main pages through a real server, on the configured database"
        )
        pages.add_argument("--requests", type=int, default=20, help="timed requests per page (default 20)")
        pages.add_argument("--format", choices=["text", "json"], default="text")
        load = sub.add_parser(
            "load",
            help="concurrent users and rate-limit bursts against a local server, on the configured database",
        )
        load.add_argument("--users", type=int, default=50, help="concurrent signed-in users (default 50)")
        load.add_argument(
            "--seconds", type=float, default=30, help="how long the read load runs (default 30)"
        )
        load.add_argument(
            "--max-requests", type=int, default=20_000, help="stop the read load after this many requests"
        )
        load.add_argument("--threads", type=int, default=16, help="server worker threads (default 16)")
        load.add_argument(
            "--think",
            type=float,
            default=2.0,
            help="mean seconds a user pauses between two clicks (uniform from half to one and a half "
            "times it; default 2; 0 sends back to back, a stress test rather than users)",
        )
        load.add_argument("--format", choices=["text", "json"], default="text")
        importing = sub.add_parser("import", help="contacts CSV import, on scratch databases")
        importing.add_argument(
            "--rows", type=int, default=1_000_000, help="new people in the file (default 1,000,000)"
        )
        importing.add_argument(
            "--postgres",
            metavar="URL",
            nargs="?",
            const="postgres://postgres@127.0.0.1:5432/postgres",
            help="also run on PostgreSQL (server URL; a scratch database is created there)",
        )
        importing.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
        importing.add_argument(
            "--check", action="store_true", help="run `kyogyo check` on the result (invariants)"
        )
        importing.add_argument("--format", choices=["text", "json"], default="text")
        ingest = sub.add_parser("ingest", help="action path only, on the configured database")
        ingest.add_argument("--activities", type=int, default=20_000)
        ingest.add_argument("--batch", type=int, default=1000, help="activities per call (default 1,000)")
        ingest.add_argument(
            "--external-ids", action="store_true", help="give every activity an external id (idempotency key)"
        )
        ingest.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options) -> None:
        if options["what"] == "analytics":
            self._analytics(options)
            return
        if options["what"] == "api":
            self._api(options)
            return
        if options["what"] == "pages":
            self._pages(options)
            return
        if options["what"] == "load":
            self._load(options)
            return
        if options["what"] == "ingest":
            figures = bench.ingest(
                options["activities"], batch=options["batch"], external_ids=options["external_ids"]
            )
            data = {
                "activities": figures.activities,
                "batch": options["batch"],
                "external_ids": options["external_ids"],
                "seconds": round(figures.seconds, 2),
                "activities_per_second": round(figures.per_second),
                "median_batch_seconds": round(figures.median_batch, 3),
                "slowest_batch_seconds": round(max(figures.batch_seconds, default=0.0), 3),
                "transitions": figures.transitions,
                "handoffs": figures.handoffs,
                "load_average": round(os.getloadavg()[0], 2),
            }
            self._emit(
                options,
                data,
                f"Action path: {figures.activities:,} activities in batches of {options['batch']:,} in "
                f"{figures.seconds:.1f} s = {figures.per_second:,.0f}/s (target ≥ 2,000/s on PostgreSQL); "
                f"a batch takes {figures.median_batch:.2f} s (median), {data['slowest_batch_seconds']:.2f} s at "
                f"most; {figures.transitions:,} transitions, {figures.handoffs:,} handoffs; load average "
                f"{data['load_average']}",
            )
            return
        run = self._import if options["what"] == "import" else self._run
        results = []
        if not options["no_sqlite"]:
            with tempfile.TemporaryDirectory(prefix="kyogyo-bench-") as scratch:
                results.append(run("sqlite", f"sqlite:///{scratch}/bench.sqlite3", scratch, options))
        if options["postgres"]:
            results.append(self._run_postgres(options["postgres"], run, options))
        if options["format"] == "json":
            self.stdout.write(json.dumps(results, indent=2))

    def _api(self, options: dict) -> None:
        from kyogyo.api.bench import bulk_endpoint

        if options["format"] == "text":
            self.stdout.write(
                f"posting {options['activities']:,} activities in batches of {options['batch']:,} "
                f"({options['clients']} at a time) to a server on this database …"
            )
        try:
            figures = bulk_endpoint(options["activities"], batch=options["batch"], clients=options["clients"])
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self._emit(
            options,
            figures.as_dict(),
            f"Bulk endpoint: {figures.activities:,} activities in {figures.seconds:.1f} s = "
            f"{figures.activities_per_second:,.0f}/s end to end ({figures.transitions:,} stage changes; "
            f"a batch took {figures.p50_batch_seconds:.2f} s median, {figures.p95_batch_seconds:.2f} s p95); "
            f"CPU per 1,000 activities: server {_ms(figures.server_cpu_ms_per_1000)}, database "
            f"{_ms(figures.database_cpu_ms_per_1000)}; load average {figures.load_average[0]:.1f} before, "
            f"{figures.load_average[1]:.1f} after",
        )

    def _pages(self, options: dict) -> None:
        from kyogyo.web.bench import main_pages

        try:
            figures = main_pages(requests=options["requests"])
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        if options["format"] == "json":
            self.stdout.write(json.dumps([f.as_dict() for f in figures], indent=2))
            return
        self.stdout.write(
            f"{'page':<28} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'first ms':>9}  path"
        )
        for f in figures:
            self.stdout.write(
                f"{f.page:<28} {f.status:>6} {f.p50_ms:>8.1f} {f.p95_ms:>8.1f} {f.max_ms:>8.1f} "
                f"{f.first_ms:>9.1f}  {f.path}"
            )
        slowest = max((f.p95_ms for f in figures), default=0.0)
        self.stdout.write(
            f"slowest p95: {slowest:.1f} ms (target: under 300 ms on the 1,000,000-person demo)"
        )

    def _load(self, options: dict) -> None:
        from kyogyo.ops.loadtest import run

        try:
            figures = run(
                users=options["users"],
                seconds=options["seconds"],
                max_requests=options["max_requests"],
                threads=options["threads"],
                think=options["think"],
            )
        except (RuntimeError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if options["format"] == "json":
            self.stdout.write(json.dumps(figures.as_dict(), indent=2))
            return
        self.stdout.write(
            f"{figures.users} users pausing {figures.think_seconds:g} s on average between clicks, "
            f"{figures.requests:,} reads ({figures.reads_per_second:.1f}/s; {figures.seconds:.0f} s in all)"
        )
        for r in figures.reads:
            self.stdout.write(
                f"  {r.kind:<5} {r.requests:>7,} requests  {r.errors:>4} errors  p50 {r.p50_ms:>7.1f} ms  "
                f"p95 {r.p95_ms:>7.1f} ms"
            )
        for lim in figures.limits:
            verdict = "within 10%" if lim.within_10_percent else "OFF BY MORE THAN 10%"
            self.stdout.write(
                f"  {lim.limit}: {lim.let_through} let through in a full window ({lim.sent} sent), "
                f"stated {lim.stated} per {lim.window_seconds} s ({verdict}); {lim.refused_429} answered 429"
            )

    def _run_postgres(
        self, server_url: str, run: Callable[[str, str, str, dict], dict], options: dict
    ) -> dict:
        import psycopg

        name = f"kyogyo_bench_{uuid.uuid4().hex[:8]}"
        parts = urlsplit(server_url)
        admin = psycopg.connect(server_url.replace("postgres://", "postgresql://", 1), autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = urlunsplit(parts._replace(path=f"/{name}"))
            with tempfile.TemporaryDirectory(prefix="kyogyo-bench-") as scratch:
                return run("postgresql", url, scratch, options)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()

    def _import(self, label: str, url: str, scratch: str, options: dict) -> dict:
        """Time `kyogyo import contacts FILE --preset generic` (as a user runs it, progress
        line included) in a process of its own, so its peak memory is the import's alone."""
        env = {**os.environ, "DATABASE_URL": url, "KYOGYO_DATA_DIR": scratch}
        kyogyo = [sys.executable, "-m", "kyogyo.cli"]
        verbose = options["format"] == "text"
        init = subprocess.run(
            [*kyogyo, "init", "--no-input", "-v", "0"], env=env, capture_output=True, text=True
        )
        if init.returncode:
            raise CommandError(f"{label}: kyogyo init failed:\n{init.stderr[-2000:]}")
        path = Path(scratch) / "contacts.csv"
        companies = bench.write_contacts_csv(path, options["rows"])
        if verbose:
            self.stdout.write(
                f"[{label}] importing {options['rows']:,} new contacts ({companies:,} companies created "
                f"on the way; {path.stat().st_size / 2**20:,.0f} MiB of CSV) …"
            )
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        command = [*kyogyo, "import", "contacts", str(path), "--preset", "generic", "--format", "json"]
        with open(Path(scratch) / "import.log", "w+") as log:
            process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
            assert process.stdout is not None
            output = process.stdout.read()
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
            process.returncode = os.waitstatus_to_exitcode(status)
            if process.returncode:
                log.seek(0)
                raise CommandError(f"{label}: kyogyo import failed:\n{log.read()[-2000:]}")
        summary = json.loads(output)
        # ru_maxrss is in kilobytes on Linux
        result = {
            "database": label,
            "rows": options["rows"],
            "companies": companies,
            "seconds": round(seconds, 1),
            "rows_per_second": round(options["rows"] / seconds),
            "peak_rss_mib": round(usage.ru_maxrss / 1024),
            # The import's own processor time: on a shared machine, wall time also counts waiting.
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "summary": summary,
        }
        if verbose:
            self.stdout.write(
                f"[{label}] {options['rows']:,} contacts in {seconds:.1f} s = {result['rows_per_second']:,}/s "
                f"({result['cpu_seconds']:,} s of processor time), "
                f"peak RSS {result['peak_rss_mib']:,} MiB (created {summary['created']:,}, errors "
                f"{summary['errors']:,}; load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after)"
            )
        if options["check"]:
            started = time.perf_counter()
            check = subprocess.run(
                [*kyogyo, "check", "--format", "json"], env=env, capture_output=True, text=True, check=False
            )
            result["check"] = {
                "ok": check.returncode == 0,
                "seconds": round(time.perf_counter() - started, 1),
            }
            if verbose:
                verdict = "no violations" if check.returncode == 0 else f"FAILED:\n{check.stdout[-2000:]}"
                self.stdout.write(f"[{label}] kyogyo check: {verdict} ({result['check']['seconds']} s)")
        return result

    def _run(self, label: str, url: str, scratch: str, options: dict) -> dict:
        env = {**os.environ, "DATABASE_URL": url, "KYOGYO_DATA_DIR": scratch}
        kyogyo = [sys.executable, "-m", "kyogyo.cli"]
        verbose = options["format"] == "text"

        def run(*args: str) -> dict:
            completed = subprocess.run([*kyogyo, *args], env=env, capture_output=True, text=True, check=False)
            if completed.returncode:
                raise CommandError(f"{label}: kyogyo {' '.join(args)} failed:\n{completed.stderr[-2000:]}")
            lines = completed.stdout.strip().splitlines()
            return json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {}

        if verbose:
            self.stdout.write(f"[{label}] building the demo company ({options['people']:,} people) …")
        run("init", "--no-input", "-v", "0")
        demo = run("demo", "--size", str(options["people"]), "--seed", "1", "--format", "json")
        people_rate = demo["people"] / demo["seconds"]
        if verbose:
            self.stdout.write(
                f"[{label}] bulk demo: {demo['people']:,} people in {demo['seconds']:.1f} s "
                f"= {people_rate:,.0f}/s "
                f"({', '.join(f'{n:,} {k}' for k, n in demo['counts'].items())}); "
                f"1,000,000 people ≈ {1_000_000 / people_rate:.0f} s"
            )
        if verbose:
            self.stdout.write(
                f"[{label}] streaming {options['activities']:,} activities through the actions …"
            )
        ingest = run("bench", "ingest", "--activities", str(options["activities"]), "--format", "json")
        if verbose:
            self.stdout.write(
                f"[{label}] action path (record_activities, batches of 1,000, rules included): "
                f"{ingest['activities']:,} activities in {ingest['seconds']:.1f} s = "
                f"{ingest['activities_per_second']:,}/s — target ≥ 2,000/s on PostgreSQL; "
                f"{ingest['median_batch_seconds']:.2f} s per batch (median); "
                f"{ingest['transitions']:,} transitions, {ingest['handoffs']:,} handoffs"
            )
        return {"database": label, "demo": demo, "people_per_second": round(people_rate), "ingest": ingest}

    def _analytics(self, options: dict) -> None:
        from kyogyo.analytics import bench as analytics_bench
        from kyogyo.analytics import snapshot

        text = options["format"] == "text"
        results: dict = {"queries": []}

        def say(message: str) -> None:
            if text:
                self.stdout.write(message)

        def report(figures) -> None:
            data = figures.as_dict()
            results["queries"].append(data)
            kind = "synthesised" if data["synthetic"] else "real"
            pandas = (
                f"; pandas {data['pandas_seconds']:.3f} s ({data['pandas_over_duckdb']}× slower)"
                if data["pandas_seconds"]
                else ""
            )
            say(
                f"cohort waterfall by month × segment, {data['people']:,} people ({kind}): "
                f"{data['duckdb_median_seconds']:.4f} s median (best {data['duckdb_best_seconds']:.4f} s, "
                f"{data['slices']:,} slices), peak RSS {data['peak_rss_mib']:,} MiB{pandas}"
            )

        if options["refresh"]:
            figures = analytics_bench.refresh_figures(options["transitions"], say=say)
            results["refresh"] = figures
            say(
                f"[{figures['database']}] rebuild of {figures['people']:,} people: {figures['rebuild_seconds']:.1f} s; "
                f"incremental refresh after {figures['new_transitions']:,} new transitions: "
                f"{figures['refresh_seconds']:.2f} s; peak RSS {figures['peak_rss_mib']:,} MiB"
            )
            report(
                analytics_bench.query(
                    0,
                    runs=options["runs"],
                    directory=snapshot.snapshot_dir(),
                    with_pandas=not options["no_pandas"],
                )
            )
        for people in options["people"] or [1_000_000, 10_000_000]:
            say(f"synthesising a snapshot of {people:,} people …")
            report(analytics_bench.query(people, runs=options["runs"], with_pandas=not options["no_pandas"]))
        if not text:
            self.stdout.write(json.dumps(results, indent=2))

    def _emit(self, options: dict, data: dict, text: str) -> None:
        self.stdout.write(json.dumps(data) if options["format"] == "json" else text)


def _ms(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.0f} ms"
