"""The Customer Success figures the pages show, run through the analytics reports
(``kyogyo.analytics.reports.run``) so they are the numbers ``kyogyo report saas|health|nps``
and the API give for the same options, over the same snapshot."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kyogyo.analytics import reports

CURRENCY = "JPY"


@dataclass(frozen=True)
class Saas:
    """One currency's block of the saas report: its months and the window's total."""

    currency: str
    periods: list[dict[str, Any]]
    total: dict[str, Any]
    as_of: str
    refreshed_at: dt.datetime


def saas(currency: str = CURRENCY, months: int | None = None) -> Saas | None:
    """MRR, movements, GRR and NRR per month over the default window (the 12 months up to
    the as-of date), or None when nothing was ever billed in ``currency``."""
    _, data = reports.run("saas", {"grain": "month"})
    block = next((b for b in data["currencies"] if b["currency"] == currency), None)
    if block is None:
        return None
    refreshed_at = dt.datetime.fromisoformat(data["snapshot"]["refreshed_at"])
    return Saas(currency, block["periods"], block["total"], data["as_of"], refreshed_at)


def health(limit: int, account: int | None = None) -> dict[str, Any]:
    """The health report: worst first, ``limit`` accounts (or the one account)."""
    options: dict[str, Any] = {"limit": limit}
    if account is not None:
        options["account"] = account
    return reports.run("health", options)[1]


def nps(start: dt.date | None = None) -> dict[str, Any]:
    return reports.run("nps", {"grain": "month", "start": start})[1]


def as_of_date(data: dict[str, Any]) -> dt.date:
    """The report's "today" (the snapshot's time unless told otherwise)."""
    return dt.datetime.fromisoformat(data["as_of"]).date()
