"""The search in the header and the saved views of the lists, over HTTP."""

from __future__ import annotations

import pytest

from kyogyo.deals.models import Deal, PipelineStage
from kyogyo.testing import T0
from kyogyo.web import actions
from kyogyo.web.models import SavedView


@pytest.fixture
def findable(people, make_contact):
    yamada = make_contact(first_name="Hanako", last_name="Yamada", email="hanako@yamada-shoji.example.jp")
    yamada.account.name = "Yamada Shoji"
    yamada.account.save()
    make_contact(first_name="Taro", last_name="Suzuki")
    Deal.objects.create(
        name="Yamada renewal",
        account=yamada.account,
        amount=1,
        pipeline_stage=PipelineStage.objects.filter(is_won=False, is_lost=False).first(),
        created_at=T0,
    )
    return yamada


def search(client, user, q):
    client.force_login(user)
    return client.get("/search/", {"q": q})


def test_search_finds_people_companies_and_deals_by_prefix(client, people, findable):
    response = search(client, people.is_rep, "yama")
    results = response.context["results"]
    assert [c.pk for c in results["people"]] == [findable.pk]
    assert [a.name for a in results["companies"]] == ["Yamada Shoji"]
    assert [d.name for d in results["deals"]] == ["Yamada renewal"]
    text = response.content.decode()
    assert f'href="/people/{findable.pk}/"' in text and f'href="/companies/{findable.account_id}/"' in text


@pytest.mark.parametrize(
    ("q", "people_found"),
    [("HANAKO@", 1), ("hanako yamada", 1), ("yamada hanako", 1), ("suz", 1), ("amada", 0), ("company", 0)],
)
def test_search_matches_the_beginning_ignoring_case(client, people, findable, q, people_found):
    assert len(search(client, people.is_rep, q).context["results"]["people"]) == people_found


def test_search_says_what_is_wrong(client, people, findable):
    assert "Type at least two characters." in search(client, people.is_rep, "y").content.decode()
    assert "Nothing starts with these letters." in search(client, people.is_rep, "zzz").content.decode()
    assert search(client, people.is_rep, "").status_code == 200


def test_search_says_when_there_are_more(client, people, make_contact):
    for n in range(12):
        make_contact(last_name=f"Kimura{n}")
    response = search(client, people.is_rep, "kimura")
    assert len(response.context["results"]["people"]) == 10 and response.context["more"]["people"]
    assert 'href="/people/?q=kimura"' in response.content.decode()


def test_search_reads_a_bounded_number_of_queries(client, people, findable, django_assert_max_num_queries):
    client.force_login(people.is_rep)
    with django_assert_max_num_queries(6):
        client.get("/search/", {"q": "yama"})


def test_the_header_has_the_search_box(client, people):
    client.force_login(people.is_rep)
    assert 'action="/search/"' in client.get("/").content.decode()


# --- saved views ----------------------------------------------------------------------------


def test_saving_a_view_and_finding_it_above_the_list(client, people):
    client.force_login(people.marketer)
    data = {"list_name": "people", "name": "My MQLs", "query": "stage=mql&sort=name", "next": "/people/"}
    response = client.post("/saved-views/", data)
    assert response.status_code == 302 and response["Location"] == "/people/?stage=mql&sort=name"
    view = SavedView.objects.get()
    assert (view.owner, view.list_name, view.shared) == (people.marketer, "people", False)
    text = client.get("/people/").content.decode()
    assert 'href="?stage=mql&amp;sort=name"' in text and "My MQLs" in text
    client.force_login(people.is_rep)  # not shared: not offered to others
    assert "My MQLs" not in client.get("/people/").content.decode()


def test_shared_views_are_offered_to_everyone_but_changed_by_their_owner(client, people):
    view = actions.save_view(
        owner=people.marketer, list_name="deals", name="Big", query="sort=amount", shared=True
    )
    client.force_login(people.is_rep)
    text = client.get("/deals/").content.decode()
    assert "Big" in text and f'action="/saved-views/{view.pk}/"' not in text
    assert client.post(f"/saved-views/{view.pk}/", {"do": "delete"}).status_code == 403
    client.force_login(people.marketer)
    client.post(f"/saved-views/{view.pk}/", {"name": "Biggest", "shared": "1", "next": "/deals/"})
    view.refresh_from_db()
    assert view.name == "Biggest" and view.shared
    client.post(f"/saved-views/{view.pk}/", {"name": "", "next": "/deals/"})
    view.refresh_from_db()
    assert view.name == "Biggest"  # a blank name is refused
    client.post(f"/saved-views/{view.pk}/", {"do": "delete", "next": "/deals/"})
    assert not SavedView.objects.exists()


def test_a_private_view_is_not_found_by_others(client, people):
    view = actions.save_view(owner=people.marketer, list_name="people", name="Mine", query="")
    client.force_login(people.is_rep)
    assert client.post(f"/saved-views/{view.pk}/", {"do": "delete"}).status_code == 404
    client.force_login(people.admin)
    assert client.post(f"/saved-views/{view.pk}/", {"do": "delete"}).status_code == 404


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"list_name": "people", "name": ""}, "A saved view needs a name"),
        ({"list_name": "people", "name": "x" * 101}, "A saved view needs a name"),
        ({"list_name": "planets", "name": "x"}, "There is no such list."),
        ({"list_name": "people", "name": "x", "query": "a=" + "b" * 2001}, "This text is too long."),
    ],
)
def test_bad_saved_views_are_refused_in_words(client, people, data, said):
    client.force_login(people.is_rep)
    response = client.post("/saved-views/", data, follow=True)
    assert said in response.content.decode()
    assert not SavedView.objects.exists()


def test_outsiders_keep_no_views(people):
    with pytest.raises(actions.SavedViewError):
        actions.save_view(owner=people.outsider, list_name="people", name="x", query="")
