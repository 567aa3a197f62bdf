"""The lists of people and companies over HTTP: filters, sorts, pages, bad parameters said
plainly, bulk actions with their confirmation and denials, exports read back, and a bounded
number of queries whatever the number of rows."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from kyogyo.customers.models import Contact
from kyogyo.exports.tests.test_export import assert_safe
from kyogyo.journey.models import Milestone, ReasonCode
from kyogyo.testing import T0


@pytest.fixture
def crowd(people, make_contact, walk):
    """Six people: three leads owned by the marketer, two MQLs, one disqualified."""
    made = []
    for n in range(3):
        made.append(
            make_contact(first_name="Hanako", last_name=f"Yamada{n}", owner=people.marketer, source="web")
        )
    for n in range(2):
        contact = make_contact(first_name="Taro", last_name=f"Suzuki{n}", source="event")
        walk(contact, [("mql", T0 + dt.timedelta(hours=1))])
        made.append(contact)
    lost = make_contact(first_name="Jiro", last_name="Sato", email="jiro@sato.example.jp")
    walk(lost, [("disqualified", T0 + dt.timedelta(hours=2))])
    made.append(lost)
    return made


def page(client, user, path, **params):
    client.force_login(user)
    return client.get(path, params)


def names(response) -> list[str]:
    return [c.last_name for c in response.context["page"].items]


def test_the_list_shows_everyone_newest_first(client, people, crowd):
    response = page(client, people.is_rep, "/people/")
    assert response.status_code == 200
    assert names(response) == [c.last_name for c in reversed(crowd)]
    assert b'href="/people/%d/"' % crowd[0].pk in response.content


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"stage": "mql"}, {"Suzuki0", "Suzuki1"}),
        ({"classification": "never"}, {"Sato"}),
        ({"classification": "later"}, {"Yamada0", "Yamada1", "Yamada2"}),
        ({"source": "event"}, {"Suzuki0", "Suzuki1"}),
        ({"q": "yama"}, {"Yamada0", "Yamada1", "Yamada2"}),
        ({"q": "jiro@"}, {"Sato"}),
        ({"q": "suzuki1 taro"}, {"Suzuki1"}),
        ({"owner": "none", "stage": "mql"}, {"Suzuki0", "Suzuki1"}),
        ({"team": "marketing"}, {"Yamada0", "Yamada1", "Yamada2", "Suzuki0", "Suzuki1"}),
        ({"created_from": "2026-04-06", "created_to": "2026-04-06"}, None),
        ({"created_from": "2026-04-07"}, set()),
    ],
)
def test_filters(client, people, crowd, params, expected):
    response = page(client, people.is_rep, "/people/", **params)
    assert response.status_code == 200
    assert response.context["state"].problems == []
    if expected is None:
        expected = {c.last_name for c in crowd}
    assert set(names(response)) == expected


def test_owner_filter_and_sorts(client, people, crowd):
    response = page(client, people.is_rep, "/people/", owner=str(people.marketer.pk), sort="name")
    assert names(response) == ["Yamada0", "Yamada1", "Yamada2"]
    response = page(client, people.is_rep, "/people/", sort="oldest")
    assert names(response)[0] == "Yamada0"
    Contact.objects.filter(pk=crowd[4].pk).update(last_activity_at=timezone.now())
    response = page(client, people.is_rep, "/people/", sort="active")
    assert names(response)[0] == "Suzuki1"


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"stage": "nowhere"}, "is not one of the choices"),
        ({"created_from": "yesterday"}, "is not a date"),
        ({"owner": "999999"}, "is not one of the choices"),
        ({"sort": "sideways"}, "Unknown sort order"),
        ({"per_page": "7"}, "25, 50 or 100"),
        ({"q": "x" * 101}, "at most 100 characters"),
    ],
)
def test_bad_parameters_are_said_not_crashed(client, people, crowd, params, said):
    response = page(client, people.is_rep, "/people/", **params)
    assert response.status_code == 200
    assert said in response.content.decode()
    assert len(names(response)) == len(crowd)  # the bad filter is left out


def test_pages_without_counting(client, people, crowd):
    response = page(client, people.is_rep, "/people/", per_page="25")
    assert not response.context["page"].has_next
    first = page(client, people.is_rep, "/people/", page="abc")
    assert first.context["page"].number == 1


def test_paging_walks_the_list(client, people, make_contact):
    for n in range(30):
        make_contact(last_name=f"P{n:02}")
    response = page(client, people.is_rep, "/people/", per_page="25", sort="oldest")
    assert response.context["page"].has_next and len(names(response)) == 25
    response = page(client, people.is_rep, "/people/", per_page="25", sort="oldest", page="2")
    assert names(response) == ["P25", "P26", "P27", "P28", "P29"]
    assert 'rel="prev"' in response.content.decode()


def test_empty_states(client, people):
    response = page(client, people.is_rep, "/people/")
    assert "There is no one here yet." in response.content.decode()
    response = page(client, people.is_rep, "/people/", stage="mql")
    assert "No one matches these filters." in response.content.decode()


@pytest.mark.parametrize("size", [3, 9])
def test_the_people_list_reads_a_bounded_number_of_queries(
    client, people, make_contact, walk, django_assert_max_num_queries, size
):
    for _n in range(size):
        contact = make_contact(owner=people.marketer)
        walk(contact, [("mql", T0 + dt.timedelta(hours=1))])
    client.force_login(people.is_rep)
    # two of them look up the stages' ids: the list filters its milestones by id (below);
    # one reads the restricted fields
    with django_assert_max_num_queries(15):
        response = client.get("/people/", {"stage": "mql", "classification": "now"})
    assert len(response.context["page"].items) == size


@pytest.mark.parametrize(
    ("params", "joined"),
    [
        ({"stage": "mql"}, {"milestone__current_stage__key": "mql"}),
        ({"team": "marketing"}, {"milestone__current_stage__team__key": "marketing"}),
    ],
)
def test_the_stage_filters_compare_the_milestones_stage_id(
    client, people, make_contact, walk, params, joined
):
    """Filtered by the stages' ids, not through a join on the key: PostgreSQL then knows from
    its statistics how many people each stage holds (a join on the key hid that, and at
    1,000,000 people it read everyone to find the one in MQL). The same people either way."""
    walk(make_contact(), [("mql", T0 + dt.timedelta(hours=1))])
    walk(make_contact(), [("mql", T0 + dt.timedelta(hours=1)), ("sal", T0 + dt.timedelta(hours=2))])
    make_contact()
    client.force_login(people.is_rep)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/people/", params)
    listed = [q["sql"] for q in queries.captured_queries if 'FROM "customers_contact"' in q["sql"]]
    assert len(listed) == 1
    where = listed[0].split(" WHERE ", 1)[1]
    assert where.startswith('"journey_milestone"."current_stage_id" IN (')
    assert '"journey_stage"' not in where
    expected = set(Contact.objects.filter(**joined).values_list("pk", flat=True))
    assert expected and {c.pk for c in response.context["page"].items} == expected


def test_the_companies_list_reads_a_bounded_number_of_queries(
    client, people, make_contact, django_assert_max_num_queries
):
    for _ in range(8):
        make_contact()
    client.force_login(people.is_rep)
    with django_assert_max_num_queries(8):
        response = client.get("/companies/", {"kind": "prospect"})
    assert len(response.context["page"].items) == 8


def test_companies_filter_search_and_sort(client, people, make_contact):
    first = make_contact()
    second = make_contact(kind="customer")
    first.account.segment = "enterprise"
    first.account.save()
    response = page(client, people.is_rep, "/companies/", segment="enterprise")
    assert [a.pk for a in response.context["page"].items] == [first.account_id]
    response = page(client, people.is_rep, "/companies/", kind="customer")
    assert [a.pk for a in response.context["page"].items] == [second.account_id]
    response = page(client, people.is_rep, "/companies/", q="COMPANY2.")  # domain prefix, any case
    assert [a.pk for a in response.context["page"].items] == [second.account_id]
    response = page(client, people.is_rep, "/companies/", sort="newest")
    assert [a.pk for a in response.context["page"].items] == [second.account_id, first.account_id]
    response = page(client, people.is_rep, "/companies/", kind="martian")
    assert "is not one of the choices" in response.content.decode()


# --- bulk actions ---------------------------------------------------------------------------


def bulk(client, user, ids, **fields):
    client.force_login(user)
    return client.post("/people/bulk/", {"ids": [str(i) for i in ids], "next": "/people/", **fields})


def test_assigning_an_owner_asks_first_and_counts_on_the_server(client, people, crowd):
    leads = [c.pk for c in crowd[:3]]
    mqls = [c.pk for c in crowd[3:5]]
    Contact.objects.filter(pk__in=leads).update(owner=people.csm)  # the CSM may change their own only
    response = bulk(client, people.csm, leads + mqls, action="assign", owner=str(people.is_rep.pk))
    assert response.status_code == 200
    text = response.content.decode()
    assert "You selected 5 rows." in text and "You may change 3 of them." in text
    assert "Suzuki0" in text  # the rows the marketer may not change are named
    assert 'data-confirm="Apply to 5 rows?"' in text
    assert Contact.objects.filter(owner=people.is_rep).count() == 0  # nothing done yet
    response = bulk(
        client, people.csm, leads + mqls, action="assign", owner=str(people.is_rep.pk), confirmed="1"
    )
    text = response.content.decode()
    assert "Done for 3 rows." in text
    assert "2 rows were refused:" in text and "Your role does not allow this." in text
    assert set(Contact.objects.filter(owner=people.is_rep).values_list("pk", flat=True)) == set(leads)


def test_a_manager_unassigns_everyone(client, people, crowd):
    response = bulk(
        client, people.manager, [c.pk for c in crowd], action="assign", owner="none", confirmed="1"
    )
    assert "Done for 6 rows." in response.content.decode()
    assert not Contact.objects.filter(owner__isnull=False).exists()


def test_classifying_never_needs_a_reason_and_goes_through_the_journey(client, people, crowd):
    leads = [c.pk for c in crowd[:2]]
    response = bulk(client, people.marketer, leads, action="classify", verdict="never")
    assert response.status_code == 302  # back to the list, with the message
    assert "needs a reason" in str(next(iter(response.wsgi_request._messages)))
    reason = ReasonCode.objects.filter(kind=ReasonCode.Kind.DISQUALIFY, active=True).first()
    response = bulk(client, people.marketer, leads, action="classify", verdict="never", reason=reason.key)
    assert 'Classify as: <strong translate="no">Never (' in response.content.decode()
    response = bulk(
        client, people.marketer, leads, action="classify", verdict="never", reason=reason.key, confirmed="1"
    )
    assert "Done for 2 rows." in response.content.decode()
    stages = Milestone.objects.filter(subject_id__in=leads).values_list("current_stage__key", flat=True)
    assert set(stages) == {"disqualified"}


def test_a_refused_move_is_reported_per_row(client, people, crowd):
    lost = crowd[5]  # disqualified: "now" is no move the journey allows from there
    response = bulk(
        client, people.manager, [crowd[0].pk, lost.pk], action="classify", verdict="now", confirmed="1"
    )
    text = response.content.decode()
    assert "Done for 1 row." in text and "1 row was refused:" in text and "Sato" in text


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"action": "assign"}, "Select at least one row first."),
        ({"action": "fly", "ids": ["1"]}, "Choose one of the listed actions."),
        ({"action": "assign", "ids": ["1"], "owner": "abc"}, "Choose the new owner from the list."),
        ({"action": "assign", "ids": [str(n) for n in range(1, 103)]}, "at most 100 rows"),
    ],
)
def test_bad_bulk_posts_are_said(client, people, crowd, fields, said):
    client.force_login(people.manager)
    response = client.post("/people/bulk/", fields, follow=True)
    assert said in response.content.decode()


def test_an_outsider_cannot_post_bulk_actions(client, people, crowd):
    response = bulk(client, people.outsider, [crowd[0].pk], action="assign", owner="none", confirmed="1")
    assert response.status_code == 403
    assert Contact.objects.get(pk=crowd[0].pk).owner == people.marketer


# --- exports --------------------------------------------------------------------------------


@pytest.fixture
def poisoned(people, make_contact):
    return [
        make_contact(first_name=payload, last_name="Formula", source="event")
        for payload in ("=1+1", "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", "\uff1d1")
    ]


def read_csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_export_is_the_filtered_list_with_formulas_neutralised(
    client, people, poisoned, make_contact
):
    make_contact(first_name="Other", source="web")
    client.force_login(people.is_rep)
    response = client.get("/people/export/", {"source": "event", "format": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    rows = read_csv(response)
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "external_id", "email"]
    assert len(body) == len(poisoned)
    first_names = [row[header.index("first_name")] for row in body]
    assert all(name.startswith("'") for name in first_names)
    for row in body:
        for cell in row:
            assert_safe(cell)


def test_the_xlsx_export_has_no_formula_cell(client, people, poisoned):
    client.force_login(people.is_rep)
    response = client.get("/people/export/", {"format": "xlsx", "sort": "oldest"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows())
    assert len(rows) == len(poisoned) + 1
    for row in rows:
        for cell in row:
            assert cell.data_type != "f"
            assert_safe(cell.value)


def test_exporting_the_selection_and_bad_formats(client, people, poisoned):
    client.force_login(people.is_rep)
    response = client.post("/people/bulk/", {"action": "export_csv", "ids": [str(poisoned[1].pk)]})
    assert len(read_csv(response)) == 2
    assert client.get("/people/export/", {"format": "pdf"}).status_code == 400
    response = client.get("/companies/export/", {"format": "csv", "kind": "prospect"})
    assert len(read_csv(response)) == len(poisoned) + 1


def test_the_way_back_stays_on_this_site(client, people, crowd):
    client.force_login(people.manager)
    response = client.post("/people/bulk/", {"action": "assign", "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/people/"
    response = client.post(
        "/people/bulk/",
        {"action": "assign", "owner": "none", "ids": [str(crowd[0].pk)], "next": "//evil.example"},
    )
    assert 'href="/people/"' in response.content.decode()
