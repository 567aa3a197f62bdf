"""What every metric module shares: the context it runs in (a snapshot generation, the
analytics settings, the stage model, "now") and the shape of a metric module.

A metric module defines:

- ``NAME`` and ``HELP`` (one line, shown by ``kyogyo report --help``);
- ``add_arguments(parser)`` for its own options (optional) and ``options(parsed)`` turning
  them into ``Spec.options`` (optional);
- ``compute(context, spec) -> Result``: builds the query, runs it, returns a dataclass
  with ``as_dict()`` (the documented JSON shape);
- ``rows(data) -> (headers, rows)``: the flat table ``--format table|csv`` prints.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol

from kyogyo.analytics.models import AnalyticsSettings
from kyogyo.analytics.path import path_pairs
from kyogyo.analytics.snapshot.store import Snapshot, parse_time
from kyogyo.analytics.spec import Rate, Spec


@dataclass(frozen=True)
class StageInfo:
    key: str
    name: str
    name_ja: str
    order: int
    category: str
    team: str | None
    hands_to: str | None
    stall_days: int | None
    sla_hours: int | None


@dataclass
class Context:
    snapshot: Snapshot
    settings: AnalyticsSettings
    as_of: dt.datetime  # local (company time zone), naive, like the snapshot's times

    @classmethod
    def create(
        cls, snapshot: Snapshot, settings: AnalyticsSettings | None = None, as_of: dt.datetime | None = None
    ) -> Context:
        if as_of is None:
            from zoneinfo import ZoneInfo

            refreshed = parse_time(snapshot.manifest.refreshed_at)
            as_of = refreshed.astimezone(ZoneInfo(snapshot.time_zone)).replace(tzinfo=None)
        return cls(snapshot, settings or AnalyticsSettings.load(), as_of)

    @cached_property
    def stages(self) -> list[StageInfo]:
        rows = self.snapshot.query(
            "SELECT key, name, name_ja, ord, category, team, hands_to, stall_days, sla_hours "
            "FROM stages ORDER BY ord, key"
        )
        return [StageInfo(*row) for row in rows]

    def stage(self, key: str) -> StageInfo | None:
        return next((s for s in self.stages if s.key == key), None)

    @cached_property
    def _pairs(self) -> list[tuple[str, str | None]]:
        return path_pairs([(s.key, s.category) for s in self.stages])

    def path(self) -> list[StageInfo]:
        """The waterfall's stages (see ``kyogyo.analytics.path``)."""
        by_key = {s.key: s for s in self.stages}
        return [by_key[key] for key, _ in self._pairs]

    def next_on_path(self, key: str) -> str | None:
        """The stage a subject in ``key`` advances to on the path (None for outcomes)."""
        return dict(self._pairs).get(key)

    def rate(self, numerator: float, denominator: float) -> Rate:
        return Rate(numerator, denominator, self.settings.small_denominator)

    def freshness(self) -> dict[str, Any]:
        return self.snapshot.freshness()


class Result(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


class MetricModule(Protocol):
    NAME: str
    HELP: str

    def compute(self, context: Context, spec: Spec) -> Result: ...

    def rows(self, data: dict[str, Any]) -> tuple[list[str], list[Sequence[Any]]]: ...


def stage_column(key: str) -> str:
    """The snapshot column holding the first entry into a stage."""
    return f'"f_{key}"'


def entries_column(key: str) -> str:
    return f'"n_{key}"'


def slice_label(keys: dict[str, str]) -> dict[str, Any]:
    """How a slice names itself in every result: ``key`` joins the values with " / "
    (``2026-04 / smb``), ``keys`` gives each dimension's value."""
    return {"key": " / ".join(keys.values()), "keys": keys}


def stage_groups(data: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The totals (as slice ``(all)``) and each slice's stage rows, for table and CSV output."""
    return [("(all)", data["stages"])] + [(s["key"], s["stages"]) for s in data.get("slices", [])]
