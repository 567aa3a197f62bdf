"""Notes on a person's or a company's record, with @mentions of colleagues.

``@username`` mentions an active user of that name; an unknown name stays plain text. The
body is stored as written and always shown escaped: a mention is rendered from the parsed
parts (text, user), never by marking markup safe."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from kyogyo.customers.models import NOTE_MAX_LENGTH, Account, Contact, Note
from kyogyo.org import access
from kyogyo.org.models import User

# Django's user names: letters, digits and @ . + - _ ; a mention ends at anything else (and a
# trailing dot or @ belongs to the sentence, not the name).
MENTION = re.compile(r"(?<![\w@.+-])@([\w.@+-]*[\w+-])")
MAX_MENTIONS = 20


class NoteError(ValueError):
    """A note the record refuses; ``code`` is stable (see kyogyo/web/refusals.py)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


def mentioned_names(body: str) -> list[str]:
    """The user names written as ``@name`` in ``body``, in order, each once."""
    seen: dict[str, None] = {}
    for match in MENTION.finditer(body):
        seen.setdefault(match.group(1), None)
    return list(seen)[:MAX_MENTIONS]


def _mentioned_users(body: str) -> list[User]:
    names = mentioned_names(body)
    if not names:
        return []
    return list(User.objects.filter(username__in=names, is_active=True))


def add_note(
    *,
    author: User,
    body: str,
    contact: Contact | None = None,
    account: Account | None = None,
    at: dt.datetime | None = None,
) -> Note:
    """A note on a person or a company (exactly one); any member of the four teams writes them."""
    if (contact is None) == (account is None):
        raise NoteError("bad_subject", "a note is on a person or on a company")
    if not access.can_add_note(author):
        raise NoteError("forbidden", "only members of a team write notes")
    body = (body or "").strip()
    if not body:
        raise NoteError("note_empty", "a note needs some text")
    if len(body) > NOTE_MAX_LENGTH:
        raise NoteError("note_too_long", f"a note has at most {NOTE_MAX_LENGTH} characters")
    with transaction.atomic():
        note = Note.objects.create(
            author=author, contact=contact, account=account, body=body, created_at=at or timezone.now()
        )
        mentioned = _mentioned_users(body)
        if mentioned:
            note.mentions.set(mentioned)
    return note


@dataclass(frozen=True)
class Part:
    """A piece of a note's body: plain text, or a mention of a known user."""

    text: str
    user: User | None = None


def display_name(user: User) -> str:
    return user.get_full_name() or user.get_username()


def parts_of(note: Note, users: dict[str, User] | None = None) -> list[Part]:
    """The body split into text and mentions. ``users`` maps user name → user (the note's
    prefetched mentions); a name that is not there stays text as written."""
    known = users if users is not None else {u.username: u for u in note.mentions.all()}
    parts: list[Part] = []
    position = 0
    for match in MENTION.finditer(note.body):
        user = known.get(match.group(1))
        if user is None:
            continue
        if match.start() > position:
            parts.append(Part(note.body[position : match.start()]))
        parts.append(Part("@" + display_name(user), user))
        position = match.end()
    if position < len(note.body):
        parts.append(Part(note.body[position:]))
    return parts


def mentions_for(user: User, limit: int = 10) -> list[Note]:
    """The latest notes that mention ``user``, newest first, ready to show (author, subject
    and mentions loaded: a fixed number of queries)."""
    notes = (
        Note.objects.filter(mentions=user)
        .select_related("author", "contact", "contact__account", "account")
        .prefetch_related("mentions")
        .order_by("-created_at", "-id")[:limit]
    )
    return list(notes)


def with_parts(notes: QuerySet[Note] | list[Note]) -> list[tuple[Note, list[Part]]]:
    return [(note, parts_of(note)) for note in notes]
