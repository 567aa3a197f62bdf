"""The ``kyogyo`` console command: init, check, demo, rules, sla and the --help of every
command. Runs that need a database of their own call ``.venv/bin/kyogyo`` in a subprocess
on a scratch SQLite file; the rest call the commands in-process on the test database."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kyogyo.cli import main
from kyogyo.demo.build import CUSTOMER_TABLES
from kyogyo.handoffs.models import Handoff
from kyogyo.journey.models import Milestone, Rule, RuleVersion, Transition
from kyogyo.ops import defaults as defaults_module
from kyogyo.testing import T0

KYOGYO = Path(sys.executable).with_name("kyogyo")
TODAY = "2026-11-20"
DB_FILE = "x.sqlite3"

MQL_RULE = """\
key: mql-fit-engagement
stage: mql
from: [lead, nurture]
priority: 50
when:
  all:
    - {metric: fit_score, op: gte, value: 50}
    - {metric: engagement_score, op: gte, value: 10}
    - {count: [content_download, form_submission, event, demo], within_days: 30, op: gte, value: 1}
"""


# ------------------------------------------------------------------ helpers


def _env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{data_dir}/{DB_FILE}", "KYOGYO_DATA_DIR": str(data_dir)}


def kyogyo(data_dir: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    return kyogyo_together([(data_dir, args)], ok=ok)[0]


def kyogyo_together(
    runs: list[tuple[Path, tuple[str, ...]]], *, ok: bool = True
) -> list[subprocess.CompletedProcess]:
    """Run several ``kyogyo`` commands at the same time (each on its own database)."""
    procs = [
        (
            args,
            subprocess.Popen(
                [str(KYOGYO), *args],
                env=_env(data_dir),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for data_dir, args in runs
    ]
    results = []
    for args, proc in procs:
        stdout, stderr = proc.communicate(timeout=300)
        done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
        if ok:
            assert done.returncode == 0, f"kyogyo {' '.join(args)} failed:\n{stdout}\n{stderr}"
        results.append(done)
    return results


def copy_db(source: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        file = source / (DB_FILE + suffix)
        if file.exists():
            shutil.copy2(file, target / file.name)
    return target


def dump(data_dir: Path, tables: list[str] | None = None) -> dict[str, list[tuple]]:
    """Every row of ``tables`` (default: all tables), in rowid order."""
    with sqlite3.connect(data_dir / DB_FILE) as db:
        if tables is None:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in tables}


def last_json(text: str):
    """The JSON document that ends ``text`` (anything printed before it is ignored)."""
    start = min(i for i in (text.find("{"), text.find("[")) if i >= 0)
    return json.loads(text[start:])


# ------------------------------------------------------------------ scratch databases


@pytest.fixture(scope="module")
def initialised(tmp_path_factory):
    """A new database after `kyogyo init` twice; outputs and table contents after each run."""
    data_dir = tmp_path_factory.mktemp("init")
    first = kyogyo(data_dir, "init", "--no-input", "--admin-password", "x")
    after_first = dump(data_dir)
    second = kyogyo(data_dir, "init", "--no-input", "--admin-password", "x")
    after_second = dump(data_dir)
    return data_dir, first, second, after_first, after_second


@pytest.fixture(scope="module")
def blank(initialised) -> Path:
    return initialised[0]


DEMO = ("demo", "--size", "200", "--seed", "3", "--today", TODAY)


@pytest.fixture(scope="module")
def demo_pair(blank, tmp_path_factory) -> tuple[Path, Path]:
    """The demo company (200 people, seed 3) built twice, at the same time, on two copies of the
    initialised database: with the defaults (bulk, one process), and with ``--via bulk`` in two
    parallel shard workers — the rows must not depend on the number of workers."""
    first = copy_db(blank, tmp_path_factory.mktemp("demo"))
    second = copy_db(blank, tmp_path_factory.mktemp("demo_again"))
    result, _ = kyogyo_together(
        [(first, (*DEMO, "--format", "json")), (second, (*DEMO, "--via", "bulk", "--workers", "2"))]
    )
    summary = json.loads(result.stdout)
    assert summary["people"] == 200
    assert summary["via"] == "bulk"
    assert summary["counts"]["contacts"] == 200
    return first, second


@pytest.fixture(scope="module")
def demo_db(demo_pair) -> Path:
    return demo_pair[0]


# ------------------------------------------------------------------ init


def test_init_creates_defaults_and_admin(initialised):
    _, first, _, after_first, _ = initialised
    made = f"{len(defaults_module.TEAMS)} teams, {len(defaults_module.STAGES)} stages, "
    made += f"{len(defaults_module.REASONS)} reasons, {len(defaults_module.RULES)} rules"
    assert f"Defaults installed: {made}" in first.stdout
    assert "Admin user 'admin' created." in first.stdout
    with sqlite3.connect(initialised[0] / DB_FILE) as db:
        admins = db.execute("SELECT username, role FROM org_user WHERE is_superuser").fetchall()
    assert admins == [("admin", "admin")]
    assert len(after_first["journey_stage"]) == len(defaults_module.STAGES)
    assert len(after_first["journey_rule"]) == len(defaults_module.RULES)


def test_init_twice_is_idempotent(initialised):
    _, _, second, after_first, after_second = initialised
    assert "Defaults installed: nothing new." in second.stdout
    assert "An admin user exists already; left as it is." in second.stdout
    assert after_second == after_first  # not a row added, removed or changed


# ------------------------------------------------------------------ --help


COMMANDS = {
    "init": ["--admin-password", "--no-input"],
    "check": ["--format", "--system-only"],
    "demo": ["--size", "--seed", "--today", "--via", "--reset"],
    "rules": ["list", "test", "publish", "run"],
    "sla": ["check"],
    "serve": ["--addr", "--threads"],
    "bench": ["journey", "ingest"],
    "worker": [],
    "backup": ["--output", "--format"],
    "restore": ["--yes", "--no-snapshot"],
}


def help_of(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(capsys, command):
    from django.core.management import get_commands, load_command_class

    text = help_of(capsys, command)
    assert text.startswith(f"usage: kyogyo {command}")
    app = get_commands()[command]
    assert app.startswith("kyogyo.")  # ours, not Django's command of the same name
    described = load_command_class(app, command).help
    assert len(described) > 40
    assert " ".join(described.split()[:4]) in " ".join(text.split())
    for option in COMMANDS[command]:
        assert option in text


@pytest.mark.parametrize(
    "argv", [["rules", "test"], ["rules", "publish"], ["sla", "check"], ["bench", "journey"]]
)
def test_subcommands_have_help(capsys, argv):
    text = help_of(capsys, *argv)
    assert text.startswith(f"usage: kyogyo {' '.join(argv)}")


# ------------------------------------------------------------------ demo and check


@pytest.fixture(scope="module")
def checked(demo_db) -> tuple[str, str]:
    """`kyogyo check` on the demo company, as text and as JSON (run side by side)."""
    text, as_json = kyogyo_together([(demo_db, ("check",)), (demo_db, ("check", "--format", "json"))])
    return text.stdout, as_json.stdout


@pytest.fixture(scope="module")
def check_json(checked) -> str:
    return checked[1]


def test_demo_then_check_passes(checked):
    assert "All journey invariants hold." in checked[0]
    assert "200 subjects" in checked[0]


def test_check_json_reports_ok(check_json):
    report = last_json(check_json)
    assert report["ok"] is True
    assert report["subjects"] == 200
    assert report["violations"] == 0
    assert report["examples"] == []


def test_check_json_stdout_is_only_json(check_json):
    report = json.loads(check_json)
    assert report["ok"] is True


def test_check_fails_on_a_tampered_database(demo_db, tmp_path):
    data_dir = copy_db(demo_db, tmp_path)
    with sqlite3.connect(data_dir / DB_FILE) as db:
        db.execute(
            "UPDATE journey_milestone SET last_hash = 'x' WHERE subject_id = "
            "(SELECT MIN(subject_id) FROM journey_milestone)"
        )
    result = kyogyo(data_dir, "check", ok=False)
    assert result.returncode == 1
    assert "milestones last hash" in result.stdout
    assert "1 invariant violation(s) found." in result.stderr


def test_demo_again_needs_reset(demo_db, tmp_path):
    data_dir = copy_db(demo_db, tmp_path)
    before = dump(data_dir, CUSTOMER_TABLES)
    again = kyogyo(data_dir, *DEMO, ok=False)
    assert again.returncode == 1
    assert "the database already holds 200 people" in again.stderr
    assert "--reset" in again.stderr
    assert dump(data_dir, CUSTOMER_TABLES) == before

    kyogyo(data_dir, *DEMO, "--reset")
    assert dump(data_dir, CUSTOMER_TABLES) == before  # the same company, rebuilt from scratch


def test_demo_refuses_a_nonsense_size_clearly(tmp_path):
    result = kyogyo(tmp_path, "demo", "--size", "nonsense", ok=False)
    assert result.returncode == 1
    assert (
        "CommandError: --size: size must be small, medium, large or a number of people, got 'nonsense'"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not (tmp_path / DB_FILE).exists()  # refused before touching any database


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": "0"}, "--size: the number of people must be between 1 and 20,000,000"),
        ({"size": "lots"}, "--size: size must be small, medium, large or a number of people, got 'lots'"),
        ({"size": "10", "today": "20.11.2026"}, "--today: '20.11.2026' is not a date (YYYY-MM-DD)"),
    ],
)
def test_demo_refuses_bad_arguments(db, options, message):
    with pytest.raises(CommandError) as info:
        call_command("demo", **options)
    assert str(info.value) == message


def test_demo_is_deterministic(demo_pair):
    first, second = (dump(d, CUSTOMER_TABLES) for d in demo_pair)
    assert len(first["journey_transition"]) > 200
    assert len(first["handoffs_handoff"]) > 0
    for table in CUSTOMER_TABLES:
        assert second[table] == first[table], table


def test_demo_actions_and_bulk_write_the_same_rows(blank, tmp_path):
    bulk = copy_db(blank, tmp_path / "bulk")
    via_actions = copy_db(blank, tmp_path / "actions")
    args = ("demo", "--size", "150", "--seed", "5", "--today", TODAY)
    kyogyo_together([(via_actions, (*args, "--via", "actions")), (bulk, (*args, "--via", "bulk"))])
    expected, actual = dump(bulk, CUSTOMER_TABLES), dump(via_actions, CUSTOMER_TABLES)
    assert len(expected["handoffs_handoff"]) > 0
    assert len(expected["deals_deal"]) > 0
    for table in CUSTOMER_TABLES:
        assert len(actual[table]) == len(expected[table]), table
        mismatched = [(a, b) for a, b in zip(actual[table], expected[table], strict=True) if a != b]
        assert not mismatched, f"{table}: {len(mismatched)} rows differ, e.g. {mismatched[0]}"


# ------------------------------------------------------------------ rules (subprocess)


def test_rules_test_prints_counts_and_changes_nothing(demo_db, tmp_path):
    rule_file = tmp_path / "mql.yaml"
    rule_file.write_text(MQL_RULE, encoding="utf-8")
    before = dump(demo_db)
    test = ("rules", "test", str(rule_file), "--at", TODAY)
    text, as_json = kyogyo_together([(demo_db, test), (demo_db, (*test, "--format", "json"))])
    text, data = text.stdout, json.loads(as_json.stdout)
    assert dump(demo_db) == before
    assert isinstance(data, list) and len(data) == 1
    result = data[0]
    assert result["rule"] == "mql-fit-engagement"
    for key in (
        "evaluated",
        "would_qualify",
        "would_change_stage",
        "qualify_under_current_version",
        "newly_qualifying",
        "no_longer_qualifying",
        "moves",
        "sample",
    ):
        assert key in result
    assert result["evaluated"] > 0
    assert result["would_qualify"] >= result["would_change_stage"] >= 0
    assert (
        f"mql-fit-engagement: {result['evaluated']:,} evaluated, {result['would_qualify']:,} would qualify, "
        f"{result['would_change_stage']:,} would change stage" in text
    )


def test_invalid_rule_files_exit_non_zero_with_the_path(demo_db, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("key: x\nstage: mql\nfrom: [lead\n", encoding="utf-8")
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(MQL_RULE + "colour: red\n", encoding="utf-8")
    bad_yaml, bad_field = kyogyo_together(
        [(demo_db, ("rules", "test", str(broken))), (demo_db, ("rules", "publish", str(unknown)))], ok=False
    )
    for result in (bad_yaml, bad_field):
        assert result.returncode == 1
        assert "CommandError: The rule is not valid:" in result.stderr
        assert "Traceback" not in result.stderr
    assert f"{broken}: not valid YAML or JSON" in bad_yaml.stderr
    assert "rules[0]: unexpected key 'colour'" in bad_field.stderr


def test_rules_publish_then_list_shows_v2(demo_db, tmp_path):
    data_dir = copy_db(demo_db, tmp_path / "db")
    rule_file = tmp_path / "mql.yaml"
    rule_file.write_text(MQL_RULE, encoding="utf-8")
    published = kyogyo(data_dir, "rules", "publish", str(rule_file), "--note", "lower the bar")
    assert published.stdout.strip() == "Published mql-fit-engagement v2."
    listing = kyogyo(data_dir, "rules", "list").stdout
    line = next(x for x in listing.splitlines() if "mql-fit-engagement" in x)
    assert "mql-fit-engagement v2:" in line
    assert "engagement score ≥ 10" in line
    assert "dq-competitor v1:" in listing
    with sqlite3.connect(data_dir / DB_FILE) as db:
        notes = db.execute(
            "SELECT v.number, v.note FROM journey_ruleversion v JOIN journey_rule r "
            "ON r.id = v.rule_id WHERE r.key = 'mql-fit-engagement' ORDER BY v.number"
        ).fetchall()
    assert notes == [(1, "Default rule installed by kyogyo init."), (2, "lower the bar")]


def test_sla_check_json(demo_db, tmp_path):
    data_dir = copy_db(demo_db, tmp_path)
    first = json.loads(kyogyo(data_dir, "sla", "check", "--format", "json").stdout)
    assert isinstance(first["newly_breached"], int)
    assert isinstance(first["open_by_team"], list)
    for row in first["open_by_team"]:
        assert set(row) == {"team", "open", "overdue"}
    again = json.loads(kyogyo(data_dir, "sla", "check", "--format", "json").stdout)
    assert again["newly_breached"] == 0
    assert again["open_by_team"] == first["open_by_team"]


# ------------------------------------------------------------------ in-process, on the test database


def run(*args: str, **options) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


@pytest.fixture
def base(make_contact):
    """A few leads, two of them engaged enough for a lower MQL bar."""
    from kyogyo.marketing.actions import record_activity

    contacts = [make_contact() for _ in range(4)]
    for contact in contacts[:2]:
        record_activity(contact, "content_download", occurred_at=T0 + dt.timedelta(hours=1))
        record_activity(contact, "content_download", occurred_at=T0 + dt.timedelta(hours=2))
    return contacts


def written() -> tuple[int, ...]:
    return (
        Transition.objects.count(),
        Handoff.objects.count(),
        RuleVersion.objects.count(),
        Milestone.objects.filter(current_stage__key="mql").count(),
    )


def test_rules_test_in_process_counts_who_would_qualify(base, tmp_path):
    rule_file = tmp_path / "mql.yaml"
    rule_file.write_text(MQL_RULE, encoding="utf-8")
    before = written()
    data = json.loads(run("rules", "test", str(rule_file), "--at", "2026-04-07", "--format", "json"))
    assert written() == before
    assert data[0]["evaluated"] == 4
    assert (data[0]["would_qualify"], data[0]["would_change_stage"]) == (2, 2)
    assert data[0]["qualify_under_current_version"] == 0
    assert data[0]["moves"] == [{"from": "lead", "to": "mql", "count": 2}]
    text = run("rules", "test", str(rule_file), "--at", "2026-04-07")
    assert "4 evaluated, 2 would qualify, 2 would change stage" in text
    assert "lead → mql: 2" in text
    assert written() == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (MQL_RULE + "colour: red\n", "rules[0]: unexpected key 'colour'"),
        (
            "key: x\nstage: mql\nwhen: {metric: fit_score, op: gte, value: 1}\n",
            "rules[0]: missing key 'from'",
        ),
        (MQL_RULE.replace("fit_score", "fitness"), "when.all[0].metric: unknown metric 'fitness'"),
        (MQL_RULE.replace("from: [lead, nurture]", "from: [lead, mql]"), "from[1]: subjects in 'mql' wait"),
        (MQL_RULE.replace("stage: mql", "stage: pipeline"), "stage: unknown stage 'pipeline'"),
        (MQL_RULE.replace("priority: 50", "priority: lots"), "rules[0].priority: expected a whole number"),
        ("- just text\n", "rules[0]: expected a rule"),
    ],
    ids=[
        "unknown-key",
        "missing-key",
        "unknown-metric",
        "handoff-stage",
        "unknown-stage",
        "bad-priority",
        "not-a-mapping",
    ],
)
@pytest.mark.parametrize("action", ["test", "publish"])
def test_invalid_rule_files_are_refused_with_the_path(defaults, tmp_path, content, expected, action):
    rule_file = tmp_path / "rule.yaml"
    rule_file.write_text(content, encoding="utf-8")
    before = written()
    with pytest.raises(CommandError) as info:
        run("rules", action, str(rule_file))
    assert str(info.value).startswith("The rule is not valid:")
    assert expected in str(info.value)
    assert written() == before


def test_rules_file_that_cannot_be_read(defaults, tmp_path):
    with pytest.raises(CommandError, match="cannot read the file"):
        run("rules", "test", str(tmp_path / "missing.yaml"))


TWO_RULES = """\
- key: mql-fit-engagement
  stage: mql
  from: [lead, nurture]
  when: {metric: engagement_score, op: gte, value: 10}
- key: sal-by-fit
  stage: sal
  from: [mql]
  when: {metric: fit_score, op: gte, value: 90}
"""


def test_rules_publish_is_all_or_nothing(defaults, tmp_path):
    rule_file = tmp_path / "two.yaml"
    rule_file.write_text(TWO_RULES, encoding="utf-8")
    with pytest.raises(CommandError):
        run("rules", "publish", str(rule_file))
    assert Rule.objects.get(key="mql-fit-engagement").current_version.number == 1


def test_rule_problems_name_the_rule_in_a_file_of_several(defaults, tmp_path):
    rule_file = tmp_path / "two.yaml"
    rule_file.write_text(TWO_RULES, encoding="utf-8")
    with pytest.raises(CommandError) as info:
        run("rules", "test", str(rule_file))
    message = str(info.value)
    assert "rules[1]" in message or "sal-by-fit" in message


def test_rules_run_in_process(base):
    out = json.loads(run("rules", "run", "--format", "json"))
    assert out["evaluated"] == 4
    assert out["moved"] == 4  # idle for months: all go to nurture
    assert Milestone.objects.filter(current_stage__key="nurture").count() == 4


def test_check_in_process(base):
    report = last_json(run("check", "--format", "json"))
    assert report == {
        "ok": True,
        "subjects": 4,
        "transitions": 4,
        "handoffs": 0,
        "violations": 0,
        "examples": [],
    }
    Milestone.objects.filter(subject=base[0]).update(entries={"lead": 2})
    with pytest.raises(CommandError, match=r"1 invariant violation\(s\) found"):
        run("check")
