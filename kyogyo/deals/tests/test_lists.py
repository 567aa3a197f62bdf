"""The list of deals over HTTP: filters, sorts, bad parameters, assigning an owner to many
deals (with the confirmation and the denials), the export, and a bounded number of queries."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.exports.tests.test_export import assert_safe
from kyogyo.marketing.models import Campaign
from kyogyo.testing import T0


@pytest.fixture
def deals(people, make_contact):
    """Three open deals of fs_rep (one from a campaign), one won deal of is_rep."""
    campaign = Campaign.objects.create(name="Expo 2026")
    stage = PipelineStage.objects.filter(is_won=False, is_lost=False).order_by("order").first()
    won = PipelineStage.objects.filter(is_won=True).first()
    made = []
    for n, amount in enumerate((100_000, 5_000_000, 250_000)):
        contact = make_contact()
        made.append(
            Deal.objects.create(
                name=f"Deal {n}",
                account=contact.account,
                contact=contact,
                amount=amount,
                pipeline_stage=stage,
                owner=people.fs_rep,
                campaign=campaign if n == 0 else None,
                expected_close=dt.date(2026, 6, 30 - n),
                created_at=T0 + dt.timedelta(days=n),
            )
        )
    contact = make_contact()
    made.append(
        Deal.objects.create(
            name="=HYPERLINK(1)",
            account=contact.account,
            contact=contact,
            amount=1,
            pipeline_stage=won,
            status=Deal.Status.WON,
            owner=people.is_rep,
            created_at=T0 + dt.timedelta(days=5),
            closed_at=T0 + dt.timedelta(days=6),
        )
    )
    return made


def names(client, user, **params) -> list[str]:
    client.force_login(user)
    response = client.get("/deals/", params)
    assert response.status_code == 200
    return [d.name for d in response.context["page"].items]


def test_filters_and_sorts(client, people, deals):
    assert names(client, people.is_rep) == ["=HYPERLINK(1)", "Deal 2", "Deal 1", "Deal 0"]
    assert names(client, people.is_rep, status="won") == ["=HYPERLINK(1)"]
    assert names(client, people.is_rep, owner=str(people.fs_rep.pk), sort="amount") == [
        "Deal 1",
        "Deal 2",
        "Deal 0",
    ]
    assert names(client, people.is_rep, team="field_sales", sort="close") == ["Deal 2", "Deal 1", "Deal 0"]
    assert names(client, people.is_rep, campaign=str(deals[0].campaign_id)) == ["Deal 0"]
    assert names(client, people.is_rep, q="deal 1") == ["Deal 1"]
    assert names(client, people.is_rep, created_from="2026-04-07", created_to="2026-04-08") == [
        "Deal 2",
        "Deal 1",
    ]
    assert names(client, people.is_rep, closed_from="2026-04-12") == ["=HYPERLINK(1)"]
    assert names(client, people.is_rep, sort="oldest", per_page="25") == [
        "Deal 0",
        "Deal 1",
        "Deal 2",
        "=HYPERLINK(1)",
    ]


@pytest.mark.parametrize(
    "params", [{"status": "maybe"}, {"campaign": "x"}, {"closed_to": "31/12"}, {"sort": "?"}]
)
def test_bad_parameters_are_said(client, people, deals, params):
    client.force_login(people.is_rep)
    response = client.get("/deals/", params)
    assert response.status_code == 200
    assert response.context["state"].problems
    assert len(response.context["page"].items) == 4


def test_empty_list(client, people):
    client.force_login(people.is_rep)
    assert "There are no deals yet." in client.get("/deals/").content.decode()


@pytest.mark.parametrize("extra", [0, 6])
def test_a_bounded_number_of_queries(
    client, people, deals, make_contact, django_assert_max_num_queries, extra
):
    stage = deals[0].pipeline_stage
    for _ in range(extra):
        contact = make_contact()
        Deal.objects.create(
            name="More", account=contact.account, amount=1, pipeline_stage=stage, created_at=T0
        )
    client.force_login(people.is_rep)
    with django_assert_max_num_queries(10):
        response = client.get("/deals/", {"status": "open"})
    assert len(response.context["page"].items) == 3 + extra


def test_assigning_an_owner_reports_the_deals_one_may_not_edit(client, people, deals):
    client.force_login(people.fs_rep2)  # fs_rep's teammate: may edit fs_rep's deals, not is_rep's
    ids = [str(d.pk) for d in deals]
    fields = {"action": "assign", "owner": str(people.fs_rep2.pk), "ids": ids, "next": "/deals/?status=open"}
    text = client.post("/deals/bulk/", fields).content.decode()
    assert "You selected 4 rows." in text and "You may change 3 of them." in text
    text = client.post("/deals/bulk/", {**fields, "confirmed": "1"}).content.decode()
    assert "Done for 3 rows." in text and "1 row was refused:" in text
    assert 'href="/deals/?status=open"' in text
    assert set(Deal.objects.filter(owner=people.fs_rep2).values_list("pk", flat=True)) == {
        d.pk for d in deals[:3]
    }
    assert Deal.objects.get(pk=deals[3].pk).owner == people.is_rep
    assert Deal.objects.get(pk=deals[0].pk).version == 2  # through update_deal


def test_an_owner_who_cannot_own_deals_is_refused(client, people, deals):
    client.force_login(people.manager)
    fields = {
        "action": "assign",
        "owner": str(people.outsider.pk),
        "ids": [str(deals[0].pk)],
        "confirmed": "1",
    }
    response = client.post("/deals/bulk/", fields, follow=True)
    assert "Choose the new owner from the list." in response.content.decode()


def test_the_export_is_the_filtered_list_without_formulas(client, people, deals):
    client.force_login(people.is_rep)
    response = client.get("/deals/export/", {"format": "xlsx", "status": "won"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert len(rows) == 2 and rows[1][2] == "'=HYPERLINK(1)"
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
            assert_safe(cell.value)
