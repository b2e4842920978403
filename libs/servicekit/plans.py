"""Query plans: which tables a statement reads whole.

A hot query must not grow with other institutions' rows: it should reach its
rows through an index that starts with the tenant, parent or status it filters
on. ``explain`` asks the database for the plan of the very statement the code
runs (SQLAlchemy Core or ORM, its parameters bound as in service) and reports
the tables it would read whole:

- PostgreSQL (``EXPLAIN (FORMAT JSON)``): a ``Seq Scan`` of the table, or an
  index scan with no index condition (walking a whole index, e.g. the primary
  key for an ``ORDER BY id``, reads the whole table as surely);
- SQLite (``EXPLAIN QUERY PLAN``): ``SCAN table`` (with or without ``USING
  INDEX``), as opposed to ``SEARCH table USING ... INDEX (col=?)``.

The question a plan test asks is whether an index *could* serve the filter,
not what the planner picks for today's row counts: on tiny test tables
PostgreSQL rightly prefers a sequential scan. So on PostgreSQL the plan is
made with sequential scans priced out of reach (``SET LOCAL enable_seqscan =
off`` in a transaction that is rolled back). The planner then uses an index
wherever one can serve the query, and a ``Seq Scan`` that remains, or an
unconditioned index scan, means none can. SQLite's planner picks an index
whenever one matches, whatever the row counts, so its plan is read as is. The
answer depends on the schema and the statement only: deterministic, no timing.
EXPLAIN never runs the statement (no rows are read or written, no locks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

_SQLITE_STEP = re.compile(r"^(SCAN|SEARCH) (?:TABLE )?(\w+)")


@dataclass(frozen=True)
class Plan:
    """What a statement's plan reads: ``full_scans`` the tables read whole, ``indexed`` those reached through an
    index condition; ``text`` the plan as the database printed it (for assertion messages)."""

    dialect: str
    full_scans: frozenset[str]
    indexed: frozenset[str]
    text: str = field(repr=False)

    def reads_whole(self, table: str) -> bool:
        return table in self.full_scans


def _connection(bind: Connection | Engine | Session) -> tuple[Connection, bool]:
    """A connection to explain on, and whether it is ours to close."""
    if isinstance(bind, Session):
        return bind.connection(), False
    if isinstance(bind, Engine):
        return bind.connect(), True
    return bind, False


def _raw_plan(conn: Connection, stmt: Any, prefix: str) -> list[tuple[Any, ...]]:
    """Run ``prefix + <the statement's SQL>`` with the statement's own bound parameters (compiled and processed
    exactly as when the code executes it) and return the raw rows of the plan. ``stmt`` is a SQLAlchemy statement,
    or an ``Executed`` statement recorded as the driver received it."""
    if isinstance(stmt, Executed):
        return [tuple(r) for r in conn.exec_driver_sql(prefix + stmt.sql, stmt.parameters).fetchall()]

    def explain_instead(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> Any:
        return prefix + statement, parameters

    event.listen(conn, "before_cursor_execute", explain_instead, retval=True)
    try:
        result = conn.execute(stmt)
        rows = [tuple(r) for r in result.cursor.fetchall()]  # type: ignore[attr-defined]
        result.close()
        return rows
    finally:
        event.remove(conn, "before_cursor_execute", explain_instead)


@dataclass(frozen=True)
class Executed:
    """A statement as the code sent it to the driver (SQL and parameters), recorded by ``recording``."""

    sql: str
    parameters: Any


_EXPLAINABLE = ("SELECT", "WITH", "UPDATE", "DELETE")


@contextmanager
def recording(engine: Engine) -> Iterator[list[Executed]]:
    """Record the SELECT, UPDATE and DELETE statements run on ``engine`` inside the block (e.g. by one HTTP request
    to an app on that engine), to ``explain`` each afterwards: the plans of what the code really ran."""
    seen: list[Executed] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if not many and statement.lstrip().upper().startswith(_EXPLAINABLE):
            seen.append(Executed(statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _pg_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from _pg_nodes(child)


def _postgresql(conn: Connection, stmt: Any) -> Plan:
    transaction = conn.begin_nested() if conn.in_transaction() else conn.begin()
    try:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = _raw_plan(conn, stmt, "EXPLAIN (FORMAT JSON) ")
    finally:
        transaction.rollback()
    document = rows[0][0]
    if isinstance(document, str):
        document = json.loads(document)
    full, indexed = set(), set()
    for node in _pg_nodes(document[0]["Plan"]):
        table = node.get("Relation Name")
        if table is None:
            continue
        kind = node["Node Type"]
        if kind == "Seq Scan" or (kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node):
            full.add(table)
        else:
            indexed.add(table)
    return Plan("postgresql", frozenset(full), frozenset(indexed), json.dumps(document, indent=1))


def _sqlite(conn: Connection, stmt: Any) -> Plan:
    rows = _raw_plan(conn, stmt, "EXPLAIN QUERY PLAN ")
    full, indexed = set(), set()
    for row in rows:
        match = _SQLITE_STEP.match(str(row[-1]))
        if match is None:
            continue
        verb, table = match.groups()
        if table == "CONSTANT" or table.startswith("sqlite_"):
            continue
        if verb == "SCAN":
            full.add(table)
        elif verb == "SEARCH":
            indexed.add(table)
    return Plan("sqlite", frozenset(full), frozenset(indexed), "\n".join(str(r[-1]) for r in rows))


def explain(bind: Connection | Engine | Session, stmt: Any) -> Plan:
    """The plan of ``stmt`` (a SQLAlchemy SELECT, UPDATE or DELETE, or a recorded ``Executed`` one) on ``bind``'s
    database: see the module's doc."""
    conn, own = _connection(bind)
    try:
        if conn.dialect.name == "postgresql":
            return _postgresql(conn, stmt)
        if conn.dialect.name == "sqlite":
            return _sqlite(conn, stmt)
        raise ValueError(f"query plans are read on PostgreSQL and SQLite, the two databases the platform runs on, not on {conn.dialect.name}")
    finally:
        if own:
            conn.close()


def full_scans(bind: Connection | Engine | Session, stmt: Any) -> frozenset[str]:
    """The tables ``stmt`` reads whole."""
    return explain(bind, stmt).full_scans


def whole_table_reads(engine: Engine, executed: list[Executed], *, allowed: frozenset[str] = frozenset()) -> list[str]:
    """One line per recorded statement that reads a table other than ``allowed`` whole: the tables, the SQL and the
    plan. Empty when every statement reaches its rows through an index."""
    lines = []
    for stmt in executed:
        plan = explain(engine, stmt)
        whole = plan.full_scans - allowed
        if whole:
            lines.append(f"reads {sorted(whole)} whole: {' '.join(stmt.sql.split())}\n{plan.text}")
    return lines


__all__ = ["Executed", "Plan", "explain", "full_scans", "recording", "whole_table_reads"]
