"""The Japanese catalogue is complete, compiled, and actually used by the models.

The .po file is parsed with a tiny parser below (no polib): enough of the gettext
PO format for what ``makemessages`` writes — comments, flags, msgctxt, msgid,
msgid_plural, msgstr / msgstr[n] and continued strings. Obsolete ``#~`` entries are
ignored, as msgfmt ignores them.
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils import translation

LC_MESSAGES = Path(__file__).resolve().parent.parent / "kyogyo" / "locale" / "ja" / "LC_MESSAGES"
PO_PATH = LC_MESSAGES / "django.po"
MO_PATH = LC_MESSAGES / "django.mo"

# Placeholders that must survive translation unchanged: %(name)s, %s, %d, {0}, {name}.
PLACEHOLDER = re.compile(r"%\([^)]+\)[a-zA-Z]|%[sdif]|\{[^{}]*\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def label(self) -> str:
        where = f"django.po:{self.line}"
        return (
            f"{where} msgctxt={self.msgctxt!r} msgid={self.msgid!r}"
            if self.msgctxt
            else f"{where} {self.msgid!r}"
        )


def _unquote(text: str, lineno: int) -> str:
    text = text.strip()
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise ValueError(f"django.po:{lineno}: expected a quoted string, got {text!r}")
    # PO strings use C escapes, which match Python's for everything makemessages writes.
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    entries: list[Entry] = []
    current = Entry()
    started = False  # current has a msgid or msgctxt
    key: tuple[str, int] | None = None  # which string a continuation line extends

    def finish() -> None:
        nonlocal current, started, key
        if started:
            entries.append(current)
        current, started, key = Entry(), False, None

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#"):
            if started and key is not None and key[0] == "msgstr":
                finish()  # a comment after msgstr starts the next entry
            if line.startswith("#,"):
                current.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        if line.startswith('"'):
            if key is None:
                raise ValueError(f"django.po:{lineno}: string continuation outside an entry")
            value = _unquote(line, lineno)
            if key[0] == "msgstr":
                current.msgstr[key[1]] += value
            else:
                setattr(current, key[0], getattr(current, key[0]) + value)
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgctxt", "msgid") and started and key is not None and key[0] == "msgstr":
            finish()  # a new entry without a separating blank line
        match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if keyword == "msgctxt":
            current.msgctxt, key = _unquote(rest, lineno), ("msgctxt", 0)
        elif keyword == "msgid":
            current.msgid, key = _unquote(rest, lineno), ("msgid", 0)
        elif keyword == "msgid_plural":
            current.msgid_plural, key = _unquote(rest, lineno), ("msgid_plural", 0)
        elif keyword == "msgstr" or match:
            index = int(match.group(1)) if match else 0
            current.msgstr[index], key = _unquote(rest, lineno), ("msgstr", index)
        else:
            raise ValueError(f"django.po:{lineno}: unexpected line {raw!r}")
        if not started:
            current.line = lineno
        started = True
    finish()
    return entries


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse_po(PO_PATH)


@pytest.fixture(scope="module")
def messages(entries) -> list[Entry]:
    return [e for e in entries if not e.is_header]


@pytest.fixture(scope="module")
def compiled() -> gettext.GNUTranslations:
    with MO_PATH.open("rb") as fp:
        return gettext.GNUTranslations(fp)


def test_parser_reads_the_catalogue(entries, messages):
    headers = [e for e in entries if e.is_header]
    assert len(headers) == 1
    assert len(messages) > 200
    assert len({(e.msgctxt, e.msgid) for e in messages}) == len(messages), "duplicate msgids"


def test_header_declares_japanese_utf8(entries):
    header = next(e for e in entries if e.is_header).msgstr[0]
    assert "Language: ja\n" in header
    assert "charset=UTF-8" in header
    assert "Plural-Forms: nplurals=1; plural=0;" in header


def test_every_message_is_translated(messages):
    untranslated = [
        e.label for e in messages if not e.msgstr or any(not text.strip() for text in e.msgstr.values())
    ]
    assert not untranslated, "empty msgstr:\n" + "\n".join(untranslated)


def test_nothing_is_fuzzy(entries):
    # msgfmt and Django skip fuzzy entries, so a fuzzy translation never reaches the UI.
    fuzzy = [e.label if not e.is_header else "header" for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, "fuzzy entries:\n" + "\n".join(fuzzy)


def test_placeholders_and_percent_signs_are_kept(messages):
    broken = []
    for e in messages:
        for source in filter(None, [e.msgid, e.msgid_plural]):
            for text in e.msgstr.values():
                if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(text)):
                    broken.append(f"{e.label}: {text!r}")
                elif source.count("%") != text.count("%"):
                    broken.append(f"{e.label}: {text!r} (percent signs)")
    assert not broken, "placeholders changed:\n" + "\n".join(broken)


def test_mo_is_not_older_than_po():
    assert MO_PATH.exists(), "django.mo missing: run msgfmt -o django.mo django.po"
    # One second of slack: a fresh checkout writes both files at nearly the same time.
    assert MO_PATH.stat().st_mtime + 1 >= PO_PATH.stat().st_mtime, (
        "django.mo is older than django.po: recompile with msgfmt -o django.mo django.po"
    )


def test_mo_matches_po(messages, compiled):
    stale = []
    for e in messages:
        if e.msgid_plural is None:
            got = compiled.pgettext(e.msgctxt, e.msgid) if e.msgctxt else compiled.gettext(e.msgid)
            if got != e.msgstr.get(0):
                stale.append(f"{e.label}: .mo has {got!r}, .po has {e.msgstr.get(0)!r}")
        else:
            for n in (1, 2, 5):
                got = compiled.ngettext(e.msgid, e.msgid_plural, n)
                expected = e.msgstr.get(compiled.plural(n))
                if got != expected:
                    stale.append(f"{e.label} (n={n}): .mo has {got!r}, .po has {expected!r}")
    assert not stale, "django.mo is out of date:\n" + "\n".join(stale)


def test_mo_has_no_messages_missing_from_po(messages, compiled):
    def key(e: Entry) -> str:
        return f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt else e.msgid

    in_po = {key(e) for e in messages}
    in_mo = {k if isinstance(k, str) else k[0] for k in compiled._catalog if k != ""}
    assert in_mo <= in_po, f"django.mo has messages no longer in django.po: {sorted(in_mo - in_po)}"


def test_model_strings_come_out_in_japanese():
    from kyogyo.customers.models import Account, Contact
    from kyogyo.deals.models import Deal
    from kyogyo.handoffs.models import Handoff
    from kyogyo.journey.models import Transition
    from kyogyo.success.models import NpsResponse, Subscription

    with translation.override("ja"):
        assert str(Contact._meta.verbose_name) == "担当者"
        assert str(Account._meta.verbose_name) == "取引先"
        assert str(Deal._meta.verbose_name) == "商談"
        assert str(Handoff._meta.verbose_name) == "引き継ぎ"
        assert str(Transition._meta.verbose_name) == "ステージ遷移"
        assert str(Subscription._meta.verbose_name) == "契約"
        assert str(Contact._meta.get_field("fit_score").verbose_name) == "適合度スコア"
        assert str(Contact._meta.get_field("engagement_score").verbose_name) == "エンゲージメントスコア"
        assert str(Contact.Consent.GRANTED.label) == "同意済み"
        assert str(Handoff.Status.REJECTED.label) == "却下"
        assert str(Deal.Status.WON.label) == "受注"
        assert str(NpsResponse._meta.get_field("score").verbose_name) == "スコア（0–10）"

    with translation.override("en"):
        assert str(Contact._meta.verbose_name) == "contact"
