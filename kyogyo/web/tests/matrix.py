"""The vocabulary of the page access matrix (test_page_matrix.py): the roles and what an
entry says. Each area declares its pages in `kyogyo/<app>/tests/page_access*.py` as
`PAGES = {url name: Page(...)}`; the matrix collects them all, so an area's branch never
edits another area's entries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

ROLES = ("anonymous", "marketer", "is_rep", "fs_rep", "csm", "manager", "admin", "outsider")
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
MEMBERS = frozenset({"marketer", "is_rep", "fs_rep", "csm", "manager", "admin"})  # can_read_records
ADMINS = frozenset({"admin"})
PUBLIC = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()
UPLOADER = frozenset({"marketer", "manager", "admin"})  # an import: its uploader (the marketer) and managers

# `args` gets the matrix's records (people, contact, account, handoff, settings); an area
# that needs records of its own creates them in its function (called once per role and method).
Args = Callable[[SimpleNamespace], list[Any]]


@dataclass(frozen=True)
class Page:
    read: frozenset[str] = NOBODY
    write: frozenset[str] = NOBODY
    args: Args = field(default=lambda data: [])
    data: dict[str, str] = field(default_factory=dict)
    public: bool = False  # anonymous visitors are served, not sent to sign in
