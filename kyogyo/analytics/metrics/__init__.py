"""One module per metric (see ``base.py`` for the shape of a metric module).

``REGISTRY`` maps the name used by ``kyogyo report NAME`` (and later the API and UI) to
its module. A metric not listed here is not reachable from any surface."""

from __future__ import annotations

import importlib
from types import ModuleType

# report name → module under kyogyo.analytics.metrics
MODULES = {
    "kpi-tree": "kpi_tree",
    "bottleneck": "bottleneck",
    "plan-actual": "plan",
    "velocity": "velocity",
    "flow": "flow",
    "handoffs": "handoffs",
    "classification": "classification",
    "saas": "saas",
    "nps": "nps",
    "health": "health",
    "waterfall": "waterfall",
    "forecast": "forecast",
    "backtest": "backtest",
    "deals": "deals",
    "bands": "bands",
    "attribution": "attribution",
}


def load(name: str) -> ModuleType:
    return importlib.import_module(f"kyogyo.analytics.metrics.{MODULES[name]}")


def registry() -> dict[str, ModuleType]:
    return {name: load(name) for name in MODULES}
