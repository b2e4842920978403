"""The two constraints most tables of ``models`` declare: a column holding one
value of a vocabulary, and a reference that stays inside its tenant."""

from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint


def one_of(column: str, vocabulary: type[StrEnum], *, nullable: bool = False) -> CheckConstraint:
    """CHECK that ``column`` holds a value of ``vocabulary`` (named ``ck_<table>_<column>``)."""
    values = ", ".join(repr(v.value) for v in vocabulary)
    condition = f"{column} IN ({values})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=column)


def tenant_fk(column: str, table: str, **kwargs: Any) -> ForeignKeyConstraint:
    """``(institution_id, column)`` → ``table(institution_id, id)``: same-tenant references only."""
    return ForeignKeyConstraint(["institution_id", column], [f"{table}.institution_id", f"{table}.id"], **kwargs)
