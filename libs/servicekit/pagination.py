"""Keyset pagination with opaque cursors.

Lists return ``{"items": [...], "next_cursor": "..."}``. The cursor encodes the
last row's sort key; tampering with it gives a 400 problem naming ``cursor``.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field
from sqlalchemy import Select
from sqlmodel import Session

from servicekit.problems import field_problem

T = TypeVar("T")

MAX_LIMIT = 200
DEFAULT_LIMIT = 50

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="Opaque cursor from the previous page's `next_cursor`."),
]


class Page(BaseModel, Generic[T]):
    """One page of a list."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to get the next page; null on the last page.")


def encode_cursor(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        value = {"u": value.hex}
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, field: str = "query.cursor") -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if isinstance(value, dict) and set(value) == {"u"}:
            return uuid.UUID(hex=value["u"])
        if isinstance(value, (str, int)):
            return value
    except (ValueError, TypeError, UnicodeDecodeError):
        pass
    raise field_problem(field, "Invalid or tampered cursor", status=400, code="invalid_cursor")


def _python_type(key_column: Any) -> type:
    try:
        return key_column.type.python_type
    except (AttributeError, NotImplementedError):
        return object


def paginate(session: Session, stmt: Select, key_column: Any, *, limit: int, cursor: str | None) -> tuple[list[Any], str | None]:
    """Run ``stmt`` ordered by the unique ``key_column`` after ``cursor``.

    Returns the rows of this page and the cursor of the next one (or None).
    """
    if cursor is not None:
        position = decode_cursor(cursor)
        # A well-formed cursor of the wrong type (e.g. a number for a uuid key)
        # is as invalid as a garbled one: it must not reach the database.
        if not isinstance(position, _python_type(key_column)):
            raise field_problem("query.cursor", "Invalid or tampered cursor", status=400, code="invalid_cursor")
        stmt = stmt.where(key_column > position)
    rows = list(session.exec(stmt.order_by(key_column).limit(limit + 1)).all())  # type: ignore[call-overload]
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(getattr(last, key_column.key))
