"""Who may see and do what, decided on the verified token and on the data.

- Instruments: built-ins are readable by anyone authenticated; an institution's
  copies by its coordinators and evaluators (admins: all). Copies and edits:
  coordinators. Another institution's instrument is a 404.
- Administrations: created, listed and closed by coordinators; read by the
  institution's evaluators too; respondents see only the open ones meant for
  them (``/mine``), with their role read from the participants service.
- Answers: a person sees her own; coordinators see who has responded (counts,
  and participant ids when not anonymous), never what anyone answered;
  evaluators see aggregates only. There is no route returning another person's
  answers.
- Every query filters by the caller's institution (the token's ``tid``).
- The program report is authorized here (coordinators and evaluators of the
  program's institution, admins) before its inputs are read from the other
  services with this service's own token (scope ``reports:read``), which reads
  aggregates and pseudonymous dyads only.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread

from servicekit.auth import Principal
from servicekit.problems import forbidden, not_found

T = TypeVar("T")
STAFF = ("coordinator", "evaluator")


def tenant(who: Principal) -> uuid.UUID | None:
    try:
        return uuid.UUID(who.tenant_id) if who.tenant_id else None
    except ValueError:
        return None


def is_coordinator(who: Principal, institution_id: uuid.UUID | None) -> bool:
    return who.is_admin or (not who.is_client and institution_id is not None and who.coordinates(institution_id))


def is_evaluator(who: Principal, institution_id: uuid.UUID | None) -> bool:
    return not who.is_client and "evaluator" in who.roles and institution_id is not None and tenant(who) == institution_id


def staff_role(who: Principal, allow: tuple[str, ...] = STAFF) -> str:
    """The caller's staff capacity in her own institution, or a 403."""
    tid = tenant(who)
    if "coordinator" in allow and (who.is_admin or is_coordinator(who, tid)):
        return "coordinator"
    if "evaluator" in allow and is_evaluator(who, tid):
        return "evaluator"
    raise forbidden(f"Requires one of the roles: {', '.join(allow)} of the institution")


def scoped(stmt: Any, model: Any, who: Principal) -> Any:
    """Filter by the caller's institution (admins: every institution)."""
    if who.is_admin:
        return stmt
    return stmt.where(model.institution_id == (tenant(who) or uuid.UUID(int=0)))


def institution_of(who: Principal) -> uuid.UUID:
    tid = tenant(who)
    if tid is None:
        raise forbidden("Only a member of an institution may do this")
    return tid


def pseudonym(key: bytes, program_id: uuid.UUID, subject: str) -> str:
    """HMAC-SHA256(key, program_id + account sub): pairs a person's pre and post
    answers within one program without storing who she is."""
    return hmac.new(key, f"{program_id}:{subject}".encode(), hashlib.sha256).hexdigest()


def dyad_pseudonym(key: bytes, program_id: uuid.UUID, dyad_id: uuid.UUID) -> str:
    """HMAC-SHA256(key, "dyad:" + program_id + dyad id): ties a mentee's and her mentor's
    perceived achievement to their dyad's measured achievement without storing the dyad's id."""
    return hmac.new(key, f"dyad:{program_id}:{dyad_id}".encode(), hashlib.sha256).hexdigest()


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs))


__all__ = ["forbidden", "not_found"]
