"""Plotly charts under the strict CSP: drawn with plotly's own styles and no violation, and a
click on a point opens the records behind it (the drill-down every chart offers)."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import include, path

from kyogyo.web import charts

PAGE = """{% extends "web/base.html" %}{% load web %}
{% block scripts %}{% plotly_assets %}{% endblock %}
{% block content %}<div data-chart="figure"></div>{{ figure|json_script:"figure" }}{% endblock %}"""

FIGURE = {
    "data": [
        {"type": "bar", "x": ["MQL", "SQL"], "y": [10, 5], "customdata": ["/?drill=mql", "/?drill=sql"]}
    ],
    "layout": {"width": 600, "height": 400, "margin": {"t": 20}},
}


def chart_page(request: HttpRequest) -> HttpResponse:
    template = engines["django"].from_string(PAGE)
    return HttpResponse(template.render({"figure": FIGURE}, request))


urlpatterns = [path("chart/", chart_page), path("", include("kyogyo.urls"))]


def test_every_style_id_of_the_bundle_is_covered():
    ids = charts.style_ids()
    assert ids[0] == charts.GLOBAL_STYLE_ID
    assert len(ids) >= 2  # plotly 3 bundles maplibre's CSS under a hashed id
    html = charts.plotly_assets()
    assert all(f'id="{style_id}"' in html for style_id in ids)
    assert "<style" not in html


@pytest.mark.urls("kyogyo.web.tests.test_charts")
def test_a_chart_draws_with_its_styles_and_drills_down(browse, people):
    tab = browse(people.admin)
    tab.goto("/chart/")
    tab.page.wait_for_selector("[data-chart] .main-svg")
    inserted = tab.page.evaluate(f"document.getElementById('{charts.GLOBAL_STYLE_ID}').sheet.cssRules.length")
    assert inserted > 10, "plotly's rules did not reach the placeholder stylesheet"
    assert tab.page.evaluate("document.querySelectorAll('style').length") == 0
    # plotly's drag layer lies over the bars: click where the bar is, as a person does
    box = tab.page.locator("[data-chart] .point").nth(1).bounding_box()
    tab.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tab.page.wait_for_url("**/?drill=sql")
    # the browse fixture fails the test on any CSP violation or script error
