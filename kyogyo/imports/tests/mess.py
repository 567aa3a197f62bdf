"""Generated files with real-world mess: 5 % broken rows of every kind (wrong column count,
bad dates, bad emails or amounts, duplicates, huge cells, …) among valid rows that carry
Japanese text, quoted commas and line breaks, written with a BOM and CRLF or in CP932.
Each file knows its valid rows and the (line, column, code) of every broken one."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

CONTACT_HEADER = [
    "external_id",
    "email",
    "first_name",
    "last_name",
    "title",
    "consent",
    "created_at",
    "account_name",
    "account_domain",
]
DEAL_HEADER = [
    "external_id",
    "name",
    "amount",
    "currency",
    "stage",
    "created_at",
    "closed_at",
    "loss_reason",
    "contact_email",
    "account_name",
]
HUGE = 50_000  # characters: a broken row, not a broken file (that starts at 10 MB)


@dataclass
class MessyFile:
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    valid: dict[str, list[str]] = field(default_factory=dict)  # external id → the valid row
    broken: list[tuple[int, str, str]] = field(default_factory=list)  # (line, column, code)
    line: int = 2  # where the next record starts (the header is line 1)

    def add(self, cells: list[str], problem: tuple[str, str] | None = None) -> None:
        if problem is None:
            self.valid[cells[0]] = cells
        else:
            self.broken.append((self.line, *problem))
        self.rows.append(cells)
        # a record spans one line more for every line break inside its cells
        self.line += 1 + sum(cell.replace("\r\n", "\n").count("\n") for cell in cells)

    def blank_line(self) -> None:
        self.rows.append([""] * len(self.header))  # only commas: skipped, no row, no error
        self.line += 1

    def write(self, path: Path, encoding: str) -> Path:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        path.write_bytes(buffer.getvalue().encode(encoding))
        return path


CONTACT_BREAKS = ("short_row", "long_row", "bad_date", "bad_email", "duplicate", "huge_cell")


def messy_contacts(n: int) -> MessyFile:
    """``n`` contact rows, every 20th broken (the kinds in turn)."""
    mess = MessyFile(CONTACT_HEADER)
    for i in range(1, n + 1):
        firm = i % 50
        title = "部長" if i % 3 else "Head of\r\nSales, Tokyo"  # quoted: a comma and a CRLF
        if i % 41 == 0:
            title = "課長\n(兼務)"  # a bare LF inside a cell
        cells = [
            f"M{i}",
            f"p{i}@firm{firm}.example.jp",
            "太郎" if i % 2 else "Hanako",
            f"山田{i}",
            title,
            "granted",
            f"2026/02/{1 + i % 28:02d} 09:30",
            f"株式会社{firm}",
            f"firm{firm}.example.jp",
        ]
        if i % 20 != 7:
            mess.add(cells)
        else:
            kind = CONTACT_BREAKS[(i // 20) % len(CONTACT_BREAKS)]
            mess.add(*_break_contact(cells, kind, mess))
        if i % 250 == 0:
            mess.blank_line()
    return mess


def _break_contact(cells: list[str], kind: str, mess: MessyFile) -> tuple[list[str], tuple[str, str]]:
    if kind == "short_row":
        return cells[:-2], ("", "column_count")
    if kind == "long_row":
        return [*cells, "extra"], ("", "column_count")
    if kind == "bad_date":
        cells[6] = "2026/13/45 25:61"
        return cells, ("created_at", "bad_date")
    if kind == "bad_email":
        cells[1] = cells[1].replace("@", "@@")
        return cells, ("email", "bad_email")
    if kind == "duplicate":
        cells[1] = mess.rows[-1][1].upper()  # the previous row's address, in another case
        return cells, ("email", "duplicate")
    cells[4] = "長" * HUGE
    return cells, ("title", "too_long")


DEAL_BREAKS = (
    "short_row",
    "bad_date",
    "bad_amount",
    "unknown_stage",
    "duplicate",
    "huge_cell",
    "unknown_contact",
    "won_before_created",
)
OUTCOMES = ("proposal", "closed_won", "closed_lost")


def buyers(n: int) -> MessyFile:
    """A clean contacts file of the people the deals belong to (B1 … Bn)."""
    people = MessyFile(CONTACT_HEADER)
    for i in range(1, n + 1):
        people.add(
            [
                f"B{i}",
                f"b{i}@buyer{i}.example.jp",
                "花子",
                f"佐藤{i}",
                "部長",
                "granted",
                "2026/01/05 09:00",
                f"買い手{i}",
                f"buyer{i}.example.jp",
            ]
        )
    return people


def messy_deals(n: int) -> MessyFile:
    """``n`` deal rows, one per buyer B1 … Bn (open, won or lost in turn), every 20th broken."""
    mess = MessyFile(DEAL_HEADER)
    for i in range(1, n + 1):
        stage = OUTCOMES[i % 3]
        cells = [
            f"D{i}",
            f"商談 {i}, 第{i % 4 + 1}期",
            f"{1000 + i:,}",
            "JPY",
            stage,
            f"2026-02-{1 + i % 28:02d} 10:00",
            "2026-03-15 17:00" if stage != "proposal" else "",
            "price" if stage == "closed_lost" else "",
            f"b{i}@buyer{i}.example.jp",
            "",
        ]
        if i % 20 != 7:
            mess.add(cells)
        else:
            kind = DEAL_BREAKS[(i // 20) % len(DEAL_BREAKS)]
            mess.add(*_break_deal(cells, kind, mess))
    return mess


def _break_deal(cells: list[str], kind: str, mess: MessyFile) -> tuple[list[str], tuple[str, str]]:
    if kind == "short_row":
        return cells[:-1], ("", "column_count")
    if kind == "bad_date":
        cells[5] = "31/02/2026"
        return cells, ("created_at", "bad_date")
    if kind == "bad_amount":
        cells[2] = "12.5.3"
        return cells, ("amount", "bad_number")
    if kind == "unknown_stage":
        cells[4] = "won-ish"
        return cells, ("stage", "bad_value")
    if kind == "duplicate":
        cells[0] = mess.rows[-1][0]  # the previous row's deal id
        return cells, ("external_id", "duplicate")
    if kind == "huge_cell":
        cells[1] = "大" * HUGE
        return cells, ("name", "too_long")
    if kind == "unknown_contact":
        cells[8] = "ghost@nowhere.example"
        return cells, ("contact_email", "unknown_contact")
    cells[4], cells[6], cells[7] = "closed_won", "2026-01-01 10:00", ""
    return cells, ("closed_at", "time_backwards")


def expected_stages(stage: str) -> list[str]:
    """A buyer's journey after their deal in ``stage`` went in."""
    path = ["lead", "mql", "sal", "sql", "opportunity"]
    return {"proposal": path, "closed_won": [*path, "won"], "closed_lost": [*path, "nurture"]}[stage]
