"""An assessment as an Excel workbook (the sheet, the category scores, the improvements) and
as a PDF (the same, in a Japanese CID font so Japanese renders without embedding a font).

Excel cells go through kyogyo.exports.spreadsheet's neutralising, so a note starting with
"=" stays text; PDF text is escaped before reportlab reads its little markup."""

from __future__ import annotations

import io
from html import escape
from typing import Any

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from kyogyo.exports.spreadsheet import cell_value
from kyogyo.healthcheck.reading import Reading, evidence_text, symbol
from kyogyo.healthcheck.sheet import load

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF_FONT = "HeiseiKakuGo-W5"


def file_name(reading: Reading, extension: str) -> str:
    return f"health-check-{reading.assessment.assessed_on:%Y-%m-%d}.{extension}"


def _percent(score: float | None) -> str:
    return "–" if score is None else f"{score * 100:.0f}%"


def _suggested(figures: dict[str, Any] | None) -> str:
    return symbol(figures.get("suggested")) if figures and figures.get("suggested") else ""


def sheet_rows(reading: Reading) -> list[list[Any]]:
    rows = []
    for section in reading.categories:
        for entry in section.entries:
            rows.append(
                [
                    f"{section.category.number}. {section.category.name}",
                    entry.item.number,
                    str(entry.item.question),
                    symbol(entry.mark),
                    entry.note,
                    evidence_text(entry.figures),
                    _suggested(entry.figures),
                ]
            )
    return rows


def sheet_headers() -> list[str]:
    return [
        _("Category"),
        _("No."),
        _("Check item"),
        _("Mark"),
        _("Note"),
        _("Measured from the data"),
        _("Suggested by the data"),
    ]


def improvement_rows(reading: Reading) -> list[list[Any]]:
    return [
        [
            rank,
            improvement.entry.item.number,
            str(improvement.entry.item.question),
            symbol(improvement.entry.mark),
            improvement.weight,
            " / ".join(str(s.title) for s in improvement.solutions),
        ]
        for rank, improvement in enumerate(reading.improvements, start=1)
    ]


def _safe(value: Any) -> Any:
    value = cell_value(value)
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    return value


def _write(sheet: Any, headers: list[str], rows: list[list[Any]]) -> None:
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_safe(v) for v in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula


def xlsx(reading: Reading) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _("Health check")[:31]
    _write(sheet, sheet_headers(), sheet_rows(reading))
    scores = book.create_sheet(_("Scores")[:31])
    score_rows: list[list[Any]] = [
        [f"{c.category.number}. {c.category.name}", None if c.score is None else round(c.score, 4)]
        for c in reading.categories
    ]
    score_rows.append([_("Overall"), None if reading.overall is None else round(reading.overall, 4)])
    _write(scores, [_("Category"), _("Score")], score_rows)
    ranked = book.create_sheet(_("Improvements")[:31])
    _write(
        ranked,
        [_("Priority"), _("No."), _("Check item"), _("Mark"), _("Weight"), _("The article's advice")],
        improvement_rows(reading),
    )
    about = book.create_sheet(_("About")[:31])
    author = reading.assessment.author
    _write(
        about,
        [_("Field"), _("Value")],
        [
            [_("Assessed on"), reading.assessment.assessed_on],
            [_("Author"), author.get_username() if author else ""],
            [_("Summary"), reading.assessment.summary],
            [_("Source"), str(load().source)],
        ],
    )
    stream = io.BytesIO()
    book.save(stream)
    return stream.getvalue()


def pdf(reading: Reading) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=8, leading=10, wordWrap="CJK")
    title = ParagraphStyle("title", parent=body, fontSize=15, leading=19, spaceAfter=4)
    heading = ParagraphStyle("heading", parent=body, fontSize=11, leading=14, spaceBefore=6, spaceAfter=3)

    def p(text: Any, style: ParagraphStyle = body) -> Paragraph:
        return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)

    def table(headers: list[str], rows: list[list[Any]], widths: list[float]) -> Table:
        grid = Table(
            [[p(h) for h in headers], *[[p(v) for v in row] for row in rows]], colWidths=widths, repeatRows=1
        )
        grid.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eefb")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return grid

    assessment = reading.assessment
    author = assessment.author.get_username() if assessment.author else ""
    story: list[Any] = [
        p(_("The Model health check"), title),
        p(
            f"{_('Assessed on')}: {assessment.assessed_on:%Y-%m-%d}  {_('Author')}: {author}  "
            f"{_('Overall')}: {_percent(reading.overall)}"
        ),
    ]
    if assessment.summary:
        story += [Spacer(1, 3 * mm), p(assessment.summary)]
    story += [p(_("Scores by category"), heading)]
    story.append(
        table(
            [_("Category"), _("Score")],
            [[f"{c.category.number}. {c.category.name}", _percent(c.score)] for c in reading.categories],
            [90 * mm, 25 * mm],
        )
    )
    story += [p(_("Prioritised improvements"), heading)]
    improvements = improvement_rows(reading)
    if improvements:
        story.append(
            table(
                [_("Priority"), _("No."), _("Check item"), _("Mark"), _("Weight"), _("The article's advice")],
                improvements,
                [14 * mm, 12 * mm, 110 * mm, 12 * mm, 16 * mm, 90 * mm],
            )
        )
    else:
        story.append(p(_("Nothing to improve: every assessed item is in place.")))
    story += [p(_("The sheet"), heading)]
    story.append(
        table(
            sheet_headers(),
            sheet_rows(reading),
            [32 * mm, 10 * mm, 75 * mm, 10 * mm, 55 * mm, 65 * mm, 18 * mm],
        )
    )
    story += [Spacer(1, 3 * mm), p(str(load().source))]
    stream = io.BytesIO()
    document = SimpleDocTemplate(
        stream,
        pagesize=landscape(A4),
        leftMargin=10 * mm,
        rightMargin=10 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=str(_("The Model health check")),
    )
    document.build(story)
    return stream.getvalue()
