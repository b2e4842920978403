"""vocabularies in the database: CHECK constraints keep dyads.status and
health_status, meetings.status and modality, meeting_changes.kind,
objectives.direction, group_events.kind and modality inside their vocabularies
(services/sessions/enums.py, domain.Health, domain.Direction)

Rows already outside a vocabulary stop the upgrade with an error naming the
column and the values found; nothing is rewritten silently.

The constraints are added in place. On SQLite a rebuild of ``dyads`` or
``meetings`` (batch mode's "move and copy") fails as soon as other rows
reference theirs, because the connection enforces foreign keys and that pragma
cannot be switched off inside the migration's transaction; so the constraint is
written into the table's SQL by the procedure SQLite documents for schema
changes that leave existing rows valid (lang_altertable.html, "Making Other
Kinds Of Table Schema Changes"), as participants' roster0001 does.

Revision ID: sessions_vocabularies
Revises: sessions_indexes0001
Create Date: 2026-12-07 20:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'sessions_vocabularies'
down_revision: Union[str, Sequence[str], None] = 'sessions_indexes0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

VOCABULARIES: dict[tuple[str, str], tuple[str, ...]] = {
    ('dyads', 'status'): ('active', 'dissolved', 'completed'),
    ('dyads', 'health_status'): ('green', 'amber', 'red'),
    ('meetings', 'status'): ('scheduled', 'held', 'rescheduled', 'cancelled', 'no_show'),
    ('meetings', 'modality'): ('virtual', 'in_person'),
    ('meeting_changes', 'kind'): ('rescheduled', 'cancelled', 'no_show'),
    ('objectives', 'direction'): ('increase', 'decrease'),
    ('group_events', 'kind'): ('kickoff', 'accompaniment', 'in_person_cohort', 'other'),
    ('group_events', 'modality'): ('virtual', 'in_person'),
}


def _name(table: str, column: str) -> str:
    return f"ck_{table}_{column}"


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _clause(table: str, column: str, values: tuple[str, ...]) -> str:
    return f",\n\tCONSTRAINT {_name(table, column)} CHECK ({_condition(column, values)})"


def _tables() -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    tables: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for (table, column), values in VOCABULARIES.items():
        tables.setdefault(table, []).append((column, values))
    return tables


def _refuse_strays(bind: sa.Connection) -> None:
    strays = []
    for (table, column), values in VOCABULARIES.items():
        t = sa.table(table, sa.column(column, sa.String()))
        found = bind.execute(
            sa.select(t.c[column]).where(t.c[column].is_not(None), t.c[column].not_in(values)).distinct()
        ).scalars().all()
        if found:
            strays.append(f"{table}.{column}: {sorted(found)}")
    if strays:
        raise RuntimeError("Values outside their vocabularies; correct them, then migrate again: " + "; ".join(strays))


def _sqlite_edit(bind: sa.Connection, edits: dict[str, str]) -> None:
    """Replace these tables' SQL in sqlite_schema, then check the database (see the top)."""
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    for table, sql in edits.items():
        bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table))
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"SQLite integrity check failed after changing the CHECK constraints: {problems}")


def _sqlite_sql(bind: sa.Connection, table: str) -> str:
    return bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).scalar_one()


def upgrade() -> None:
    """Upgrade schema."""
    bind = op.get_bind()
    _refuse_strays(bind)
    if bind.dialect.name != "sqlite":
        for (table, column), values in VOCABULARIES.items():
            op.create_check_constraint(op.f(_name(table, column)), table, _condition(column, values))
        return
    edits = {}
    for table, columns in _tables().items():
        sql = _sqlite_sql(bind, table)
        end = sql.rstrip().rindex(")")
        edits[table] = sql[:end].rstrip() + "".join(_clause(table, c, v) for c, v in columns) + "\n" + sql[end:]
    _sqlite_edit(bind, edits)


def downgrade() -> None:
    """Downgrade schema."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        for table, column in reversed(list(VOCABULARIES)):
            op.drop_constraint(op.f(_name(table, column)), table, type_="check")
        return
    edits = {}
    for table, columns in _tables().items():
        sql = _sqlite_sql(bind, table)
        for column, values in columns:
            clause = _clause(table, column, values)
            if clause not in sql:
                raise RuntimeError(f"{table} does not declare {_name(table, column)} as this migration wrote it")
            sql = sql.replace(clause, "")
        edits[table] = sql
    _sqlite_edit(bind, edits)
