"""Parameters shared by the API's operations."""

from __future__ import annotations

from typing import Annotated

from ninja import Path
from pydantic import StringConstraints

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
