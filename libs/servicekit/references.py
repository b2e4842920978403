"""Ids inside request bodies are checked like ids in paths.

A body field that names another object (``records[].participant_id``,
``pinned_pairs[].mentor_participant_id``, ``campus_id``) must name one in the
right tenant and, where the route has a parent object (the event's program,
the objective's dyad), under that parent. A service declares this once per
route, next to the route::

    ATTENDANCE = References(
        Ref("records[].participant_id", PROGRAM_MEMBER),
        operations=("record_attendance",),
    )
    ...
    ATTENDANCE.check(body, session=session, tenant=event.institution_id, parent=event.program_id)

and calls ``check`` before it writes anything. What a reference may point to
is a ``Target``:

- ``Rows``: ids found in columns of one of the service's own tables (its
  replica of another service's objects included, e.g. the dyads sessions
  keeps from ``match.activated``), filtered by the tenant column, the parent
  column and any further conditions;
- ``Given``: ids the route learnt for this request from what it already reads
  (its client of the service that owns them, a run's stored inputs), passed to
  ``check(given=...)`` by name.

Every id of one target is looked up in one query, however many fields and
list items carry it (a list of 500 attendees is one query, not 500). When
some are unknown nothing is written: the answer is one 422 problem,
``urn:aliada:problem:unknown-reference``, whose ``errors`` name each field by
its location (``body.records.2.participant_id``) with code
``unknown_reference``. An id that does not exist and an id of another tenant
(or another parent) get the same answer, so the answer tells nothing about
other tenants. A malformed id never gets here: the body model types it
``uuid.UUID`` and validation answers 422 naming the field.

Every ``References`` declares the operation ids it guards; ``declared()``
lists them, and the suite compares that with the request bodies of the
committed OpenAPI documents (``tests/test_body_references.py``), so a new id
field in a body is either declared here or exempted there with a reason.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import or_, select

from servicekit.problems import FieldError, ProblemError

SLUG = "unknown-reference"
CODE = "unknown_reference"


@dataclass(frozen=True)
class Scope:
    """Where the references of one request must point: the tenant, the parent object, and what the route was given."""

    tenant: uuid.UUID
    parent: uuid.UUID | None = None
    session: Any = None
    given: Mapping[str, Iterable[Any]] = field(default_factory=dict)


class Target(Protocol):
    """What a reference may name. ``description`` completes 'Not ...' (``a participant of this program``)."""

    description: str

    def known(self, ids: set[uuid.UUID], scope: Scope) -> set[uuid.UUID]:
        """The ids among ``ids`` that exist in the scope (one lookup for all of them)."""
        ...


@dataclass(frozen=True, eq=False)
class Rows:
    """Ids stored in ``columns`` of one local table (any of them), in the tenant, under the parent."""

    description: str
    columns: tuple[Any, ...]
    tenant: Any
    parent: Any = None
    where: tuple[Any, ...] = ()

    def known(self, ids: set[uuid.UUID], scope: Scope) -> set[uuid.UUID]:
        if scope.session is None:
            raise TypeError(f"checking references to {self.description} needs a database session")
        conditions = [self.tenant == scope.tenant, or_(*(c.in_(ids) for c in self.columns)), *self.where]
        if self.parent is not None:
            if scope.parent is None:
                raise TypeError(f"references to {self.description} are checked under a parent: give parent=")
            conditions.append(self.parent == scope.parent)
        rows = scope.session.execute(select(*self.columns).where(*conditions)).all()
        return {_as_uuid(v) for row in rows for v in row if v is not None} & ids


@dataclass(frozen=True, eq=False)
class Given:
    """Ids the route passes to ``check(given={name: ids})``, read from what the service already knows."""

    name: str
    description: str

    def known(self, ids: set[uuid.UUID], scope: Scope) -> set[uuid.UUID]:
        if self.name not in scope.given:
            raise TypeError(f"references to {self.description} need given={{{self.name!r}: ...}}")
        return {u for u in (_as_uuid(v) for v in scope.given[self.name]) if u is not None} & ids


@dataclass(frozen=True)
class Ref:
    """One body field naming a ``target``: ``path`` is dotted, ``[]`` marks a list (``decisions[].application_id``,
    ``application_ids[]``). A missing or null value is not a reference."""

    path: str
    target: Target


_REGISTRY: list[References] = []


class References:
    """The references a route's body carries, checked together before the route writes."""

    def __init__(self, *refs: Ref, operations: tuple[str, ...]) -> None:
        if not refs or not operations:
            raise ValueError("declare at least one reference and the operations it guards")
        self.refs = refs
        self.operations = operations
        self.module: str = sys._getframe(1).f_globals.get("__name__", "")  # who declared it, for declared(within=)
        _REGISTRY.append(self)

    def fields(self) -> set[str]:
        """The declared fields as the OpenAPI inventory spells them (``body.records[].participant_id``)."""
        return {f"body.{r.path}" for r in self.refs}

    def check(
        self,
        body: Any,
        *,
        tenant: uuid.UUID,
        parent: uuid.UUID | None = None,
        session: Any = None,
        given: Mapping[str, Iterable[Any]] | None = None,
    ) -> None:
        """Raise the unknown-reference problem when any declared field names an id outside the scope."""
        scope = Scope(tenant=tenant, parent=parent, session=session, given=given or {})
        found: list[tuple[str, uuid.UUID | None, Target]] = []
        wanted: dict[Target, set[uuid.UUID]] = {}
        for ref in self.refs:
            for location, value in _values(body, ref.path.split("."), "body"):
                ident = _as_uuid(value)
                found.append((location, ident, ref.target))
                if ident is not None:
                    wanted.setdefault(ref.target, set()).add(ident)
        known = {target: target.known(ids, scope) for target, ids in wanted.items()}
        errors = [
            FieldError(field=location, message=f"Not {target.description}", code=CODE)
            for location, ident, target in found
            if ident is None or ident not in known[target]
        ]
        if errors:
            raise unknown_reference(errors)


def unknown_reference(errors: list[FieldError]) -> ProblemError:
    """The one answer for ids in a body that name nothing the caller may refer to."""
    names = ", ".join(e.field for e in errors[:5])
    more = "" if len(errors) <= 5 else f" and {len(errors) - 5} more"
    return ProblemError(
        422,
        f"{len(errors)} reference{'s name' if len(errors) != 1 else ' names'} nothing here: {names}{more}",
        slug=SLUG,
        title="Unknown reference",
        errors=errors,
    )


def unknown_field(location: str, description: str) -> ProblemError:
    """The same answer for one field checked by other means (e.g. another service's answer)."""
    return unknown_reference([FieldError(field=location, message=f"Not {description}", code=CODE)])


def declared(within: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """Declared body fields by operation id (the modules declaring them must be imported); ``within``: only
    declarations made in modules whose names start with one of these prefixes."""
    out: dict[str, set[str]] = {}
    for refs in _REGISTRY:
        if within and not refs.module.startswith(within):
            continue
        for op in refs.operations:
            out.setdefault(op, set()).update(refs.fields())
    return out


def _as_uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _values(node: Any, parts: list[str], location: str) -> Iterator[tuple[str, Any]]:
    if node is None:
        return
    if not parts:
        yield location, node
        return
    head, rest = parts[0], parts[1:]
    many = head.endswith("[]")
    name = head[:-2] if many else head
    if name:
        node = node.get(name) if isinstance(node, Mapping) else getattr(node, name, None)
        location = f"{location}.{name}"
    if node is None:
        return
    if not many:
        yield from _values(node, rest, location)
        return
    for i, item in enumerate(node):
        yield from _values(item, rest, f"{location}.{i}")
