"""The waterfall on real third-party data (Olist's marketing funnel, ../shared/datasets):
8,000 MQLs, 842 of them won. The MQL → won waterfall by origin and by first-contact month
must equal an independent pandas computation exactly.

Until the importer exists, ``load_olist`` writes the journeys the way an import of
lifecycle history will: one person per MQL (source = origin), entering MQL on the first
contact date and won on the won date, as ``import`` transitions with their milestones. A
deal won before its lead's first contact is refused (a journey's time cannot go
backwards), as the importer will refuse it."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from kyogyo.analytics.metrics import waterfall
from kyogyo.analytics.spec import Spec

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
TOKYO = ZoneInfo("Asia/Tokyo")

pytestmark = pytest.mark.skipif(not MQLS.exists(), reason="the Olist data set is not beside the project")


def load_olist() -> dict[str, int]:
    """Write the Olist MQLs and wins as journeys; returns counts of what was written/refused."""
    from kyogyo.customers.models import Contact
    from kyogyo.journey.models import Milestone, Stage, Transition

    stage_ids = dict(Stage.objects.values_list("key", "id"))
    with DEALS.open(newline="", encoding="utf-8") as handle:
        won_at = {
            row["mql_id"]: dt.datetime.strptime(row["won_date"], "%d-%m-%Y %H:%M").replace(tzinfo=TOKYO)
            for row in csv.DictReader(handle)
        }
    contacts, journeys, refused = [], [], 0
    with MQLS.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            first = dt.datetime.strptime(row["first_contact_date"], "%d-%m-%Y").replace(tzinfo=TOKYO)
            steps = [("mql", first)]
            won = won_at.get(row["mql_id"])
            if won is not None and won >= first:
                steps.append(("won", won))
            elif won is not None:
                refused += 1
            contacts.append(Contact(external_id=row["mql_id"], source=row["origin"], created_at=first))
            journeys.append(steps)
    Contact.objects.bulk_create(contacts, batch_size=2000)
    ids = dict(Contact.objects.filter(external_id__isnull=False).values_list("external_id", "id"))
    transitions, milestones = [], []
    for contact, steps in zip(contacts, journeys, strict=True):
        subject_id = ids[contact.external_id]
        previous, last_hash = None, ""
        for seq, (key, at) in enumerate(steps, start=1):
            last_hash = hashlib.md5(f"{last_hash}|{subject_id}|{seq}|{key}|{at}".encode()).hexdigest()
            transitions.append(
                Transition(
                    subject_id=subject_id,
                    seq=seq,
                    from_stage_id=previous,
                    to_stage_id=stage_ids[key],
                    at=at,
                    via=Transition.Via.IMPORT,
                    hash=last_hash,
                )
            )
            previous = stage_ids[key]
        milestones.append(
            Milestone(
                subject_id=subject_id,
                current_stage_id=previous,
                current_since=steps[-1][1],
                first_entered={k: at.astimezone(dt.UTC).isoformat() for k, at in steps},
                entries={k: 1 for k, _ in steps},
                transition_count=len(steps),
                last_hash=last_hash,
            )
        )
    Transition.objects.bulk_create(transitions, batch_size=2000)
    Milestone.objects.bulk_create(milestones, batch_size=2000)
    return {"people": len(contacts), "won": sum(len(s) == 2 for s in journeys), "refused": refused}


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


@pytest.fixture
def olist(defaults, analytics):
    counts = load_olist()
    return counts, analytics()


def test_the_olist_data_loads_with_the_one_backwards_win_refused(olist):
    counts, _ = olist
    assert counts == {"people": 8000, "won": 841, "refused": 1}


@pytest.mark.parametrize(("dimension", "column"), [("source", "origin"), ("month", "month")])
def test_mql_to_won_by_origin_and_month_matches_pandas(olist, dimension, column):
    _, context = olist
    result = waterfall.compute(context, Spec(by=(dimension,), options={"stages": ["mql", "won"]})).as_dict()
    # month slices hold each stage's own entry month: months with only wins have no MQL row
    ours = {s["key"]: s["stages"][0] for s in result["slices"] if s["stages"][0]["entered"]}
    expected = pandas_waterfall(column)
    assert sorted(ours) == sorted(expected.index)
    for key, row in expected.iterrows():
        mql = ours[key]
        assert (mql["entered"], mql["advanced"]) == (int(row["entered"]), int(row["advanced"])), key
        assert mql["conversion"]["value"] == round(int(row["advanced"]) / int(row["entered"]), 4), key
    totals = result["stages"][0]
    assert (totals["entered"], totals["advanced"]) == (8000, int(expected["advanced"].sum()))
