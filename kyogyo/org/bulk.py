"""The outcome of an action applied to many records at once (the lists' bulk actions): what
was done and, per record, why a record was not — a record someone may not change is
reported with the reason, never skipped in silence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Refused:
    record: Any
    code: str  # a stable error code, as the single-record actions raise (refusals.py says it)
    message: str


@dataclass
class BulkResult:
    done: list[Any] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)

    def refuse(self, record: Any, error: Exception) -> None:
        self.refused.append(Refused(record, getattr(error, "code", "invalid"), str(error)))


class Forbidden(PermissionError):
    """This person may not change this record (``org/access.py`` said no)."""

    code = "forbidden"
