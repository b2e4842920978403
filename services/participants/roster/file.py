"""The roster file: its charset, its header, its rows (the format is in the package's docstring)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from servicekit.inputs import unstorable
from servicekit.problems import field_problem

from services.participants.schemas.roster import REQUIRED_COLUMNS, ROSTER_COLUMNS

DELIMITERS = (",", ";", "\t")


@dataclass(frozen=True)
class Header:
    delimiter: str
    columns: list[str]  # every header cell, normalised, in file order
    roster_columns: list[str]
    ignored: list[str]
    rows_total: int


def normalise(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def decode(content: bytes, charset: str | None) -> str:
    """The upload as text: its charset (default UTF-8), without a BOM."""
    encoding = (charset or "utf-8").strip().strip('"').lower()
    try:
        text = content.decode("utf-8-sig" if encoding in ("utf-8", "utf8") else encoding)
    except LookupError:
        raise field_problem("header.content-type", f"Unknown charset {charset!r}", status=415, code="unsupported_charset") from None
    except UnicodeDecodeError as exc:
        raise field_problem(
            "body", f"The file is not valid {encoding} (byte {exc.start}); save it as UTF-8", code="bad_encoding"
        ) from None
    if (what := unstorable(text)) is not None:  # servicekit's input rule
        raise field_problem("body", f"The file contains {what}: it is not a CSV text file", code="not_csv")
    return text


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _reader(text: str, delimiter: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def read_header(text: str) -> Header:
    """Check the header and count the data rows; a problem here refuses the upload."""
    delimiter = _delimiter(text)
    reader = _reader(text, delimiter)
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise field_problem("body", "The file is empty: the first row must name the columns", code="no_header")
        columns = [normalise(cell) for cell in header]
        rows_total = sum(1 for record in reader if any(cell.strip() for cell in record))
    except csv.Error as exc:
        raise field_problem("body", f"Not valid CSV near line {reader.line_num}: {exc}", code="not_csv") from None  # type: ignore[attr-defined]
    repeated = sorted({c for c in columns if columns.count(c) > 1 and c})
    if repeated:
        raise field_problem("body.header", f"Columns named more than once: {', '.join(repeated)}", code="duplicate_columns")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if "display_name" not in columns and "given_name" not in columns:
        missing.append("display_name or given_name")
    if missing:
        raise field_problem(
            "body.header",
            f"Missing columns: {', '.join(missing)} (roster columns: {', '.join(ROSTER_COLUMNS)})",
            code="missing_columns",
        )
    return Header(
        delimiter=delimiter,
        columns=columns,
        roster_columns=[c for c in columns if c in ROSTER_COLUMNS],
        ignored=[c for c in columns if c not in ROSTER_COLUMNS],
        rows_total=rows_total,
    )


def records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of each non-blank data row (the header is row 1)."""
    reader = _reader(text, delimiter)
    next(reader, None)
    for number, record in enumerate(reader, start=2):
        if any(cell.strip() for cell in record):
            yield number, record
