"""The sheet as data matches the article's 「The Modelの健全性チェックシート」: 10 categories of
3 items, in its order and wording, each measurable item naming an evidence function."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from kyogyo.healthcheck.evidence import DESCRIPTIONS, EVIDENCE
from kyogyo.healthcheck.sheet import load

ROOT = Path(__file__).resolve().parents[3]
SEEDS = [ROOT.parent / "shared" / "seeds", Path("/work/shared/seeds")]


def article() -> str:
    for folder in SEEDS:
        for path in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
            text = path.read_text(encoding="utf-8")
            if "The Modelの健全性チェックシート" in text:
                return text
    pytest.skip("the article (shared/seeds) is not beside this checkout")


def article_rows() -> list[tuple[str | None, str]]:
    """The sheet's table rows: (category cell or None, check item)."""
    text = article()
    start = text.index("カテゴリ | チェック項目")
    table = text[start : text.index("\nまとめ\n", start)]
    rows: list[tuple[str | None, str]] = []
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) >= 4 and re.match(r"^\d+\. ", cells[0]):
            rows.append((cells[0], cells[1]))
        elif cells and cells[0]:
            rows.append((None, cells[0]))
    return rows


def test_ten_categories_of_three_items():
    sheet = load()
    assert len(sheet.categories) == 10
    assert len(sheet.items) == 30
    assert [c.number for c in sheet.categories] == list(range(1, 11))
    assert all(len(c.items) == 3 for c in sheet.categories)
    assert len({item.key for item in sheet.items}) == 30


def test_the_wording_and_order_are_the_articles():
    rows = article_rows()
    assert len(rows) == 30
    sheet = load()
    for (category_cell, question), item in zip(rows, sheet.items, strict=True):
        assert item.question.ja == question
        if category_cell:
            category = sheet.category(item.category_key)
            assert category is not None and category_cell == f"{category.number}. {category.name.ja}"


def test_the_marks_are_the_articles():
    text = article()
    marks = load().marks
    for mark in marks.values():
        assert f"{mark.symbol}({mark.label.ja})" in text
    assert [m.symbol for m in marks.values()] == ["○", "△", "×"]
    assert [m.points for m in marks.values()] == [1.0, 0.5, 0.0]


def test_the_advice_is_the_articles():
    text = article()
    for category in load().categories:
        for solution in category.solutions:
            assert solution.title.ja in text
            assert solution.example.ja in text
            assert all(point.ja in text for point in solution.points)


def test_every_text_has_an_english_translation_and_evidence_exists():
    sheet = load()
    for category in sheet.categories:
        assert category.name.en and category.name.ja != category.name.en
        for item in category.items:
            assert item.question.en and not re.search(r"[ぁ-んァ-ン一-龥]", item.question.en)
            if item.evidence:
                assert item.evidence in EVIDENCE and item.evidence in DESCRIPTIONS
    used = {item.evidence for item in sheet.items if item.evidence}
    assert used == set(EVIDENCE)
    assert len(used) >= 15


def test_texts_follow_the_language():
    item = load().item("kpi.linked")
    assert item is not None
    with translation.override("ja"):
        assert str(item.question).startswith("KPIが部門間で連動している")
    with translation.override("en"):
        assert str(item.question).startswith("The KPIs are linked")
