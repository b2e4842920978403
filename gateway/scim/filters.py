"""SCIM filters and sorting as SQL (SQLAlchemy), from scim2-models' parse tree.

scim2-models parses and checks a filter against the resource model
(``SearchRequest[ScimUser]``: unknown attributes, operators a type forbids and
values of the wrong type are ``invalidFilter`` before any SQL exists). This
module walks the checked tree (``FilterVisitor``) and turns each attribute into
the column that stores it (``AttributeMap``):

- strings compare without case unless the attribute is ``caseExact``;
  ``co``/``sw``/``ew`` are LIKE with the operand's ``%`` and ``_`` escaped;
- every comparison is two-valued (an unassigned attribute is never equal, and
  always ``ne``), so ``not`` means what it says;
- a multi-valued attribute (``emails``, ``members``, ``groups``) is an
  ``EXISTS`` over its table, with a value filter (``emails[type eq "work"]``)
  inside the same ``EXISTS``;
- an attribute that has no column here (read-only lists such as
  ``urn:...:User:roles``) is ``invalidFilter`` (400), never ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scim2_models import InvalidFilterException, InvalidPathException, ScimFilter
from scim2_models.path import (
    AttrPath,
    AttributeBinding,
    CompareOperator,
    Comparison,
    FilterVisitor,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
    coerce_value,
)
from sqlalchemy import and_, exists, false, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement


@dataclass(frozen=True)
class Column:
    """One stored attribute: its SQL expression and how it compares."""

    expr: Any
    kind: str = "string"  # string | bool | datetime | uuid
    case_exact: bool = False
    sortable: bool = True
    nullable: bool = True


@dataclass(frozen=True)
class Multi:
    """A multi-valued attribute stored in its own table, linked to the row."""

    table: Any
    link: Callable[[], ColumnElement[bool]]
    columns: dict[str, Column] = field(default_factory=dict)
    order: tuple[Any, ...] = ()  # the entries' own order (the first value sorts when none is primary)


Key = tuple[str, str, str | None]  # (schema, python field name, python sub-field name)


@dataclass(frozen=True)
class AttributeMap:
    """Where each SCIM attribute of a resource type is stored."""

    scalars: dict[Key, Column]
    multis: dict[tuple[str, str], Multi]


def _schema_of(binding: AttributeBinding) -> str:
    return str(getattr(binding.model, "__schema__", "") or "")


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_OPERATORS: dict[CompareOperator, Callable[[Any, Any], Any]] = {
    CompareOperator.eq: lambda a, b: a == b,
    CompareOperator.ne: lambda a, b: a != b,
    CompareOperator.gt: lambda a, b: a > b,
    CompareOperator.ge: lambda a, b: a >= b,
    CompareOperator.lt: lambda a, b: a < b,
    CompareOperator.le: lambda a, b: a <= b,
}


def _compare(column: Column, op: CompareOperator, value: Any) -> ColumnElement[bool]:
    expr = column.expr
    if value is None:  # "attr eq null" / "attr ne null"
        if op == CompareOperator.eq:
            return expr.is_(None)
        if op == CompareOperator.ne:
            return expr.is_not(None)
        raise InvalidFilterException(detail=f"null can only be compared with eq or ne (got {op.value})")
    if column.kind == "uuid":
        if op not in (CompareOperator.eq, CompareOperator.ne):
            raise InvalidFilterException(detail=f"id can only be compared with eq or ne (got {op.value})")
        try:
            parsed = uuid.UUID(str(value))
        except ValueError:
            return false() if op == CompareOperator.eq else true()
        return expr == parsed if op == CompareOperator.eq else expr != parsed
    if column.kind == "string":
        if not isinstance(value, str):
            raise InvalidFilterException(detail="this attribute compares with a string")
        if not column.case_exact:
            expr, value = func.lower(expr), value.lower()
        if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
            pattern = _escape_like(value)
            pattern = {"co": f"%{pattern}%", "sw": f"{pattern}%", "ew": f"%{pattern}"}[op.value]
            return and_(column.expr.is_not(None), expr.like(pattern, escape="\\"))
    elif column.kind == "datetime" and not isinstance(value, datetime):
        raise InvalidFilterException(detail="this attribute compares with a dateTime")
    elif column.kind == "bool" and not isinstance(value, bool):
        raise InvalidFilterException(detail="this attribute compares with true or false")
    if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
        raise InvalidFilterException(detail=f"{op.value} compares strings only")
    if column.kind == "bool" and op not in (CompareOperator.eq, CompareOperator.ne):
        raise InvalidFilterException(detail=f"{op.value} does not apply to a boolean")
    condition = _OPERATORS[op](expr, value)
    if not column.nullable:
        return condition
    if op == CompareOperator.ne:
        return or_(column.expr.is_(None), condition)
    return and_(column.expr.is_not(None), condition)


def _present(column: Column) -> ColumnElement[bool]:
    if not column.nullable:
        return true()
    if column.kind == "string":
        return and_(column.expr.is_not(None), column.expr != "")
    return column.expr.is_not(None)


class SqlFilter(FilterVisitor[ColumnElement[bool]]):
    """A checked ``ScimFilter`` as a SQLAlchemy condition on one resource type."""

    def __init__(self, scim_filter: ScimFilter[Any], attributes: AttributeMap) -> None:
        self.filter = scim_filter
        self.attributes = attributes

    def condition(self) -> ColumnElement[bool]:
        return self.visit(self.filter.ast)

    # -- attribute lookup -------------------------------------------------------

    def _resolve(self, attr_path: AttrPath, *, comparison: bool) -> AttributeBinding:
        resolve = self.filter.resolve_comparison if comparison else self.filter.resolve
        try:
            binding = resolve(attr_path, strict=True)
        except InvalidPathException as exc:
            raise InvalidFilterException(detail=exc.detail) from exc
        assert binding is not None
        return binding

    def _target(self, binding: AttributeBinding) -> tuple[Multi | None, Column | None]:
        schema = _schema_of(binding)
        multi = self.attributes.multis.get((schema, binding.field_name))
        if multi is not None:
            column = multi.columns.get(binding.sub_field_name or "value")
        else:
            column = self.attributes.scalars.get((schema, binding.field_name, binding.sub_field_name))
        if column is None:
            raise InvalidFilterException(detail=f"Filtering on {binding.urn} is not supported")
        return multi, column

    # -- nodes ----------------------------------------------------------------------

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        binding = self._resolve(node.attr_path, comparison=True)
        value = coerce_value(binding, node.value, node.op)
        multi, column = self._target(binding)
        condition = _compare(column, node.op, value)
        if multi is None:
            return condition
        if node.op == CompareOperator.ne:
            # "emails ne x": no address equals x (every value differs).
            return not_(exists(select(1).select_from(multi.table).where(multi.link(), _compare(column, CompareOperator.eq, value))))
        return exists(select(1).select_from(multi.table).where(multi.link(), condition))

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        binding = self._resolve(node.attr_path, comparison=False)
        schema = _schema_of(binding)
        multi = self.attributes.multis.get((schema, binding.field_name))
        if multi is not None:
            inner = [multi.link()]
            if binding.sub_field_name:
                column = multi.columns.get(binding.sub_field_name)
                if column is None:
                    raise InvalidFilterException(detail=f"Filtering on {binding.urn} is not supported")
                inner.append(_present(column))
            return exists(select(1).select_from(multi.table).where(*inner))
        if binding.sub_field_name is None:
            parts = [c for (s, f, sub), c in self.attributes.scalars.items() if s == schema and f == binding.field_name and sub]
            if parts:  # a complex attribute is present when one of its sub-attributes is
                return or_(*(_present(c) for c in parts))
        column = self.attributes.scalars.get((schema, binding.field_name, binding.sub_field_name))
        if column is None:
            raise InvalidFilterException(detail=f"Filtering on {binding.urn} is not supported")
        return _present(column)

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        binding = self._resolve(node.attr_path, comparison=False)
        multi = self.attributes.multis.get((_schema_of(binding), binding.field_name))
        if multi is None:
            raise InvalidFilterException(detail=f"Filtering on {binding.urn} is not supported")
        inner = _Inner(self, node.attr_path, multi)
        return exists(select(1).select_from(multi.table).where(multi.link(), inner.visit(node.val_filter)))


class _Inner(FilterVisitor[ColumnElement[bool]]):
    """The filter inside ``emails[...]``: sub-attributes of one entry."""

    def __init__(self, outer: SqlFilter, attr_path: AttrPath, multi: Multi) -> None:
        self.outer = outer
        self.attr_path = attr_path
        self.multi = multi

    def _column(self, sub: AttrPath, *, comparison: bool) -> tuple[AttributeBinding, Column]:
        if sub.sub_attr is not None:
            raise InvalidFilterException(detail=f"{sub} is not a sub-attribute of {self.attr_path}")
        full = AttrPath(self.attr_path.attr, sub.attr, self.attr_path.uri)
        binding = self.outer._resolve(full, comparison=comparison)
        column = self.multi.columns.get(binding.sub_field_name or "")
        if column is None:
            raise InvalidFilterException(detail=f"Filtering on {binding.urn} is not supported")
        return binding, column

    def visit_comparison(self, node: Comparison) -> ColumnElement[bool]:
        binding, column = self._column(node.attr_path, comparison=True)
        return _compare(column, node.op, coerce_value(binding, node.value, node.op))

    def visit_present(self, node: Present) -> ColumnElement[bool]:
        return _present(self._column(node.attr_path, comparison=False)[1])

    def visit_not(self, node: Not) -> ColumnElement[bool]:
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node: LogicalExpr) -> ColumnElement[bool]:
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node: ValuePath) -> ColumnElement[bool]:
        raise InvalidFilterException(detail="A value filter cannot nest another one")


def sort_expression(binding: AttributeBinding | None, attributes: AttributeMap, urn: str) -> Any:
    """The SQL expression ordering by ``sortBy`` (strings without case unless caseExact)."""
    if binding is None:
        raise InvalidPathException(detail=f"Cannot sort on {urn!r}")
    schema = _schema_of(binding)
    multi = attributes.multis.get((schema, binding.field_name))
    if multi is not None:
        column = multi.columns.get(binding.sub_field_name or "value")
        if column is None or not column.sortable or "primary" not in multi.columns:
            raise InvalidPathException(detail=f"Sorting on {urn} is not supported")
        primary = multi.columns["primary"].expr
        expr = func.lower(column.expr) if column.kind == "string" and not column.case_exact else column.expr
        # RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary value, else its first.
        return (
            select(expr)
            .select_from(multi.table)
            .where(multi.link())
            .order_by(primary.desc(), *multi.order)
            .limit(1)
            .scalar_subquery()
        )
    column = attributes.scalars.get((schema, binding.field_name, binding.sub_field_name))
    if column is None or not column.sortable:
        raise InvalidPathException(detail=f"Sorting on {urn} is not supported")
    if column.kind == "string" and not column.case_exact:
        return func.lower(column.expr)
    return column.expr
