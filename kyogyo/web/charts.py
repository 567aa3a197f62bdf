"""Plotly under a strict Content Security Policy.

plotly.js adds styles of its own at run time, each time looking for an element by id first:
its rules (mode bar, hover labels) go into ``<style id="plotly.js-style-global">``, which it
creates when missing — an inline style element the CSP blocks — and the bundled maplibre
CSS into a ``<style>`` keyed by a hash. A same-origin ``<link rel="stylesheet">`` under the
global id makes plotly insert its rules into that sheet through the CSSOM (which the CSP
allows), and one under each hashed id keeps the bundle from adding its own (no chart here
draws maps). The hashed ids change with plotly's version, so they are read from the bundle
that is served."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

GLOBAL_STYLE_ID = "plotly.js-style-global"
BUNDLE = "plotly/plotly.min.js"
HASHED_STYLE_ID = re.compile(r'getElementById\("([0-9a-f]{40,64})"\)')


def _bundle_path() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


@cache
def style_ids() -> tuple[str, ...]:
    """Every id under which the served bundle would otherwise create a style element."""
    hashed = HASHED_STYLE_ID.findall(_bundle_path().read_text(encoding="utf-8"))
    return (GLOBAL_STYLE_ID, *sorted(set(hashed)))


def plotly_assets() -> SafeString:
    """The stylesheet placeholders, then plotly.js itself (deferred, like every script)."""
    sheet = static("web/plotly-rules.css")
    links = format_html_join(
        "", '<link rel="stylesheet" id="{}" href="{}">', ((style_id, sheet) for style_id in style_ids())
    )
    return format_html('{}<script src="{}" defer></script>', links, static(BUNDLE))
