"""The pipeline board and the deal page over HTTP: totals and stalled flags with numbers to
check by hand, filters, bounded columns, moves (allowed, refused with the reason in the
reader's language), win and lose, the conflict of two people saving one deal, and query
counts that do not grow with the number of deals."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from kyogyo.deals import board
from kyogyo.deals.actions import lose_deal, move_deal, win_deal
from kyogyo.deals.board_forms import BoardFilterForm
from kyogyo.deals.models import Deal, DealMove, PipelineStage
from kyogyo.journey.models import Milestone, ReasonCode
from kyogyo.org.models import Team

JSON = {"HTTP_ACCEPT": "application/json"}


def stage(key: str) -> PipelineStage:
    return PipelineStage.objects.get(key=key)


def signed_in(user, language: str = "en") -> Client:
    user.language = language
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = language
    return client


def column(result: board.Board, key: str) -> board.Column:
    return next(c for c in result.columns if c.stage.key == key)


# --- totals, stalled, filters ---------------------------------------------------------------


@pytest.fixture
def four_deals(deal_in, people):
    """Discovery (stalled after 14 days): ¥1,000,000 for 20 days (stalled), ¥2,500,000 for 3
    days, ¥500,000 for 15 days (stalled). Proposal (stalled after 21 days): ¥3,000,000 for 20
    days. One won 2 days ago (¥700,000), one lost 40 days ago (outside the 30-day summary)."""
    PipelineStage.objects.filter(key="discovery").update(stall_days=14)
    PipelineStage.objects.filter(key="proposal").update(stall_days=21)
    deals = {
        "a": deal_in("discovery", amount=1_000_000, days=20, name="A", owner=people.fs_rep),
        "b": deal_in("discovery", amount=2_500_000, days=3, name="B", owner=people.fs_rep2),
        "c": deal_in("discovery", amount=500_000, days=15, name="C", owner=people.fs_rep, employees=20),
        "d": deal_in("proposal", amount=3_000_000, days=20, name="D", owner=people.fs_rep),
    }
    won = deal_in("negotiation", amount=700_000, days=3, name="Won")
    win_deal(won, actor=won.owner, at=timezone.now() - dt.timedelta(days=2))
    lost = deal_in("negotiation", amount=9_000_000, days=41, name="Lost long ago")
    lose_deal(
        lost,
        actor=lost.owner,
        reason=ReasonCode.objects.get(kind="loss", key="price"),
        at=timezone.now() - dt.timedelta(days=40),
    )
    return deals


def test_totals_per_column_and_stalled_flags(people, four_deals):
    result = board.board(people.fs_rep, board.Filters(), timezone.now())
    discovery = column(result, "discovery")
    assert (discovery.count, discovery.amount, discovery.stalled) == (3, 4_000_000, 2)
    # longest in the stage first
    assert [c.deal.name for c in discovery.cards] == ["A", "C", "B"]
    assert [(c.days_in_stage, c.stalled) for c in discovery.cards] == [(20, True), (15, True), (3, False)]
    proposal = column(result, "proposal")
    assert (proposal.count, proposal.amount, proposal.stalled) == (1, 3_000_000, 0)
    assert (column(result, "solution").count, column(result, "negotiation").count) == (0, 0)
    assert result.won is not None and (result.won.count, result.won.amount) == (1, 700_000)
    assert result.lost is not None and (result.lost.count, result.lost.amount) == (0, 0)


def test_the_board_page_shows_the_totals(people, four_deals):
    html = signed_in(people.fs_rep).get("/pipeline/").content.decode()
    assert "¥4,000,000" in html and "¥3,000,000" in html and "¥700,000" in html
    assert html.count('class="deal-card stalled"') == 2
    assert "20 days in stage" in html and "3 days in stage" in html


def test_filters_by_owner_team_and_company_size(people, four_deals):
    def discovery_total(**query) -> tuple[int, int]:
        filters = BoardFilterForm(query).filters()
        got = column(board.board(people.fs_rep, filters, timezone.now()), "discovery")
        return got.count, got.amount

    assert discovery_total(owner=str(people.fs_rep.pk)) == (2, 1_500_000)
    assert discovery_total(owner=str(people.fs_rep2.pk)) == (1, 2_500_000)
    field_sales = Team.objects.get(key=Team.FIELD_SALES)
    assert discovery_total(team=str(field_sales.pk)) == (3, 4_000_000)
    assert discovery_total(team=str(Team.objects.get(key=Team.MARKETING).pk)) == (0, 0)
    assert discovery_total(segment="0") == (1, 500_000)  # fewer than 50 employees: C
    assert discovery_total(segment="2") == (2, 3_500_000)  # 300–999: A and B
    assert discovery_total(owner="999999", segment="x") == (3, 4_000_000)  # bad values are ignored
    html = signed_in(people.fs_rep).get("/pipeline/", {"owner": people.fs_rep2.pk}).content.decode()
    assert "¥2,500,000" in html and ">A<" not in html


def test_a_column_shows_a_bounded_number_of_cards_and_a_more_link(people, deal_in, settings):
    for n in range(board.CARDS_PER_COLUMN + 2):
        deal_in("solution", amount=100, days=n, name=f"Deal {n}")
    client = signed_in(people.fs_rep)
    html = client.get("/pipeline/").content.decode()
    assert html.count('<li class="deal-card') == board.CARDS_PER_COLUMN
    assert "?stage=solution" in html and "See all 22 deals of this stage" in html
    alone = client.get("/pipeline/", {"stage": "solution"}).content.decode()
    assert alone.count('<li class="deal-card') == 22


def test_the_board_costs_the_same_queries_for_many_deals(people, deal_in, django_assert_max_num_queries):
    client = signed_in(people.fs_rep)
    for n in range(3):
        deal_in(["discovery", "proposal", "negotiation"][n], days=n)
    with django_assert_max_num_queries(15) as few:  # one reads the restricted fields
        assert client.get("/pipeline/").status_code == 200
    for n in range(30):
        deal_in(["discovery", "solution", "proposal", "negotiation"][n % 4], days=n, owner=people.fs_rep2)
    with django_assert_max_num_queries(len(few.captured_queries) + 1):
        assert client.get("/pipeline/").status_code == 200


def test_an_empty_board_says_so(people):
    html = signed_in(people.fs_rep).get("/pipeline/").content.decode()
    assert html.count("No open deals in this stage.") == 4


def test_people_outside_the_teams_cannot_see_the_board(people):
    assert signed_in(people.outsider).get("/pipeline/").status_code == 403


# --- moves ------------------------------------------------------------------------------------


def test_a_move_from_the_board_answers_the_new_totals(people, four_deals):
    deal = four_deals["b"]
    client = signed_in(people.fs_rep)
    answer = client.post(
        f"/deals/{deal.pk}/move", {"stage": "proposal", "version": deal.version, "board_query": ""}, **JSON
    )
    assert answer.status_code == 200
    body = answer.json()
    assert (body["ok"], body["stage"], body["version"]) == (True, "proposal", deal.version + 1)
    assert body["columns"]["discovery"] == {"count": "2", "amount": "¥1,500,000", "stalled": "2"}
    assert body["columns"]["proposal"] == {"count": "2", "amount": "¥5,500,000", "stalled": "0"}
    assert body["days"] == "0 days in stage"
    moved = Deal.objects.get(pk=deal.pk)
    assert moved.pipeline_stage.key == "proposal"
    assert moved.stage_changed_at is not None
    assert timezone.now() - moved.stage_changed_at < dt.timedelta(minutes=1)
    step = DealMove.objects.get(deal=deal)
    assert (step.from_stage.key, step.to_stage.key, step.actor) == ("discovery", "proposal", people.fs_rep)


def test_the_totals_follow_the_boards_filters(people, four_deals):
    deal = four_deals["a"]
    answer = signed_in(people.fs_rep).post(
        f"/deals/{deal.pk}/move",
        {"stage": "solution", "board_query": f"?owner={people.fs_rep.pk}"},
        **JSON,
    )
    assert answer.json()["columns"]["discovery"]["amount"] == "¥500,000"  # C only: B is fs_rep2's


def test_a_stale_move_is_refused_and_nothing_changes(people, four_deals):
    deal = four_deals["b"]
    move_deal(deal, stage("solution"), actor=people.fs_rep2)  # someone else, meanwhile
    answer = signed_in(people.fs_rep, "ja").post(
        f"/deals/{deal.pk}/move", {"stage": "proposal", "version": deal.version}, **JSON
    )
    assert answer.status_code == 409
    body = answer.json()
    assert (body["ok"], body["code"]) == (False, "conflict")
    assert "変更" in body["message"]  # said in the reader's language
    assert Deal.objects.get(pk=deal.pk).pipeline_stage.key == "solution"


def test_a_win_the_journey_refuses_comes_back_with_the_reason(people, deal_in):
    deal = deal_in("negotiation", accepted=False)  # Field Sales has not accepted the handoff
    answer = signed_in(people.fs_rep).post(f"/deals/{deal.pk}/win", {"version": deal.version}, **JSON)
    assert answer.status_code == 409
    assert answer.json() == {
        "ok": False,
        "code": "handoff_open",
        "message": "This person waits on an open handoff; accept or reject it first.",
    }
    assert Deal.objects.get(pk=deal.pk).status == Deal.Status.OPEN


def test_moving_to_won_by_menu_leads_to_the_win_form(people, deal_in):
    deal = deal_in("proposal")
    client = signed_in(people.fs_rep)
    plain = client.post(f"/deals/{deal.pk}/move", {"stage": "closed_won"})
    assert plain.status_code == 302 and plain["Location"] == f"/deals/{deal.pk}/#close"
    scripted = client.post(f"/deals/{deal.pk}/move", {"stage": "closed_won"}, **JSON)
    assert scripted.status_code == 409 and scripted.json()["code"] == "use_win_or_lose"
    unknown = client.post(f"/deals/{deal.pk}/move", {"stage": "nowhere"}, **JSON)
    assert unknown.status_code == 409 and unknown.json()["code"] == "unknown_stage"


def test_a_plain_move_goes_back_to_the_board_with_a_message(people, deal_in):
    deal = deal_in("proposal", name="Big one")
    client = signed_in(people.fs_rep)
    answer = client.post(
        f"/deals/{deal.pk}/move", {"stage": "negotiation", "next": "/pipeline/?owner="}, follow=True
    )
    assert answer.redirect_chain[-1][0] == "/pipeline/?owner="
    assert "The deal moved to Negotiation." in answer.content.decode()
    evil = client.post(f"/deals/{deal.pk}/move", {"stage": "proposal", "next": "https://evil.example/"})
    assert evil["Location"] == f"/deals/{deal.pk}/"


def test_only_the_owning_team_and_managers_change_a_deal(people, deal_in):
    deal = deal_in("proposal")
    for user in (people.is_rep, people.marketer, people.csm):
        assert signed_in(user).post(f"/deals/{deal.pk}/move", {"stage": "negotiation"}).status_code == 403
    assert (
        signed_in(people.manager).post(f"/deals/{deal.pk}/move", {"stage": "negotiation"}).status_code == 302
    )
    assert signed_in(people.outsider).get(f"/deals/{deal.pk}/").status_code == 404
    assert signed_in(people.fs_rep).get("/deals/987654/").status_code == 404


def test_win_and_lose_from_the_board(people, deal_in):
    won, lost = deal_in("negotiation", name="W"), deal_in("proposal", name="L")
    client = signed_in(people.fs_rep)
    answer = client.post(f"/deals/{won.pk}/win", {"version": won.version, "board_query": ""}, **JSON)
    assert answer.status_code == 200 and answer.json()["columns"]["closed_won"]["count"] == "1"
    assert Milestone.objects.get(subject=won.contact).current_stage.key == "won"
    no_reason = client.post(f"/deals/{lost.pk}/lose", {"version": lost.version}, **JSON)
    assert no_reason.status_code == 409 and no_reason.json()["message"] == "Choose a loss reason."
    answer = client.post(f"/deals/{lost.pk}/lose", {"reason": "no_decision", "note": "budget frozen"}, **JSON)
    assert answer.status_code == 200 and answer.json()["status"] == "lost"
    closed = Deal.objects.get(pk=lost.pk)
    assert (closed.status, closed.loss_reason.key) == ("lost", "no_decision")
    assert Milestone.objects.get(subject=lost.contact).current_stage.key == "nurture"
    assert [m.to_stage.key for m in DealMove.objects.filter(deal=lost)] == ["closed_lost"]


# --- the deal page --------------------------------------------------------------------------


def test_the_deal_page_shows_fields_history_and_people(people, deal_in):
    deal = deal_in("discovery", amount=1_200_000, name="Pilot KK")
    move_deal(deal, stage("proposal"), actor=people.fs_rep)
    html = signed_in(people.fs_rep).get(f"/deals/{deal.pk}/").content.decode()
    assert "Pilot KK" in html and "¥1,200,000" in html and "¥600,000" in html  # 50% weighted
    assert "Discovery → Proposal" in html
    assert "Primary contact" in html and deal.contact.email not in html  # the name is shown
    assert 'name="version" value="2"' in html
    ja = signed_in(people.fs_rep, "ja").get(f"/deals/{deal.pk}/").content.decode()
    assert "ヒアリング → 提案" in ja


def test_saving_the_deal_page(people, deal_in):
    deal = deal_in("discovery")
    client = signed_in(people.fs_rep)
    form = {
        "name": "Renamed",
        "amount": "2000000",
        "currency": "JPY",
        "probability": "",
        "expected_close": "2027-03-31",
        "owner": str(people.fs_rep2.pk),
        "next_step": "Demo on Friday",
        "version": str(deal.version),
    }
    answer = client.post(f"/deals/{deal.pk}/", form, follow=True)
    assert "The deal is saved." in answer.content.decode()
    saved = Deal.objects.get(pk=deal.pk)
    assert (saved.name, saved.amount, saved.owner, saved.next_step) == (
        "Renamed",
        2_000_000,
        people.fs_rep2,
        "Demo on Friday",
    )
    history = client.get(f"/deals/{deal.pk}/").content.decode()  # who changed what, through the app
    assert "History" in history and "Renamed" in history and "2000000" in history and "web app" in history
    bad = client.post(f"/deals/{deal.pk}/", {**form, "amount": "-1", "name": "", "version": saved.version})
    assert bad.status_code == 200
    assert bad.content.decode().count('class="field invalid"') == 2
    assert Deal.objects.get(pk=deal.pk).version == saved.version
    assert signed_in(people.is_rep).post(f"/deals/{deal.pk}/", form).status_code == 403


def test_two_people_saving_the_same_deal_one_wins_the_other_sees_both(people, deal_in):
    deal = deal_in("discovery", amount=1_000_000, name="Pilot")
    first, second = signed_in(people.fs_rep), signed_in(people.manager)
    assert 'name="version" value="1"' in first.get(f"/deals/{deal.pk}/").content.decode()
    assert 'name="version" value="1"' in second.get(f"/deals/{deal.pk}/").content.decode()
    base = {"currency": "JPY", "probability": "", "expected_close": "", "owner": str(deal.owner_id)}
    base |= {"next_step": "", "version": "1"}

    won = first.post(f"/deals/{deal.pk}/", {**base, "name": "Pilot", "amount": "3000000"})
    assert won.status_code == 302
    lost = second.post(f"/deals/{deal.pk}/", {**base, "name": "Pilot (manager's)", "amount": "1000000"})

    assert lost.status_code == 409
    html = lost.content.decode()
    assert "Someone else changed this deal while you were editing" in html
    assert "¥3,000,000" in html  # what is saved now
    assert "Pilot (manager&#x27;s)" in html  # what they typed, in the table and the form
    assert 'name="version" value="2"' in html  # saving again is on the current version
    stored = Deal.objects.get(pk=deal.pk)
    assert (stored.name, stored.amount, stored.version) == ("Pilot", 3_000_000, 2)

    again = second.post(
        f"/deals/{deal.pk}/", {**base, "name": "Pilot (manager's)", "amount": "3000000", "version": "2"}
    )
    assert again.status_code == 302
    assert Deal.objects.get(pk=deal.pk).name == "Pilot (manager's)"


def test_the_deal_page_costs_a_fixed_number_of_queries(people, deal_in, django_assert_max_num_queries):
    deal = deal_in("discovery")
    for key in ("solution", "proposal", "negotiation"):
        deal = move_deal(deal, stage(key), actor=people.fs_rep)
    client = signed_in(people.fs_rep)
    # 11: with the deal's history (its changes, their users) and the fields admins marked restricted
    with django_assert_max_num_queries(11):
        assert client.get(f"/deals/{deal.pk}/").status_code == 200


def test_the_json_of_a_refusal_is_json(people, deal_in):
    deal = deal_in("proposal")
    win_deal(deal, actor=deal.owner)
    answer = signed_in(people.fs_rep).post(f"/deals/{deal.pk}/move", {"stage": "negotiation"}, **JSON)
    assert answer.status_code == 409
    assert json.loads(answer.content)["message"] == "This deal is closed."


def test_a_column_alone_costs_the_same_queries_for_many_deals(people, deal_in, django_assert_max_num_queries):
    client = signed_in(people.fs_rep)
    deal_in("solution")
    with django_assert_max_num_queries(15) as few:  # one reads the restricted fields
        assert client.get("/pipeline/", {"stage": "solution"}).status_code == 200
    for n in range(25):
        deal_in("solution", days=n, owner=people.fs_rep2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/pipeline/", {"stage": "solution", "page": "1"}).status_code == 200
