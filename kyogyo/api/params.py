"""Parameters shared by the API's operations."""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Annotated, Any

from ninja import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    WithJsonSchema,
)

# Ids are 64-bit in the database; a larger number is refused as invalid input (422) rather
# than reaching the database as an overflow.
MAX_ID = 2**63 - 1

RecordId = Annotated[int, Path(ge=1, le=MAX_ID, description="the record's id")]


# Control characters (NUL above all, which PostgreSQL cannot store) are refused in text;
# tab and line breaks are allowed.
SAFE_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


_Safe = StringConstraints(pattern=SAFE_TEXT)

# Texts without control characters, by their longest length (and ``Required…`` when empty
# text is not allowed). Written out, not built by a function, so type checkers see them.
Text40 = Annotated[str, _Safe, StringConstraints(max_length=40)]
Text60 = Annotated[str, _Safe, StringConstraints(max_length=60)]
Text100 = Annotated[str, _Safe, StringConstraints(max_length=100)]
Text150 = Annotated[str, _Safe, StringConstraints(max_length=150)]
Text200 = Annotated[str, _Safe, StringConstraints(max_length=200)]
Text254 = Annotated[str, _Safe, StringConstraints(max_length=254)]
Text2000 = Annotated[str, _Safe, StringConstraints(max_length=2000)]
Key = Annotated[str, _Safe, StringConstraints(min_length=1, max_length=40)]
RequiredText100 = Annotated[str, _Safe, StringConstraints(min_length=1, max_length=100)]
RequiredText200 = Annotated[str, _Safe, StringConstraints(min_length=1, max_length=200)]


# Numbers, flags, dates and times in request bodies are taken only in their JSON form:
# pydantic would otherwise read "5" as 5, 1 as true and 0.5 as a Unix time, accepting input
# the schema calls invalid.
MAX_INT = 2_147_483_647
BodyId = Annotated[int, Strict(), Field(ge=1, le=MAX_ID)]
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_INT)]
Flag = Annotated[bool, Strict()]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _iso_moment(value: Any) -> Any:
    if isinstance(value, dt.datetime) or (isinstance(value, str) and _ISO_MOMENT.match(value)):
        return value
    raise ValueError("expected a date-time in ISO 8601 with a time zone, e.g. 2026-04-01T09:00:00+09:00")


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


# Business records fall within these years; outside them a value is a mistake, and time
# arithmetic near year 1 or 9999 overflows.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


def _plausible_year(value: Any) -> Any:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"the year must be between {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_iso_moment), AfterValidator(_plausible_year)]
Day = Annotated[dt.date, BeforeValidator(_iso_date), AfterValidator(_plausible_year)]


class Input(BaseModel):
    """A request body: fields it does not know are refused, not ignored (a typo in a field
    name would otherwise look like a successful change).

    A plain pydantic model, not ninja's ``Schema``: that one reads its input through a
    wrapper meant for ORM objects and, with unknown fields forbidden, validates everything
    twice — for a bulk body, every item twice per level of nesting. A body is JSON, so
    neither is needed."""

    model_config = ConfigDict(extra="forbid")


def omissible(**kwargs: Any) -> Any:
    """A field an update may leave out (nothing changes) but may not send as null: the
    stored value cannot be empty. (Typed ``Any`` so the field keeps its own type.)"""
    return Field(None, **kwargs)


# A whole number as JSON sends it (never "5" or 5.0); bounds go in the field.
Whole = Annotated[int, Strict()]


def inline_choices(choices: type[Enum]) -> WithJsonSchema:
    """Write a field's choices into the schema where it is used. Ninja gathers every model's
    named definitions into one namespace, where ``Account.Kind`` and ``ReasonCode.Kind``
    (or the three ``Status`` classes) would collide as one ``Kind``."""
    return WithJsonSchema({"type": "string", "enum": [choice.value for choice in choices]})
