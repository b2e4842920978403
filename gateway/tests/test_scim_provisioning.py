"""The compare-and-set loop every SCIM write goes through
(``gateway.scim.provisioning``): a write that lost to another one is tried
again, at most ``ATTEMPTS`` times in all (then 409); with ``If-Match`` a lost
write is a 412 at once; any other error ends the request at once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from scim2_models import ConflictException, PreconditionFailedException
from sqlalchemy import create_engine
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request

from servicekit.auth import Principal

from gateway.scim import provisioning
from gateway.scim.common import Stale
from gateway.scim.resources import ScimUser

TAG = 'W/"current"'


class Row:
    def tag(self) -> str:
        return TAG


class Writes:
    """A write that loses its compare-and-set ``losses`` times, then wins."""

    def __init__(self, losses: int, error: Exception | None = None) -> None:
        self.losses, self.error, self.calls = losses, error or Stale(), 0

    async def __call__(self, row: Row) -> str:
        self.calls += 1
        if self.calls <= self.losses:
            raise self.error
        return "written"


KIND: provisioning.Kind[Any, Any] = provisioning.Kind(
    "thing", ScimUser, lambda session, tenant, resource_id: Row(), lambda session, tenant, search: (0, []), lambda row, base: row
)
CALLER = Principal(subject="client", tenant_id="inst-1", roles=frozenset(), scopes=frozenset({"scim"}), token_id="t", is_client=True,
                   token="")


def _request(headers: dict[str, str] | None = None) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(engine=create_engine("sqlite://")))
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "PUT", "path": "/scim/v2/Things/1", "headers": raw, "app": app})


@pytest.mark.parametrize("error", [Stale(), IntegrityError("INSERT", {}, Exception("duplicate"))])
async def test_a_lost_write_is_tried_again(error: Exception) -> None:
    write = Writes(losses=provisioning.ATTEMPTS - 1, error=error)
    assert await provisioning._compare_and_set(_request(), CALLER, KIND, "1", write) == "written"
    assert write.calls == provisioning.ATTEMPTS


async def test_a_write_that_keeps_losing_is_a_conflict_naming_the_resource() -> None:
    write = Writes(losses=provisioning.ATTEMPTS)
    with pytest.raises(ConflictException, match="The thing kept changing"):
        await provisioning._compare_and_set(_request(), CALLER, KIND, "1", write)
    assert write.calls == provisioning.ATTEMPTS


async def test_with_if_match_a_lost_write_is_412_at_once() -> None:
    write = Writes(losses=1)
    with pytest.raises(PreconditionFailedException):
        await provisioning._compare_and_set(_request({"If-Match": TAG}), CALLER, KIND, "1", write)
    assert write.calls == 1


async def test_an_error_that_is_not_a_lost_write_is_not_retried() -> None:
    write = Writes(losses=1, error=IntegrityError("INSERT", {}, Exception("duplicate")))
    with pytest.raises(IntegrityError):
        await provisioning._compare_and_set(_request(), CALLER, KIND, "1", write, stale=(Stale,))
    assert write.calls == 1
