"""Analysis and reports (coordinators and evaluators of the program's institution): aggregates only."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from servicekit.auth import CurrentPrincipal
from servicekit.db import SessionDep
from servicekit.idempotency import IdempotencyDep
from servicekit.problems import field_problem, not_found, problem_responses
from servicekit.tenancy import tenant_of

from services.evaluation import access, analysis
from services.evaluation.access import in_thread
from services.evaluation.domain import render_html, render_pdf, report_charts
from services.evaluation.routers.common import CREATED
from services.evaluation.schemas import (
    CodingCreate,
    CodingPublic,
    ComparisonOut,
    DisclosureOut,
    DisclosureUpdate,
    ItemsOut,
    OpenAnswerOut,
    ProgramReportOut,
    SkillsOut,
    TextOutList,
    ThemeCreate,
    ThemePublic,
    ThemesOut,
)

router = APIRouter(prefix="/v1/reports", tags=["reports"])
ProgramId = Annotated[uuid.UUID, Path(description="The program's id (participants service).")]
Lang = Annotated[Literal["es", "en"], Query(description="Language of labels and charts.")]
READ = problem_responses(401, 403, 404, 422)
UPSTREAM = problem_responses(401, 403, 404, 409, 422, 502, 503, 504)


def _settings(request: Request) -> Any:
    return request.app.state.settings


@router.get("/programs/{program_id}/skills", response_model=SkillsOut, operation_id="get_program_skill_change",
            summary="Pre/post change per skill: paired n, mean change, Wilcoxon p, rank-biserial with bootstrap CI",
            responses=READ)
def get_program_skill_change(
    program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep,
    pre: Annotated[uuid.UUID | None, Query(description="The pre administration (default: the latest pair).")] = None,
    post: Annotated[uuid.UUID | None, Query(description="The post administration.")] = None,
) -> Any:
    return analysis.skills(session, who, program_id, _settings(request), pre, post)


@router.get("/programs/{program_id}/items", response_model=ItemsOut, operation_id="get_program_item_distributions",
            summary="Distributions of closed and numeric items by role, cells under k suppressed (with complements)",
            responses=READ)
def get_program_item_distributions(
    program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep,
    administration_id: Annotated[uuid.UUID | None, Query(description="Only this administration.")] = None,
) -> Any:
    return analysis.items(session, who, program_id, _settings(request), administration_id)


@router.get("/programs/{program_id}/text", response_model=TextOutList, operation_id="get_program_term_frequencies",
            summary="Term frequencies of open answers (es/en stop words), only above the open-text threshold",
            responses=READ)
def get_program_term_frequencies(program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep) -> Any:
    return analysis.texts(session, who, program_id, _settings(request))


@router.get("/programs/{program_id}/themes", response_model=ThemesOut, operation_id="get_program_themes",
            summary="The program's themes with coded-response counts by role, suppressed under k", responses=READ)
def get_program_themes(program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep) -> Any:
    return analysis.theme_summary(session, who, program_id, _settings(request))


@router.post("/programs/{program_id}/themes", status_code=201, response_model=ThemePublic, operation_id="create_program_theme",
             summary="Add a theme to code open answers with (coordinators, evaluators)",
             responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
async def create_program_theme(program_id: ProgramId, body: ThemeCreate, response: Response, who: CurrentPrincipal,
                               session: SessionDep, idem: IdempotencyDep) -> Any:
    access.staff_role(who)
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    row = await in_thread(analysis.create_theme, session, who, program_id, body.code, body.label.model_dump())
    out = ThemePublic.model_validate(analysis.theme_public(row))
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/reports/programs/{program_id}/themes"
    return out


@router.get("/programs/{program_id}/open-answers", response_model=list[OpenAnswerOut], operation_id="list_program_open_answers",
            summary="De-identified open answers of anonymous administrations with enough responses, to code (evaluators)",
            responses=READ)
def list_program_open_answers(program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep) -> Any:
    return analysis.open_answers(session, who, program_id, _settings(request))


@router.post("/programs/{program_id}/codings", status_code=201, response_model=CodingPublic, operation_id="create_program_coding",
             summary="Code one response with themes (evaluators; once per evaluator and response)",
             responses={**CREATED, **problem_responses(401, 403, 404, 409, 422)})
async def create_program_coding(program_id: ProgramId, body: CodingCreate, response: Response, who: CurrentPrincipal,
                                session: SessionDep, idem: IdempotencyDep) -> Any:
    access.staff_role(who, ("evaluator",))
    if (replayed := await in_thread(idem.replay, session)) is not None:
        return replayed
    row = await in_thread(analysis.create_coding, session, who, program_id, body.response_id, body.themes)
    out = CodingPublic.model_validate(row)
    await in_thread(idem.remember, session, 201, out)
    response.headers["Location"] = f"/v1/reports/programs/{program_id}/themes"
    return out


@router.get("/programs/{program_id}", response_model=ProgramReportOut, operation_id="get_program_report",
            summary="The program report as JSON (funnel, training, matching, adherence, retention, skills, satisfaction, clouds, themes)",
            responses=UPSTREAM)
async def get_program_report(program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep) -> Any:
    report = await analysis.program_report(request, who, session, program_id)
    return report.to_dict()


@router.get("/programs/{program_id}/report.csv", response_class=Response, operation_id="get_program_report_csv",
            summary="The program report as a tidy CSV: section, table, row, column, value, hidden",
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "Tidy CSV"}, **UPSTREAM})
async def get_program_report_csv(program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep) -> Response:
    report = await analysis.program_report(request, who, session, program_id)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["section", "table", "row", "column", "value", "hidden"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(report.tidy_rows())
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="program-{program_id}.csv"'})


@router.get("/programs/{program_id}/report.pdf", response_class=Response, operation_id="get_program_report_pdf",
            summary="The program report as an A4 PDF for funders (the same page as the HTML report)",
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "A4 PDF"}, **UPSTREAM})
async def get_program_report_pdf(program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep,
                                 lang: Lang = "es") -> Response:
    report = await analysis.program_report(request, who, session, program_id)
    pdf = await in_thread(lambda: render_pdf(report, report_charts(report, lang=lang, png=False), lang=lang))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="program-{program_id}-{lang}.pdf"'})


@router.get("/programs/{program_id}/disclosure", response_model=DisclosureOut, operation_id="get_program_disclosure",
            summary="The program's disclosure thresholds: k per cell and k_text for open text and quotes (coordinators)",
            responses=problem_responses(401, 403, 404, 422, 502, 503, 504))
async def get_program_disclosure(program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep) -> Any:
    program = await analysis.authorized_program(request, who, program_id, ("coordinator",))
    row = await in_thread(analysis.disclosure_row, session, program.institution_id, program_id)
    return analysis.disclosure_public(_settings(request), program_id, row)


@router.put("/programs/{program_id}/disclosure", response_model=DisclosureOut, operation_id="set_program_disclosure",
            summary="Set the program's disclosure thresholds, never below the platform's floor (coordinators)",
            responses=problem_responses(401, 403, 404, 422, 502, 503, 504))
async def set_program_disclosure(program_id: ProgramId, body: DisclosureUpdate, request: Request, who: CurrentPrincipal,
                                 session: SessionDep) -> Any:
    program = await analysis.authorized_program(request, who, program_id, ("coordinator",))
    row = await in_thread(analysis.set_disclosure, session, who, _settings(request), program.institution_id, program_id,
                          body.min_cell, body.min_text)
    return analysis.disclosure_public(_settings(request), program_id, row)


@router.get("/programs/{program_id}/report.html", response_class=Response, operation_id="get_program_report_html",
            summary="The self-contained HTML report (every chart embedded; opens offline)",
            responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "HTML page"}, **UPSTREAM})
async def get_program_report_html(program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep,
                                  lang: Lang = "es") -> Response:
    report = await analysis.program_report(request, who, session, program_id)
    page = await in_thread(lambda: render_html(report, report_charts(report, lang=lang, png=False), lang=lang))
    return Response(page, media_type="text/html; charset=utf-8")


@router.get("/programs/{program_id}/charts/{name}.{fmt}", response_class=Response, operation_id="get_program_chart",
            summary="One chart of the report as SVG or PNG (funnel, feedback, skills, objectives, benefits, likert, clouds...)",
            responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}},
                                         "image/png": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "The chart"}, **UPSTREAM})
async def get_program_chart(
    program_id: ProgramId, request: Request, who: CurrentPrincipal, session: SessionDep,
    name: Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,80}$", description="Chart name.")],
    fmt: Annotated[Literal["svg", "png"], Path(description="svg or png.")], lang: Lang = "es",
) -> Response:
    report = await analysis.program_report(request, who, session, program_id)
    charts = await in_thread(report_charts, report, lang=lang, png=fmt == "png")
    chart = charts.get(name)
    if chart is None:
        raise not_found(f"Chart {name!r} (available: {', '.join(sorted(charts)) or 'none'})")
    if fmt == "png":
        return Response(chart.png, media_type="image/png")
    return Response(chart.svg, media_type="image/svg+xml")


def _figures(reports: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    figures: dict[str, dict[str, Any]] = {}

    def put(name: str, pid: str, value: Any) -> None:
        figures.setdefault(name, {})[pid] = value

    for pid, r in reports.items():
        for f in r["funnel"]:
            put(f"funnel.{f['key']}", pid, f["total"])
        put("training_rate", pid, r["training_rate"])
        put("retention.completion_rate", pid, r["retention"]["completion_rate"])
        put("adherence.share_of_planned", pid, r["adherence"]["share_of_planned"])
        put("adherence.feedback_on_time", pid, r["adherence"]["feedback_on_time"])
        for row in (r["skills"] or {}).get("rows", []):
            if row["group"] == "all":
                put(f"skills.{row['skill']}.mean_change", pid, row["mean_change"])
                put(f"skills.{row['skill']}.rank_biserial", pid, row["rank_biserial"])
    return [{"figure": k, "values": {pid: v.get(pid) for pid in reports}} for k, v in figures.items()]


@router.get("/institutions/{institution_id}/comparison", response_model=ComparisonOut, operation_id="compare_programs",
            summary="Two programs (calls) of one institution side by side (coordinators, evaluators)", responses=UPSTREAM)
async def compare_programs(
    institution_id: Annotated[uuid.UUID, Path(description="The institution's id.")],
    request: Request, who: CurrentPrincipal, session: SessionDep,
    programs: Annotated[str, Query(max_length=100, description="Two program ids, comma-separated.", examples=["id-a,id-b"])],
) -> Any:
    access.staff_role(who)
    if not who.is_admin and tenant_of(who) != institution_id:
        raise not_found("Institution")
    try:
        ids = [uuid.UUID(p.strip()) for p in programs.split(",") if p.strip()]
    except ValueError:
        raise field_problem("query.programs", "program ids are UUIDs") from None
    if len(ids) != 2 or ids[0] == ids[1]:
        raise field_problem("query.programs", "give exactly two different program ids")
    reports = {}
    for pid in ids:
        report = await analysis.program_report(request, who, session, pid)
        if report.program.institution_id != str(institution_id):
            raise not_found("Program")
        reports[str(pid)] = report.to_dict()
    return {"institution_id": institution_id, "programs": ids, "figures": _figures(reports), "reports": reports}
