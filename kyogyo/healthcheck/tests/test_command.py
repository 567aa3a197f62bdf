"""The command line: the evidence as text or JSON, an assessment exported to a file."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from kyogyo.healthcheck import actions


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("healthcheck", *args, stdout=out)
    return out.getvalue()


def test_evidence_as_text_and_json(people):
    text = run("evidence")
    assert "  1.1 ○  4 of the 4 teams have active members." in text
    assert len(text.splitlines()) == 16
    assert "4 チーム中 4 チームに有効なメンバーがいます。" in run("evidence", "--language", "ja")
    found = json.loads(run("evidence", "--format", "json"))
    assert found["organisation.four_departments"] == {
        "kind": "teams_staffed",
        "n": 4,
        "d": 4,
        "value": 1.0,
        "suggested": "done",
    }


def test_export_to_a_file(people, tmp_path):
    assessment = actions.create_assessment(
        actor=people.manager, assessed_on=dt.date(2026, 11, 1), marks={"kpi.linked": ("partly", "")}
    )
    target = tmp_path / "hc.xlsx"
    assert "wrote" in run("export", str(assessment.pk), "--to", str(target), "--language", "ja")
    assert load_workbook(target).sheetnames[0] == "ヘルスチェック"
    run("export", str(assessment.pk), "--to", str(tmp_path / "hc.pdf"))
    assert (tmp_path / "hc.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(CommandError, match="bad_type"):
        run("export", str(assessment.pk), "--to", str(tmp_path / "hc.txt"))
    with pytest.raises(CommandError, match="not_found"):
        run("export", "999", "--to", str(target))
