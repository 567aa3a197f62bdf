"""The waterfall on real third-party data (Olist's marketing funnel, ../shared/datasets):
8,000 MQLs, 842 of them won. The files go in as they are, through ``kyogyo import`` with the
example mappings (examples/mappings/olist-*.yaml, the worked example of docs/imports.md):
one person per MQL (source = origin) entering MQL on the first contact date, and one won
deal per closed deal, its person going on to won on the won date. The one deal won before
its lead's first contact is refused (a journey's time cannot go backwards) and reported in
the error file. The MQL → won waterfall by origin and by first-contact month must then
equal an independent pandas computation exactly."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command

from kyogyo.analytics.metrics import waterfall
from kyogyo.analytics.spec import Spec
from kyogyo.ops import invariants

# The shared data sets live beside the project (../shared/datasets); a clone made elsewhere
# on the same machine finds them at /work/shared, or wherever KYOGYO_DATASETS points.
_CANDIDATES = [
    Path(os.environ.get("KYOGYO_DATASETS", "/nonexistent")),
    Path(__file__).resolve().parents[3].parent / "shared" / "datasets",
    Path("/work/shared/datasets"),
]
DATA = next((p for p in _CANDIDATES if (p / "olist-marketing-funnel").is_dir()), _CANDIDATES[1]) / (
    "olist-marketing-funnel"
)
MQLS = DATA / "olist_marketing_qualified_leads_dataset.csv"
DEALS = DATA / "olist_closed_deals_dataset.csv"

pytestmark = pytest.mark.skipif(not MQLS.exists(), reason="the Olist data set is not beside the project")


MAPPINGS = Path(__file__).resolve().parents[3] / "examples" / "mappings"


def import_file(kind: str, path: Path, mapping: str) -> dict:
    out = io.StringIO()
    call_command(
        "import",
        kind,
        str(path),
        "--mapping",
        str(MAPPINGS / mapping),
        "--format",
        "json",
        "--quiet",
        stdout=out,
    )
    return json.loads(out.getvalue())


def error_lines(result: dict) -> list[dict[str, str]]:
    with open(result["error_file"], encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def pandas_waterfall(by: str) -> pd.DataFrame:
    """MQL → won by origin or first-contact month, computed independently with pandas."""
    mqls = pd.read_csv(MQLS, dtype=str, keep_default_na=False)
    deals = pd.read_csv(DEALS, dtype=str, keep_default_na=False)
    mqls["first_contact"] = pd.to_datetime(mqls["first_contact_date"], format="%d-%m-%Y")
    deals["won"] = pd.to_datetime(deals["won_date"], format="%d-%m-%Y %H:%M")
    merged = mqls.merge(deals[["mql_id", "won"]], on="mql_id", how="left")
    merged["advanced"] = merged["won"].notna() & (merged["won"] >= merged["first_contact"])
    merged["origin"] = merged["origin"].replace("", "(none)")
    merged["month"] = merged["first_contact"].dt.strftime("%Y-%m")
    table = merged.groupby(by).agg(entered=("mql_id", "size"), advanced=("advanced", "sum"))
    return table.sort_index()


def test_the_olist_files_import_as_they_are_and_the_waterfall_matches_pandas(
    defaults, analytics, settings, tmp_path
):
    settings.KYOGYO_IMPORT_DIR = tmp_path / "imports"
    mqls = import_file("contacts", MQLS, "olist-mqls.yaml")
    deals = import_file("deals", DEALS, "olist-closed-deals.yaml")

    assert (mqls["created"], mqls["errors"]) == (8000, 0)
    assert (deals["created"], deals["errors"]) == (841, 1)
    [refused] = error_lines(deals)
    # line 669: mql b91cf881… first contacted on 08-03-2018, won on 06-03-2018 19:38
    assert (refused["line"], refused["column"], refused["code"]) == ("669", "won_date", "time_backwards")
    assert refused["mql_id"] == "b91cf8812365f50ff4bda4bcd6206b05"
    report = invariants.check()
    assert report.ok, report.violations

    context = analytics()
    for dimension, column in (("source", "origin"), ("month", "month")):
        spec = Spec(by=(dimension,), options={"stages": ["mql", "won"]})
        result = waterfall.compute(context, spec).as_dict()
        # month slices hold each stage's own entry month: months with only wins have no MQL row
        ours = {s["key"]: s["stages"][0] for s in result["slices"] if s["stages"][0]["entered"]}
        expected = pandas_waterfall(column)
        assert sorted(ours) == sorted(expected.index), dimension
        for key, row in expected.iterrows():
            mql = ours[key]
            assert (mql["entered"], mql["advanced"]) == (int(row["entered"]), int(row["advanced"])), key
            assert mql["conversion"]["value"] == round(int(row["advanced"]) / int(row["entered"]), 4), key
        totals = result["stages"][0]
        assert (totals["entered"], totals["advanced"]) == (8000, int(expected["advanced"].sum()))
    assert int(pandas_waterfall("origin")["advanced"].sum()) == 841

    # Importing the same files again changes nothing.
    again = import_file("deals", DEALS, "olist-closed-deals.yaml")
    assert (again["created"], again["updated"], again["unchanged"], again["errors"]) == (0, 0, 841, 1)
