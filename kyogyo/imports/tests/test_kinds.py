"""Deals, subscriptions, NPS answers and lifecycle history through ``kyogyo import``: each row
through the actions, refusals reported with the action's code, re-runs change nothing."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management.base import CommandError
from django.utils.timezone import localtime

from kyogyo.customers.models import Contact
from kyogyo.deals.models import Deal
from kyogyo.handoffs.models import Handoff
from kyogyo.imports.tests.files import codes, run, write_csv
from kyogyo.journey.models import Milestone, Transition
from kyogyo.ops import invariants
from kyogyo.success.models import NpsResponse, Subscription, SubscriptionChange
from kyogyo.testing import TOKYO


def journey(contact: Contact) -> list[tuple[str, str, str]]:
    """(stage, local time, via) of every transition of the person, in order."""
    rows = Transition.objects.filter(subject=contact).select_related("to_stage").order_by("seq")
    return [(t.to_stage.key, localtime(t.at).strftime("%Y-%m-%d %H:%M"), t.via) for t in rows]


def stages_of(contact: Contact) -> list[str]:
    return [key for key, _, _ in journey(contact)]


def assert_journeys_sound() -> None:
    report = invariants.check()
    assert report.ok, report.violations


# ------------------------------------------------------------------ lifecycle history

LIFECYCLE_HEADER = ["contact_email", "contact_external_id", "stage", "at", "reason", "note"]


def test_lifecycle_history_fills_skipped_stages_and_refuses_impossible_moves(make_contact, tmp_path):
    created = dt.datetime(2026, 1, 5, 9, 0, tzinfo=TOKYO)
    alice = make_contact(email="alice@a.example", at=created)
    bob = make_contact(email="bob@b.example", at=created)
    carol = make_contact(email="carol@c.example", at=created, external_id="crm-3")
    dave = make_contact(email="dave@d.example", at=created)
    rows = [
        ["alice@a.example", "", "sql", "2026-01-20 10:00", "", ""],  # line 2, before her MQL row
        ["alice@a.example", "", "mql", "2026-01-10 10:00", "", ""],  # line 3
        ["bob@b.example", "", "disqualified", "2026-01-08", "competitor", "a rival's employee"],  # 4
        ["", "crm-3", "mql", "2026-01-01", "", ""],  # line 5: before carol's journey began
        ["dave@d.example", "", "won", "2026-02-01 15:00", "", ""],  # line 6: lead → won, all filled
        ["nobody@x.example", "", "mql", "2026-01-10", "", ""],  # line 7
        ["bob@b.example", "", "champion", "2026-01-10", "", ""],  # line 8: no such stage
        ["bob@b.example", "", "won", "2026-01-09", "", ""],  # line 9: disqualified → won
        ["alice@a.example", "", "mql", "2026-01-10 10:00", "", ""],  # line 10: the same as line 3
        ["dave@d.example", "", "mql", "2026-03-01", "", ""],  # line 11: a customer is no MQL again
    ]
    path = write_csv(tmp_path / "history.csv", LIFECYCLE_HEADER, rows)

    result = run("lifecycle", path, "--preset", "generic")

    assert (result["created"], result["unchanged"], result["errors"]) == (4, 0, 6)
    assert codes(result) == [
        (5, "at", "time_backwards"),
        (7, "contact_email", "unknown_contact"),
        (8, "stage", "bad_value"),
        (9, "at", "move_not_allowed"),
        (10, "", "duplicate"),
        (11, "at", "move_not_allowed"),
    ]
    assert journey(alice) == [
        ("lead", "2026-01-05 09:00", "system"),
        ("mql", "2026-01-10 10:00", "import"),
        ("sal", "2026-01-20 10:00", "import"),  # HubSpot-style data has no SAL: passed on the way
        ("sql", "2026-01-20 10:00", "import"),
    ]
    assert stages_of(dave) == ["lead", "mql", "sal", "sql", "opportunity", "won"]
    bob_out = Transition.objects.filter(subject=bob).select_related("reason").last()
    assert (bob_out.reason.key, bob_out.note) == ("competitor", "a rival's employee")
    assert stages_of(carol) == ["lead"]
    # The handoffs the history passed were closed by it; the last one (won → CS) waits.
    alice_handoffs = Handoff.objects.filter(subject=alice).order_by("pk")
    assert [(h.stage.key, h.status) for h in alice_handoffs] == [("mql", "accepted"), ("sql", "open")]
    assert Handoff.objects.get(subject=dave, stage__key="won").status == "open"
    assert_journeys_sound()

    again = run("lifecycle", path, "--preset", "generic")
    assert (again["created"], again["unchanged"], again["errors"]) == (0, 4, 6)
    assert Transition.objects.filter(subject=alice).count() == 4


def test_lifecycle_error_codes(make_contact, tmp_path):
    created = dt.datetime(2026, 1, 5, 9, 0, tzinfo=TOKYO)
    make_contact(email="alice@a.example", at=created)
    rows = [
        ["alice@a.example", "", "mql", "2026-01-10 10:00", "", ""],  # line 2: fine
        ["", "crm-3", "mql", "2026-01-01", "", ""],  # line 3: unknown
        ["alice@a.example", "", "", "2026-01-10", "", ""],  # line 4: no stage
        ["alice@a.example", "", "sql", "someday", "", ""],  # line 5
        ["alice@a.example", "", "nurture", "2026-01-11", "no-such-reason", ""],  # line 6
        ["alice@a.example", "", "nurture", "2026-01-02", "", ""],  # line 7: before she was known
        ["alice@a.example", "", "sql", "2099-01-01", "", ""],  # line 8: ahead of now
    ]
    path = write_csv(tmp_path / "history.csv", LIFECYCLE_HEADER, rows)

    result = run("lifecycle", path, "--preset", "generic")

    assert codes(result) == [
        (3, "contact_external_id", "unknown_contact"),
        (4, "stage", "required"),
        (5, "at", "bad_date"),
        (6, "reason", "bad_value"),
        (7, "at", "time_backwards"),
        (8, "at", "in_future"),
    ]
    assert result["created"] == 1


# ------------------------------------------------------------------ HubSpot lifecycle dates

HUBSPOT_CONTACT_HEADER = [
    "Record ID",
    "First Name",
    "Last Name",
    "Email",
    "Create Date",
    "Lifecycle Stage",
    "Became a Lead Date",
    "Became a Marketing Qualified Lead Date",
    "Became a Sales Qualified Lead Date",
    "Became an Opportunity Date",
    "Became a Customer Date",
]


def test_hubspot_became_dates_become_transitions_in_date_order(defaults, tmp_path):
    rows = [
        # a customer: every date given
        [
            "1",
            "Hanako",
            "Sato",
            "hanako@acme.example",
            "2025-06-02 08:15",
            "customer",
            "2025-06-02 08:15",
            "2025-06-10 09:00",
            "2025-06-20 14:00",
            "2025-06-25 10:00",
            "2025-07-01 11:30",
        ],
        # an MQL whose MQL date is before HubSpot's create date (imported there with history)
        [
            "2",
            "Ken",
            "Ito",
            "ken@ito.example",
            "2025-06-05 10:00",
            "marketingqualifiedlead",
            "",
            "2025-05-30 12:00",
            "",
            "",
            "",
        ],
        # a plain lead: no dates beyond creation
        ["3", "Yui", "Ono", "yui@ono.example", "2025-06-07 10:00", "lead", "", "", "", "", ""],
        # a customer before an SQL: in date order that is won, then back to SQL — refused
        [
            "4",
            "Jo",
            "Abe",
            "jo@abe.example",
            "2025-06-01 10:00",
            "customer",
            "2025-06-01 10:00",
            "",
            "2025-06-20 10:00",
            "",
            "2025-06-05 10:00",
        ],
        # a date HubSpot would never write
        ["5", "Mei", "Kato", "mei@kato.example", "2025-06-01 10:00", "lead", "", "June 3rd", "", "", ""],
    ]
    path = write_csv(tmp_path / "contacts.csv", HUBSPOT_CONTACT_HEADER, rows)

    result = run("contacts", path, "--preset", "hubspot-contacts")

    assert (result["created"], result["errors"]) == (3, 2)
    assert codes(result) == [
        (5, "Became a Sales Qualified Lead Date", "move_not_allowed"),
        (6, "Became a Marketing Qualified Lead Date", "bad_date"),
    ]
    assert not Contact.objects.filter(external_id="hubspot-contact:4").exists()  # a row goes in whole
    hanako = Contact.objects.get(external_id="hubspot-contact:1")
    assert journey(hanako) == [
        ("lead", "2025-06-02 08:15", "import"),
        ("mql", "2025-06-10 09:00", "import"),
        ("sal", "2025-06-20 14:00", "import"),
        ("sql", "2025-06-20 14:00", "import"),
        ("opportunity", "2025-06-25 10:00", "import"),
        ("won", "2025-07-01 11:30", "import"),
    ]
    milestone = Milestone.objects.get(subject=hanako)
    assert milestone.current_stage.key == "won" and set(milestone.first_entered) == {
        "lead",
        "mql",
        "sal",
        "sql",
        "opportunity",
        "won",
    }
    ken = Contact.objects.get(external_id="hubspot-contact:2")
    assert journey(ken) == [("lead", "2025-05-30 12:00", "import"), ("mql", "2025-05-30 12:00", "import")]
    assert localtime(ken.created_at).strftime("%Y-%m-%d %H:%M") == "2025-05-30 12:00"
    yui = Contact.objects.get(external_id="hubspot-contact:3")
    assert journey(yui) == [("lead", "2025-06-07 10:00", "system")]  # a new lead like any other
    assert_journeys_sound()

    again = run("contacts", path, "--preset", "hubspot-contacts")
    assert (again["created"], again["updated"], again["unchanged"], again["errors"]) == (0, 0, 3, 2)
    assert Transition.objects.count() == 6 + 2 + 1


# ------------------------------------------------------------------ deals

DEAL_HEADER = [
    "external_id",
    "name",
    "amount",
    "currency",
    "stage",
    "created_at",
    "closed_at",
    "loss_reason",
    "contact_email",
    "account_name",
]


@pytest.fixture
def buyers(make_contact):
    created = dt.datetime(2026, 1, 5, 9, 0, tzinfo=TOKYO)
    return [make_contact(email=f"buyer{i}@co{i}.example", at=created) for i in range(1, 7)]


def test_deals_qualify_move_win_and_lose_through_the_actions(buyers, tmp_path):
    rows = [
        [
            "D1",
            "Open at proposal",
            "1,200,000",
            "JPY",
            "proposal",
            "2026-02-01",
            "",
            "",
            "buyer1@co1.example",
            "",
        ],
        [
            "D2",
            "Won",
            "¥500,000",
            "",
            "closed_won",
            "2026-02-02",
            "2026-03-15 17:00",
            "",
            "buyer2@co2.example",
            "",
        ],
        [
            "D3",
            "Lost on price",
            "99.50",
            "usd",
            "closed_lost",
            "2026-02-03",
            "2026-03-01",
            "price",
            "buyer3@co3.example",
            "",
        ],
        [
            "D4",
            "Lost, no reason",
            "100",
            "",
            "closed_lost",
            "2026-02-04",
            "2026-03-01",
            "",
            "buyer4@co4.example",
            "",
        ],  # line 5
        ["D5", "Odd stage", "100", "", "won-ish", "2026-02-05", "", "", "buyer5@co5.example", ""],  # 6
        ["D6", "Nobody", "100", "", "discovery", "2026-02-06", "", "", "ghost@x.example", ""],  # 7
        ["D7", "Too precise", "12.345", "JPY", "discovery", "2026-02-07", "", "", "buyer6@co6.example", ""],
        [
            "D8",
            "Won before it began",
            "100",
            "",
            "closed_won",
            "2026-02-08",
            "2026-02-01",
            "",
            "buyer6@co6.example",
            "",
        ],  # line 9
        ["", "No id", "100", "", "discovery", "2026-02-09", "", "", "buyer6@co6.example", ""],  # 10
    ]
    path = write_csv(tmp_path / "deals.csv", DEAL_HEADER, rows)

    result = run("deals", path, "--preset", "generic")

    assert (result["created"], result["errors"]) == (3, 6)
    assert codes(result) == [
        (5, "loss_reason", "required"),
        (6, "stage", "bad_value"),
        (7, "contact_email", "unknown_contact"),
        (8, "amount", "bad_number"),
        (9, "closed_at", "time_backwards"),
        (10, "", "required"),
    ]
    d1, d2, d3 = (Deal.objects.get(external_id=f"D{i}") for i in (1, 2, 3))
    assert (d1.status, d1.pipeline_stage.key, d1.amount, d1.currency) == (
        "open",
        "proposal",
        1_200_000,
        "JPY",
    )
    assert (d2.status, d2.amount, localtime(d2.closed_at).strftime("%Y-%m-%d %H:%M")) == (
        "won",
        500_000,
        "2026-03-15 17:00",
    )
    assert (d3.status, d3.loss_reason.key, d3.amount, d3.currency) == ("lost", "price", 9950, "USD")
    assert stages_of(buyers[0]) == ["lead", "mql", "sal", "sql", "opportunity"]
    assert stages_of(buyers[1]) == ["lead", "mql", "sal", "sql", "opportunity", "won"]
    assert stages_of(buyers[2]) == ["lead", "mql", "sal", "sql", "opportunity", "nurture"]  # price → nurture
    assert stages_of(buyers[3]) == ["lead"]  # the refused rows changed nothing
    assert stages_of(buyers[5]) == ["lead"]
    assert Deal.objects.count() == 3
    assert_journeys_sound()

    again = run("deals", path, "--preset", "generic")
    assert (again["created"], again["updated"], again["unchanged"], again["errors"]) == (0, 0, 3, 6)

    rows[0][4], rows[0][6] = "closed_won", "2026-04-01 10:00"  # D1 is won now
    rows[1][2] = "600,000"  # D2's amount corrected
    rows[2][4] = "negotiation"  # D3 reopened: refused
    later = run("deals", write_csv(tmp_path / "later.csv", DEAL_HEADER, rows), "--preset", "generic")
    assert (later["updated"], later["unchanged"]) == (2, 0)
    assert (4, "stage", "closed") in codes(later)
    d1.refresh_from_db()
    assert (d1.status, stages_of(buyers[0])[-1]) == ("won", "won")
    assert Deal.objects.get(external_id="D2").amount == 600_000


def test_a_deal_for_a_person_whose_history_is_already_past_sql_joins_it(make_contact, tmp_path):
    """Lifecycle first (say from HubSpot's Became-a dates), deals after: the deal does not
    move the journey back or again."""
    customer = make_contact(email="cust@co.example", at=dt.datetime(2026, 1, 5, 9, 0, tzinfo=TOKYO))
    history = write_csv(
        tmp_path / "history.csv",
        LIFECYCLE_HEADER,
        [["cust@co.example", "", "won", "2026-02-01 12:00", "", ""]],
    )
    assert run("lifecycle", history, "--preset", "generic")["created"] == 1
    deals = write_csv(
        tmp_path / "deals.csv",
        DEAL_HEADER,
        [
            [
                "W1",
                "First contract",
                "100",
                "",
                "closed_won",
                "2026-01-20",
                "2026-02-01 12:00",
                "",
                "cust@co.example",
                "",
            ],
            ["W2", "Upsell (open)", "50", "", "proposal", "2026-03-01", "", "", "cust@co.example", ""],
        ],
    )

    result = run("deals", deals, "--preset", "generic")

    assert (result["created"], result["errors"]) == (2, 0)
    assert stages_of(customer) == ["lead", "mql", "sal", "sql", "opportunity", "won"]
    assert Deal.objects.get(external_id="W1").status == "won"
    assert Deal.objects.get(external_id="W2").pipeline_stage.key == "proposal"
    assert_journeys_sound()


def test_deals_found_by_company_only_go_to_its_first_person(make_contact, tmp_path):
    first = make_contact(email="first@acme.example", at=dt.datetime(2026, 1, 5, tzinfo=TOKYO))
    account = first.account
    from kyogyo.customers.actions import create_contact

    create_contact(email="second@acme.example", account=account, at=dt.datetime(2026, 1, 6, tzinfo=TOKYO))
    mapping = tmp_path / "deals.yaml"
    mapping.write_text(
        f"kind: deals\npreset: generic\ncontacts: {{first_of_account: true}}\n"
        f"values: {{account.name: {{'acme': '{account.name}'}}}}\n"
    )
    path = write_csv(
        tmp_path / "deals.csv",
        DEAL_HEADER,
        [
            ["A1", "By company", "100", "", "discovery", "2026-02-01", "", "", "", "acme"],
            ["A2", "Unknown company", "100", "", "discovery", "2026-02-01", "", "", "", "Nowhere KK"],
        ],
    )

    result = run("deals", path, "--mapping", str(mapping))

    assert Deal.objects.get(external_id="A1").contact == first
    assert codes(result) == [(3, "account_name", "unknown_contact")]


def test_salesforce_opportunities_preset(defaults, tmp_path):
    accounts = write_csv(
        tmp_path / "accounts.csv",
        ["Account ID", "Account Name", "Website", "Created Date"],
        [["001A", "Ito Shoji", "itoshoji.example", "1/10/2026"]],
    )
    contacts = write_csv(
        tmp_path / "contacts.csv",
        ["Contact ID", "First Name", "Last Name", "Email", "Account ID", "Created Date"],
        [["003A", "Ken", "Ito", "ken@itoshoji.example", "001A", "1/12/2026"]],
    )
    assert run("accounts", accounts, "--preset", "salesforce-accounts")["created"] == 1
    assert run("contacts", contacts, "--preset", "salesforce-contacts")["created"] == 1
    header = [
        "Opportunity ID",
        "Opportunity Name",
        "Account ID",
        "Account Name",
        "Stage",
        "Amount",
        "Probability (%)",
        "Close Date",
        "Created Date",
    ]
    opportunities = write_csv(
        tmp_path / "opportunities.csv",
        header,
        [
            [
                "006A",
                "Ito Shoji - Core",
                "001A",
                "Ito Shoji",
                "Closed Won",
                "2,400,000",
                "100",
                "3/31/2026",
                "2/1/2026",
            ],
            [
                "006B",
                "Ito Shoji - Add-on",
                "001A",
                "Ito Shoji",
                "Negotiation/Review",
                "300,000",
                "80",
                "5/31/2026",
                "4/2/2026",
            ],
            [
                "006C",
                "Ito Shoji - Pilot",
                "001A",
                "Ito Shoji",
                "Closed Lost",
                "100,000",
                "0",
                "2/28/2026",
                "2/1/2026",
            ],
        ],
    )

    result = run("deals", opportunities, "--preset", "salesforce-opportunities")

    assert (result["created"], result["errors"]) == (3, 0)
    ken = Contact.objects.get(external_id="salesforce:003A")
    core = Deal.objects.get(external_id="salesforce:006A")
    assert (core.contact, core.status, core.amount) == (ken, "won", 2_400_000)
    assert localtime(core.closed_at).strftime("%Y-%m-%d %H:%M") == "2026-03-31 12:00"  # the close date's noon
    addon = Deal.objects.get(external_id="salesforce:006B")
    assert (addon.pipeline_stage.key, addon.probability, str(addon.expected_close)) == (
        "negotiation",
        80,
        "2026-05-31",
    )
    pilot = Deal.objects.get(external_id="salesforce:006C")
    assert (pilot.status, pilot.loss_reason.key) == ("lost", "no_decision")  # the preset's default
    assert stages_of(ken)[-1] == "won"
    assert_journeys_sound()


def test_hubspot_deals_preset(defaults, tmp_path):
    companies = write_csv(
        tmp_path / "companies.csv",
        ["Record ID", "Company name", "Company Domain Name"],
        [["901", "Acme KK", "acme.example"]],
    )
    contacts = write_csv(
        tmp_path / "contacts.csv",
        ["Record ID", "Email", "Associated Company IDs", "Create Date"],
        [["77", "hanako@acme.example", "901", "2025-06-02 08:15"]],
    )
    assert run("accounts", companies, "--preset", "hubspot-companies")["created"] == 1
    assert run("contacts", contacts, "--preset", "hubspot-contacts")["created"] == 1
    deals = write_csv(
        tmp_path / "deals.csv",
        [
            "Record ID",
            "Deal Name",
            "Deal Stage",
            "Amount",
            "Close Date",
            "Create Date",
            "Closed Lost Reason",
            "Associated Company IDs",
            "Associated Contact IDs",
        ],
        [
            [
                "5001",
                "Acme renewal",
                "Contract Sent",
                "1200000",
                "2025-09-30",
                "2025-07-01 10:00",
                "",
                "901",
                "77",
            ],
            [
                "5002",
                "Acme pilot",
                "Closed Lost",
                "300000",
                "2025-08-15",
                "2025-07-02 10:00",
                "Went with the incumbent",
                "901",
                "",
            ],
        ],
    )

    result = run("deals", deals, "--preset", "hubspot-deals")

    assert (result["created"], result["errors"]) == (2, 0)
    renewal = Deal.objects.get(external_id="hubspot-deal:5001")
    assert (renewal.status, renewal.pipeline_stage.key, renewal.contact.email) == (
        "open",
        "negotiation",
        "hanako@acme.example",
    )
    pilot = Deal.objects.get(external_id="hubspot-deal:5002")
    assert (pilot.status, pilot.loss_reason.key, pilot.contact.email) == (
        "lost",
        "no_decision",
        "hanako@acme.example",
    )


def test_dry_run_of_deals_writes_nothing(buyers, tmp_path):
    path = write_csv(
        tmp_path / "deals.csv",
        DEAL_HEADER,
        [["D1", "Won", "100", "", "closed_won", "2026-02-02", "2026-03-15", "", "buyer1@co1.example", ""]],
    )
    result = run("deals", path, "--preset", "generic", "--dry-run")
    assert (result["created"], Deal.objects.count(), Transition.objects.count()) == (1, 0, 6)


# ------------------------------------------------------------------ subscriptions

SUBSCRIPTION_HEADER = [
    "external_id",
    "event",
    "occurred_on",
    "plan",
    "mrr",
    "starts_on",
    "ends_on",
    "account_name",
    "contact_email",
]


def test_subscription_events_move_mrr_and_the_customers_journey(make_contact, tmp_path):
    customer = make_contact(email="cust@co.example", at=dt.datetime(2025, 10, 1, 9, 0, tzinfo=TOKYO))
    company = customer.account.name
    history = write_csv(
        tmp_path / "history.csv", LIFECYCLE_HEADER, [["cust@co.example", "", "active", "2025-12-20", "", ""]]
    )
    assert run("lifecycle", history, "--preset", "generic")["created"] == 1
    email = "cust@co.example"
    rows = [
        ["S1", "start", "", "Pro", "100,000", "2026-01-01", "", company, email],
        ["S1", "change", "2026-03-01", "", "150,000", "", "", "", email],  # expansion
        ["S1", "renew", "2026-06-01", "", "", "", "", "", email],
        ["S1", "change", "2026-07-01", "", "120,000", "", "", "", email],  # contraction
        ["S1", "churn", "2026-09-01", "", "", "", "", "", email],
        ["S2", "", "", "Lite", "30,000", "2026-02-01", "", company, ""],  # a state row
        ["S3", "", "", "Lite", "30,000", "2026-02-01", "2026-05-31", company, ""],  # started and ended
        ["S9", "change", "2026-03-01", "", "1", "", "", "", ""],  # line 9: unknown subscription
        ["S2", "change", "2026-03-01", "", "30,000", "", "", "", ""],  # line 10: the same MRR
        ["S4", "", "", "Lite", "30,000", "", "", company, ""],  # line 11: no start date
        ["S2", "churn", "2026-01-15", "", "", "", "", "", ""],  # line 12: before it started
        ["S2", "upgrade", "2026-03-01", "", "40,000", "", "", "", ""],  # line 13: no such event
    ]
    path = write_csv(tmp_path / "subscriptions.csv", SUBSCRIPTION_HEADER, rows)

    result = run("subscriptions", path, "--preset", "generic")

    assert codes(result) == [
        (9, "external_id", "unknown_subscription"),
        (10, "mrr", "no_change"),
        (11, "starts_on", "required"),
        (12, "occurred_on", "bad_date"),
        (13, "event", "bad_value"),
    ]
    assert (result["created"], result["updated"]) == (3, 4)
    s1 = Subscription.objects.get(external_id="S1")
    assert (s1.status, s1.mrr, str(s1.ends_on)) == ("churned", 0, "2026-09-01")
    changes = [(c.kind, str(c.occurred_on), c.mrr_after) for c in s1.changes.all()]
    assert changes == [
        ("new", "2026-01-01", 100_000),
        ("expansion", "2026-03-01", 150_000),
        ("contraction", "2026-07-01", 120_000),
        ("churn", "2026-09-01", 0),
    ]
    assert stages_of(customer)[-4:] == ["active", "expanded", "renewed", "churned"]
    assert Subscription.objects.get(external_id="S2").status == "active"
    assert Subscription.objects.get(external_id="S3").status == "churned"
    assert_journeys_sound()

    again = run("subscriptions", path, "--preset", "generic")
    assert (again["created"], again["updated"], again["unchanged"], again["errors"]) == (0, 0, 7, 5)
    assert SubscriptionChange.objects.count() == 4 + 1 + 2


# ------------------------------------------------------------------ NPS


def test_nps_answers_once_each(make_contact, tmp_path):
    make_contact(email="a@a.example")
    make_contact(email="b@b.example", external_id="crm-b")
    header = ["contact_email", "contact_external_id", "score", "comment", "answered_at"]
    rows = [
        ["a@a.example", "", "9", "great", "2026-05-01 10:00"],
        ["", "crm-b", "3", "slow support", "2026-05-02 10:00"],
        ["a@a.example", "", "11", "", "2026-05-03 10:00"],  # line 4
        ["x@x.example", "", "7", "", "2026-05-03 10:00"],  # line 5
        ["a@a.example", "", "8", "", "2099-01-01"],  # line 6
        ["a@a.example", "", "9", "again", "2026-05-01 10:00"],  # line 7: same person and time
        ["b@b.example", "", "", "", "2026-05-04"],  # line 8: no score
    ]
    path = write_csv(tmp_path / "nps.csv", header, rows)

    result = run("nps", path, "--preset", "generic")

    assert codes(result) == [
        (4, "score", "bad_number"),
        (5, "contact_email", "unknown_contact"),
        (6, "answered_at", "in_future"),
        (7, "", "duplicate"),
        (8, "score", "required"),
    ]
    assert sorted(NpsResponse.objects.values_list("score", flat=True)) == [3, 9]
    assert (run("nps", path, "--preset", "generic")["unchanged"], NpsResponse.objects.count()) == (2, 2)
    rows[1][2] = "4"  # the same answer with another score: a conflict, not a silent change
    changed = run("nps", write_csv(tmp_path / "changed.csv", header, rows), "--preset", "generic")
    assert (3, "score", "conflict") in codes(changed)


# ------------------------------------------------------------------ mapping checks


def test_mapping_errors_for_the_new_kinds(defaults, tmp_path):
    path = write_csv(tmp_path / "c.csv", ["Email", "MQL"], [["a@a.example", "2026-01-01"]])
    mapping = tmp_path / "m.json"
    mapping.write_text(
        json.dumps({"kind": "contacts", "columns": {"Email": "email", "MQL": "lifecycle.champion"}})
    )
    with pytest.raises(CommandError, match=r"lifecycle\.champion: no such stage"):
        run("contacts", path, "--mapping", str(mapping))
    mapping.write_text(
        json.dumps({"kind": "deals", "columns": {"Email": "contact.email"}, "match": ["name"]})
    )
    with pytest.raises(CommandError, match="always matched by their own key"):
        run("deals", path, "--mapping", str(mapping))
    mapping.write_text(json.dumps({"kind": "deals", "columns": {"Email": "contact.email"}, "amount": "x"}))
    with pytest.raises(CommandError, match="unknown option"):
        run("deals", path, "--mapping", str(mapping))
    mapping.write_text(json.dumps({"kind": "deals", "preset": "pipedrive", "columns": {}}))
    with pytest.raises(CommandError, match="no preset 'pipedrive' for deals"):
        run("deals", path, "--mapping", str(mapping))


def test_a_mapping_file_extends_a_preset(tmp_path):
    from kyogyo.imports.mappings import load_mapping

    path = tmp_path / "mine.yaml"
    path.write_text(
        "kind: deals\npreset: salesforce-opportunities\n"
        "columns: {Loss Reason: loss_reason, Probability: null}\n"
        "values: {stage: {Verbal Yes: negotiation}, loss_reason: {Lost to Competitor: competitor_chosen}}\n"
        "defaults: {currency: USD, loss_reason: null}\n"
    )

    mapping = load_mapping("deals", path=path)

    assert mapping.columns["Loss Reason"] == ["loss_reason"] and "Probability" not in mapping.columns
    assert mapping.columns["Opportunity ID"] == ["external_id"]  # the preset's own columns stay
    assert mapping.values["stage"]["verbal yes"] == "negotiation"
    assert mapping.values["stage"]["closed won"] == "closed_won"
    assert mapping.defaults == {"currency": "USD"}
    assert mapping.first_of_account and mapping.prefix["external_id"] == "salesforce:"


def test_a_file_without_stages_edits_closed_deals_without_reopening_them(buyers, tmp_path):
    path = write_csv(
        tmp_path / "deals.csv",
        DEAL_HEADER,
        [["D1", "Won", "100", "", "closed_won", "2026-02-02", "2026-03-15", "", "buyer1@co1.example", ""]],
    )
    assert run("deals", path, "--preset", "generic")["created"] == 1
    amounts = write_csv(tmp_path / "amounts.csv", ["external_id", "amount"], [["D1", "120"]])

    result = run("deals", amounts, "--preset", "generic")

    assert (result["updated"], result["errors"]) == (1, 0)
    won = Deal.objects.get(external_id="D1")
    assert (won.status, won.amount) == ("won", 120)


def test_deals_closed_or_qualified_ahead_of_now_are_broken_rows(buyers, tmp_path):
    path = write_csv(
        tmp_path / "deals.csv",
        DEAL_HEADER,
        [
            [
                "F1",
                "Won next year",
                "100",
                "",
                "closed_won",
                "2026-02-02",
                "2099-03-15",
                "",
                "buyer1@co1.example",
                "",
            ],
            ["F2", "Made up", "100", "", "discovery", "2099-02-02", "", "", "buyer2@co2.example", ""],
            ["F3", "Open, closing ahead", "100", "", "proposal", "", "", "", "buyer3@co3.example", ""],
        ],
    )

    result = run("deals", path, "--preset", "generic")

    assert codes(result) == [(2, "closed_at", "in_future"), (3, "created_at", "in_future")]
    assert list(Deal.objects.values_list("external_id", flat=True)) == ["F3"]
