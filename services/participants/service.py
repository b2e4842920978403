"""Domain logic of institutions, campuses and academic units.

Every function takes the request's session and never commits: the session
dependency commits once at the end of the request, so a change and its outbox
event are written together or not at all. Whoever calls these functions has
already been authorised for the institution (see ``dependencies``); every query
on a record that belongs to an institution still filters by ``institution_id``,
so an id from another institution is simply not found.

Refusals are problems: 404 for what does not exist here, 409 for a clash with
existing records (naming the field), 422 for references that do not resolve.
Unique constraints in the schema back every uniqueness check made here.
"""

import uuid
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from servicekit.outbox import emit, utcnow
from servicekit.pagination import paginate
from servicekit.problems import FieldError, ProblemError, conflict, not_found
from servicekit.references import Ref, References, Rows as Records

from services.participants.models import AcademicUnit, Application, Campus, Institution, OutboxEvent, Participant
from services.participants.schemas import (
    AcademicUnitCreate,
    AcademicUnitUpdate,
    CampusCreate,
    CampusUpdate,
    InstitutionCreate,
    InstitutionPublic,
    InstitutionUpdate,
)

Rows = tuple[list[Any], str | None]  # one page of rows and the next cursor


def _taken(field: str, detail: str) -> ProblemError:
    return conflict(detail, errors=[FieldError(field=f"body.{field}", message=detail, code="already_exists")])


def _timestamps() -> dict[str, Any]:
    now = utcnow()
    return {"created_at": now, "updated_at": now}


def _apply(record: Any, changes: dict[str, Any]) -> list[str]:
    """Set the fields that really change; stamp ``updated_at`` if any did."""
    changed = [name for name, value in changes.items() if getattr(record, name) != value]
    for name in changed:
        setattr(record, name, changes[name])
    if changed:
        record.updated_at = utcnow()
    return changed


# ---------------------------------------------------------------------------
# Institutions


def _institution_payload(institution: Institution) -> dict[str, Any]:
    return InstitutionPublic.model_validate(institution).model_dump(mode="json")


def _check_slug_free(session: Session, slug: str) -> None:
    if session.exec(select(Institution.id).where(Institution.slug == slug)).first() is not None:
        raise _taken("slug", f"An institution with slug {slug!r} already exists")


def create_institution(session: Session, data: InstitutionCreate) -> Institution:
    _check_slug_free(session, data.slug)
    institution = Institution(**data.model_dump(), **_timestamps())
    session.add(institution)
    session.flush()
    emit(
        session,
        OutboxEvent,
        "institution.created",
        subject=institution.id,
        tenant_id=institution.id,
        payload=_institution_payload(institution),
    )
    return institution


def list_institutions(session: Session, *, limit: int, cursor: str | None) -> Rows:
    return paginate(session, select(Institution), Institution.id, limit=limit, cursor=cursor)


def get_institution(session: Session, institution_id: uuid.UUID) -> Institution:
    institution = session.get(Institution, institution_id)
    if institution is None:
        raise not_found("Institution")
    return institution


def update_institution(session: Session, institution_id: uuid.UUID, data: InstitutionUpdate) -> Institution:
    institution = get_institution(session, institution_id)
    changes = data.changes()
    if "slug" in changes and changes["slug"] != institution.slug:
        _check_slug_free(session, changes["slug"])
    changed = _apply(institution, changes)
    if changed:
        session.flush()
        emit(
            session,
            OutboxEvent,
            "institution.updated",
            subject=institution.id,
            tenant_id=institution.id,
            payload={"changed": sorted(changed), "institution": _institution_payload(institution)},
        )
    return institution


# ---------------------------------------------------------------------------
# Campuses


def _check_campus_name_free(session: Session, institution_id: uuid.UUID, name: str) -> None:
    stmt = select(Campus.id).where(Campus.institution_id == institution_id, Campus.name == name)
    if session.exec(stmt).first() is not None:
        raise _taken("name", f"This institution already has a campus named {name!r}")


def create_campus(session: Session, institution_id: uuid.UUID, data: CampusCreate) -> Campus:
    get_institution(session, institution_id)
    _check_campus_name_free(session, institution_id, data.name)
    campus = Campus(institution_id=institution_id, **data.model_dump(), **_timestamps())
    session.add(campus)
    session.flush()
    return campus


def list_campuses(session: Session, institution_id: uuid.UUID, *, limit: int, cursor: str | None) -> Rows:
    get_institution(session, institution_id)
    stmt = select(Campus).where(Campus.institution_id == institution_id)
    return paginate(session, stmt, Campus.id, limit=limit, cursor=cursor)


def get_campus(session: Session, institution_id: uuid.UUID, campus_id: uuid.UUID) -> Campus:
    stmt = select(Campus).where(Campus.institution_id == institution_id, Campus.id == campus_id)
    campus = session.exec(stmt).first()
    if campus is None:
        raise not_found("Campus")
    return campus


def update_campus(session: Session, institution_id: uuid.UUID, campus_id: uuid.UUID, data: CampusUpdate) -> Campus:
    campus = get_campus(session, institution_id, campus_id)
    changes = data.changes()
    if "name" in changes and changes["name"] != campus.name:
        _check_campus_name_free(session, institution_id, changes["name"])
    _apply(campus, changes)
    session.flush()
    return campus


def delete_campus(session: Session, institution_id: uuid.UUID, campus_id: uuid.UUID) -> None:
    campus = get_campus(session, institution_id, campus_id)
    _check_unreferenced(session, institution_id, "campus_id", campus_id, "campus", (AcademicUnit, Application, Participant))
    session.delete(campus)
    session.flush()


# ---------------------------------------------------------------------------
# Academic units


# What ids in bodies may name (servicekit.references): places of the record's own institution.
CAMPUS = Records("a campus of this institution", (Campus.id,), tenant=Campus.institution_id)
ACADEMIC_UNIT = Records("an academic unit of this institution", (AcademicUnit.id,), tenant=AcademicUnit.institution_id)
PLACES = References(
    Ref("campus_id", CAMPUS),
    Ref("academic_unit_id", ACADEMIC_UNIT),
    operations=("create_application", "update_application", "update_my_participant", "update_participant"),
)
UNIT_CAMPUS = References(Ref("campus_id", CAMPUS), operations=("create_academic_unit", "update_academic_unit"))


def _check_unit_code_free(session: Session, institution_id: uuid.UUID, code: str) -> None:
    stmt = select(AcademicUnit.id).where(AcademicUnit.institution_id == institution_id, AcademicUnit.code == code)
    if session.exec(stmt).first() is not None:
        raise _taken("code", f"This institution already has an academic unit with code {code!r}")


def create_academic_unit(session: Session, institution_id: uuid.UUID, data: AcademicUnitCreate) -> AcademicUnit:
    get_institution(session, institution_id)
    UNIT_CAMPUS.check(data, session=session, tenant=institution_id)
    if data.code is not None:
        _check_unit_code_free(session, institution_id, data.code)
    unit = AcademicUnit(institution_id=institution_id, **data.model_dump(), **_timestamps())
    session.add(unit)
    session.flush()
    return unit


def list_academic_units(session: Session, institution_id: uuid.UUID, *, limit: int, cursor: str | None) -> Rows:
    get_institution(session, institution_id)
    stmt = select(AcademicUnit).where(AcademicUnit.institution_id == institution_id)
    return paginate(session, stmt, AcademicUnit.id, limit=limit, cursor=cursor)


def get_academic_unit(session: Session, institution_id: uuid.UUID, unit_id: uuid.UUID) -> AcademicUnit:
    stmt = select(AcademicUnit).where(AcademicUnit.institution_id == institution_id, AcademicUnit.id == unit_id)
    unit = session.exec(stmt).first()
    if unit is None:
        raise not_found("Academic unit")
    return unit


def update_academic_unit(
    session: Session, institution_id: uuid.UUID, unit_id: uuid.UUID, data: AcademicUnitUpdate
) -> AcademicUnit:
    unit = get_academic_unit(session, institution_id, unit_id)
    changes = data.changes()
    UNIT_CAMPUS.check(changes, session=session, tenant=institution_id)
    if changes.get("code") is not None and changes["code"] != unit.code:
        _check_unit_code_free(session, institution_id, changes["code"])
    _apply(unit, changes)
    session.flush()
    return unit


def delete_academic_unit(session: Session, institution_id: uuid.UUID, unit_id: uuid.UUID) -> None:
    unit = get_academic_unit(session, institution_id, unit_id)
    _check_unreferenced(session, institution_id, "academic_unit_id", unit_id, "academic unit", (Application, Participant))
    session.delete(unit)
    session.flush()


_REFERRERS = {"academic_units": "academic unit", "applications": "application", "participants": "participant"}


def _check_unreferenced(
    session: Session, institution_id: uuid.UUID, column: str, record_id: uuid.UUID, what: str, models: tuple[Any, ...]
) -> None:
    """409 naming how many records of each kind still refer to the record."""
    counts = {}
    for model in models:
        count = session.exec(
            select(func.count())
            .select_from(model)
            .where(model.institution_id == institution_id, getattr(model, column) == record_id)
        ).one()
        if count:
            counts[model.__tablename__] = count
    if counts:
        listed = ", ".join(
            f"{n} {_REFERRERS[table]}{'s' if n != 1 else ''}" for table, n in counts.items()
        )
        raise conflict(
            f"The {what} is still referenced by {listed}; move them elsewhere or delete them first", **counts
        )
