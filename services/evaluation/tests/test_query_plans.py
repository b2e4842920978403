"""The hot reads of the evaluation service reach their rows through an index (issue 15).

Two institutions administer the same instrument; one program's lists, a
respondent's own reads and the program report are requested, every statement
they ran is explained (servicekit.plans) and none may read a table whole.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from servicekit.plans import recording, whole_table_reads

from services.evaluation.tests.conftest import World


def _plans_of(engine: Engine, world: World, headers: dict[str, str], *urls: str) -> list[str]:
    with recording(engine) as executed:
        for url in urls:
            response = world.http.get(url, headers=headers)
            assert response.status_code == 200, (url, response.text)
    assert executed
    return whole_table_reads(engine, executed)


def test_program_lists_a_respondents_reads_and_the_report_go_through_indexes(
    world: World, other_world: World, engine: Engine
) -> None:
    adm = world.administer()
    other_world.administer()
    mentee, _, _ = world.person("mentee")
    pid = world.program_id
    assert _plans_of(engine, world, world.coordinator, "/v1/administrations", f"/v1/administrations?program_id={pid}",
                     f"/v1/administrations/{adm['id']}", f"/v1/administrations/{adm['id']}/respondents", "/v1/instruments",
                     f"/v1/reports/programs/{pid}") == []
    assert _plans_of(engine, world, mentee, "/v1/administrations/mine") == []
    with recording(engine) as executed:  # her response, not started yet: looked up by administration and pseudonym
        assert world.http.get(f"/v1/administrations/{adm['id']}/responses/mine", headers=mentee).status_code == 404
    assert any("responses" in e.sql for e in executed)
    assert whole_table_reads(engine, executed) == []
