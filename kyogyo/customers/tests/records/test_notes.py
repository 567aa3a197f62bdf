"""Notes with @mentions: parsing, validation, rendering as parts, the reader's mentions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kyogyo.customers.models import NOTE_MAX_LENGTH, Note
from kyogyo.customers.notes import NoteError, add_note, mentioned_names, mentions_for, parts_of


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("@is_rep please call", ["is_rep"]),
        ("thanks @fs_rep.", ["fs_rep"]),
        ("@a, @b.c and @a again", ["a", "b.c"]),
        ("mail taro@example.jp, not a mention", []),
        ("(@csm) and @@twice", ["csm", "@twice"]),  # user names may hold @; no such user: text
        ("@", []),
        ("確認をお願いします @csm さん", ["csm"]),
    ],
)
def test_mentioned_names(body, names):
    assert mentioned_names(body) == names


def test_mentions_are_known_active_users_and_the_rest_stays_text(people, make_contact):
    people.csm.first_name, people.csm.last_name = "Keiko", "Sato"
    people.csm.save()
    people.is_rep2.is_active = False
    people.is_rep2.save()
    contact = make_contact()
    note = add_note(
        author=people.fs_rep, contact=contact, body="@csm see this, @nobody and @is_rep2 too. @fs_rep"
    )
    assert set(note.mentions.all()) == {people.csm, people.fs_rep}
    parts = parts_of(note)
    assert "".join(p.text for p in parts) == "@Keiko Sato see this, @nobody and @is_rep2 too. @fs_rep"
    assert [p.user for p in parts if p.user] == [people.csm, people.fs_rep]


def test_a_note_is_validated(people, make_contact):
    contact = make_contact()
    with pytest.raises(NoteError) as empty:
        add_note(author=people.marketer, contact=contact, body="   ")
    assert empty.value.code == "note_empty"
    with pytest.raises(NoteError) as long:
        add_note(author=people.marketer, contact=contact, body="x" * (NOTE_MAX_LENGTH + 1))
    assert long.value.code == "note_too_long"
    with pytest.raises(NoteError) as outsider:
        add_note(author=people.outsider, contact=contact, body="hello")
    assert outsider.value.code == "forbidden"
    with pytest.raises(NoteError) as both:
        add_note(author=people.marketer, contact=contact, account=contact.account, body="hello")
    assert both.value.code == "bad_subject"
    assert not Note.objects.exists()
    note = add_note(author=people.marketer, contact=contact, body="  x" * 1 + "  ")
    assert note.body == "x"


def test_mentions_for_lists_the_latest_first_in_fixed_queries(people, make_contact):
    contact = make_contact()
    start = timezone.now() - dt.timedelta(days=1)
    for n in range(12):
        add_note(
            author=people.marketer,
            contact=contact if n % 2 else None,
            account=None if n % 2 else contact.account,
            body=f"@is_rep number {n}",
            at=start + dt.timedelta(minutes=n),
        )
    add_note(author=people.marketer, contact=contact, body="not for them @csm")
    with CaptureQueriesContext(connection) as captured:
        notes = mentions_for(people.is_rep, limit=5)
        [(n.author.username, n.contact, n.account, list(n.mentions.all())) for n in notes]
    assert [n.body for n in notes] == [f"@is_rep number {n}" for n in (11, 10, 9, 8, 7)]
    assert len(captured.captured_queries) == 2
    assert mentions_for(people.manager) == []
