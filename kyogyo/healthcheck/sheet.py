"""The health-check sheet as data: the article's 10 categories and 30 items (sheet.yaml),
each text in Japanese and English, read once per process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from django.utils.translation import get_language

SHEET_FILE = Path(__file__).with_name("sheet.yaml")


def _japanese() -> bool:
    return (get_language() or "").startswith("ja")


@dataclass(frozen=True)
class Text:
    ja: str
    en: str

    def __str__(self) -> str:
        """The text in the reader's language."""
        return self.ja if _japanese() else self.en


@dataclass(frozen=True)
class Mark:
    key: str
    symbol: str
    label: Text
    points: float


@dataclass(frozen=True)
class Solution:
    key: str
    title: Text
    points: tuple[Text, ...]
    example: Text


@dataclass(frozen=True)
class Item:
    key: str  # "<category>.<item>", stable: marks are stored under it
    category_key: str
    number: str  # "1.2": the category's number and the item's place in it
    question: Text
    evidence: str | None


@dataclass(frozen=True)
class Category:
    key: str
    number: int
    name: Text
    items: tuple[Item, ...]
    solutions: tuple[Solution, ...]


@dataclass(frozen=True)
class Sheet:
    source: Text
    marks: dict[str, Mark]
    categories: tuple[Category, ...]

    @property
    def items(self) -> list[Item]:
        return [item for category in self.categories for item in category.items]

    def item(self, key: str) -> Item | None:
        return next((item for item in self.items if item.key == key), None)

    def category(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)


def _text(data: dict, base: str = "") -> Text:
    prefix = f"{base}_" if base else ""
    return Text(ja=data[f"{prefix}ja"], en=data[f"{prefix}en"])


def _category(data: dict, solutions: dict[str, Solution]) -> Category:
    items = tuple(
        Item(
            key=f"{data['key']}.{raw['key']}",
            category_key=data["key"],
            number=f"{data['number']}.{place}",
            question=_text(raw),
            evidence=raw.get("evidence"),
        )
        for place, raw in enumerate(data["items"], start=1)
    )
    return Category(
        key=data["key"],
        number=data["number"],
        name=_text(data),
        items=items,
        solutions=tuple(solutions[key] for key in data["solutions"]),
    )


@cache
def load() -> Sheet:
    data = yaml.safe_load(SHEET_FILE.read_text(encoding="utf-8"))
    solutions = {
        raw["key"]: Solution(
            key=raw["key"],
            title=_text(raw),
            points=tuple(Text(ja, en) for ja, en in zip(raw["points_ja"], raw["points_en"], strict=True)),
            example=_text(raw, "example"),
        )
        for raw in data["solutions"]
    }
    marks = {
        key: Mark(key=key, symbol=raw["symbol"], label=_text(raw), points=float(raw["points"]))
        for key, raw in data["marks"].items()
    }
    categories = tuple(_category(raw, solutions) for raw in data["categories"])
    return Sheet(source=_text(data["source"]), marks=marks, categories=categories)
