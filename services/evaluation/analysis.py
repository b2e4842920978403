"""Aggregates of a program's evaluation, built on the analytics core, always protected.

Responses enter the analytics as ``Response(respondent=pseudonym, role, answers)``:
pre and post pair by pseudonym, so anonymous administrations pair too.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from servicekit.auth import Principal
from servicekit.problems import ProblemError, conflict, field_problem, not_found

from services.evaluation import access, catalog
from services.evaluation.analytics import (
    Administration,
    DisclosurePolicy,
    DyadRecord,
    DyadStatus,
    FeedbackForms,
    FunnelStage,
    ItemType,
    MatchingSummary,
    MeetingPlan,
    ProgramInfo,
    ProgramReport,
    ReportInput,
    Response,
    Role,
    Text,
    Theme,
    ThemeCoding,
    TrainingModule,
    build_report,
    hidden_groups,
    item_distributions,
    protect_split,
    protect_table,
    term_frequencies,
)
from services.evaluation.analytics.report import _themes as protected_themes
from services.evaluation.clients.upstream import Upstreams
from services.evaluation.models import AdministrationRow, CodingRow, ResponseRow, ThemeRow

ROLES = ("mentor", "mentee")


def policy_of(settings: Any) -> DisclosurePolicy:
    k = max(int(settings.min_cell), 3)
    return DisclosurePolicy(k=k, k_text=max(int(settings.min_text), k))


def program_administrations(session: Session, who: Principal, program_id: uuid.UUID) -> list[AdministrationRow]:
    rows = list(session.exec(access.scoped(
        select(AdministrationRow).where(AdministrationRow.program_id == program_id), AdministrationRow, who
    ).order_by(AdministrationRow.created_at, AdministrationRow.id)).all())
    return rows


def require_program(session: Session, who: Principal, program_id: uuid.UUID) -> list[AdministrationRow]:
    access.staff_role(who)
    rows = program_administrations(session, who, program_id)
    if not rows:
        raise not_found("Program")
    return rows


def submitted(session: Session, adm: AdministrationRow) -> tuple[Response, ...]:
    rows = session.exec(select(ResponseRow).where(
        ResponseRow.institution_id == adm.institution_id, ResponseRow.administration_id == adm.id,
        ResponseRow.status == "submitted",
    ).order_by(ResponseRow.id)).all()
    return tuple(Response(r.pseudonym, Role(r.role), r.answers) for r in rows)


def analytics_administration(session: Session, adm: AdministrationRow) -> Administration:
    return Administration(catalog.load(session, adm.institution_id, adm.instrument_id), adm.moment, submitted(session, adm))


def pick_pre_post(session: Session, adms: list[AdministrationRow], pre_id: uuid.UUID | None, post_id: uuid.UUID | None
                  ) -> tuple[AdministrationRow, AdministrationRow] | None:
    by_id = {a.id: a for a in adms}
    if pre_id or post_id:
        pre, post = by_id.get(pre_id) if pre_id else None, by_id.get(post_id) if post_id else None  # type: ignore[arg-type]
        if pre is None or pre.moment != "pre":
            raise field_problem("query.pre", "not a pre administration of this program")
        if post is None or post.moment != "post":
            raise field_problem("query.post", "not a post administration of this program")
        if pre.instrument_id != post.instrument_id:
            raise field_problem("query.post", "pre and post use different instrument versions")
        return pre, post
    for post in reversed([a for a in adms if a.moment == "post"]):
        pres = [a for a in adms if a.moment == "pre" and a.instrument_id == post.instrument_id]
        if pres and catalog.load(session, post.institution_id, post.instrument_id).subscales:
            return pres[-1], post
    return None


def skills(session: Session, who: Principal, program_id: uuid.UUID, policy: DisclosurePolicy,
           pre_id: uuid.UUID | None, post_id: uuid.UUID | None, n_boot: int = 2000) -> dict[str, Any]:
    adms = require_program(session, who, program_id)
    pair = pick_pre_post(session, adms, pre_id, post_id)
    if pair is None:
        raise not_found("Pre and post administrations of one instrument with subscales")
    pre, post = pair
    inp = ReportInput(program=ProgramInfo(program_id=str(program_id), name="", institution=""),
                      skills_pre=analytics_administration(session, pre), skills_post=analytics_administration(session, post))
    report = build_report(inp, policy=policy, seed=0, n_boot=n_boot)
    data = report.to_dict()["skills"]
    data.update(program_id=program_id, pre_administration_id=pre.id, post_administration_id=post.id, k=policy.k)
    return data


def _groups(adm: AdministrationRow) -> tuple[str, ...]:
    return {"mentors": ("mentor",), "mentees": ("mentee",)}.get(adm.audience, ROLES)


def _text(t: Text) -> dict[str, str]:
    return {"es": t.es, "en": t.en}


def items(session: Session, who: Principal, program_id: uuid.UUID, policy: DisclosurePolicy,
          administration_id: uuid.UUID | None) -> dict[str, Any]:
    adms = require_program(session, who, program_id)
    if administration_id is not None:
        adms = [a for a in adms if a.id == administration_id]
        if not adms:
            raise not_found("Administration")
    respondents: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    for adm in adms:
        ad = analytics_administration(session, adm)
        groups = _groups(adm)
        counts = {g: sum(1 for r in ad.responses if r.role.value == g) for g in groups}
        split = protect_split(counts, policy=policy)
        respondents[str(adm.id)] = split.to_dict()
        gone = hidden_groups(split)
        for dist in item_distributions(ad.instrument, ad.responses):
            entry: dict[str, Any] = {
                "administration_id": adm.id, "item_id": dist.item_id, "type": dist.type.value, "text": _text(dist.text),
                "categories": [{"key": k, "label": _text(lbl)} for k, lbl in dist.categories], "table": None, "numeric": None,
            }
            if dist.type is ItemType.NUMERIC:
                assert dist.numeric is not None
                entry["numeric"] = {
                    g: (None if g in gone or policy.small(dist.numeric[g].n) else dist.numeric[g].__dict__)
                    for g in (*groups, "all") if g in dist.numeric
                }
            else:
                table = protect_table([list(dist.counts[g]) for g in groups], policy=policy, row_labels=list(groups),
                                      col_labels=[k for k, _ in dist.categories],
                                      hide_rows=[i for i, g in enumerate(groups) if g in gone])
                entry["table"] = table.to_dict()
            out.append(entry)
    return {"program_id": program_id, "k": policy.k, "respondents": respondents, "items": out}


def texts(session: Session, who: Principal, program_id: uuid.UUID, policy: DisclosurePolicy) -> dict[str, Any]:
    adms = require_program(session, who, program_id)
    out = []
    for adm in adms:
        ad = analytics_administration(session, adm)
        for item in ad.instrument.items():
            if item.type is not ItemType.OPEN_TEXT:
                continue
            values = [r.answers[item.id] for r in ad.responses if isinstance(r.answers.get(item.id), str)]
            ok = policy.text_publishable(len(values))
            terms = term_frequencies(values, min_documents=policy.min_term_documents, top=60) if ok else ()
            out.append({"administration_id": adm.id, "item_id": item.id, "text": _text(item.text), "responses": len(values),
                        "published": ok, "terms": [t.__dict__ for t in terms]})
    return {"program_id": program_id, "k_text": policy.k_text, "min_term_documents": policy.min_term_documents, "items": out}


# ------------------------------------------------------------------ themes and codings


def theme_public(t: ThemeRow) -> dict[str, Any]:
    return {"id": t.id, "program_id": t.program_id, "code": t.code, "label": {"es": t.label_es, "en": t.label_en}}


def create_theme(session: Session, who: Principal, program_id: uuid.UUID, code: str, label: dict[str, str]) -> ThemeRow:
    adms = require_program(session, who, program_id)
    institution_id = adms[0].institution_id
    if session.exec(select(ThemeRow.id).where(ThemeRow.institution_id == institution_id, ThemeRow.program_id == program_id,
                                              ThemeRow.code == code)).first():
        raise conflict(f"The program already has a theme {code!r}", field="code")
    row = ThemeRow(institution_id=institution_id, program_id=program_id, code=code, label_es=label["es"], label_en=label["en"],
                   created_by=who.subject)
    session.add(row)
    session.flush()
    return row


def _themes_of(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> list[ThemeRow]:
    return list(session.exec(select(ThemeRow).where(ThemeRow.institution_id == institution_id, ThemeRow.program_id == program_id)
                             .order_by(ThemeRow.created_at, ThemeRow.id)).all())


def create_coding(session: Session, who: Principal, program_id: uuid.UUID, response_id: uuid.UUID, codes: list[str]) -> CodingRow:
    access.staff_role(who, ("evaluator",))
    adms = require_program(session, who, program_id)
    institution_id = adms[0].institution_id
    response = session.exec(select(ResponseRow).where(ResponseRow.id == response_id, ResponseRow.institution_id == institution_id,
                                                      ResponseRow.program_id == program_id, ResponseRow.status == "submitted")).first()
    if response is None:
        raise field_problem("body.response_id", "no submitted response of this program has this id")
    known = {t.code for t in _themes_of(session, institution_id, program_id)}
    unknown = sorted(set(codes) - known)
    if unknown:
        raise field_problem("body.themes", f"unknown theme codes: {', '.join(unknown)}")
    if session.exec(select(CodingRow.id).where(CodingRow.response_id == response_id, CodingRow.evaluator == who.subject)).first():
        raise conflict("You already coded this response")
    row = CodingRow(institution_id=institution_id, program_id=program_id, response_id=response_id, role=response.role,
                    evaluator=who.subject, themes=sorted(set(codes)))
    session.add(row)
    session.flush()
    return row


def theme_inputs(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> tuple[list[ThemeRow], tuple[Theme, ...], tuple[ThemeCoding, ...]]:
    rows = _themes_of(session, institution_id, program_id)
    themes = tuple(Theme(t.code, Text(t.label_es, t.label_en)) for t in rows)
    codings = tuple(
        ThemeCoding(str(c.response_id), Role(c.role), frozenset(c.themes), c.evaluator)
        for c in session.exec(select(CodingRow).where(CodingRow.institution_id == institution_id, CodingRow.program_id == program_id)
                              .order_by(CodingRow.id)).all()
    )
    return rows, themes, codings


def theme_summary(session: Session, who: Principal, program_id: uuid.UUID, policy: DisclosurePolicy) -> dict[str, Any]:
    adms = require_program(session, who, program_id)
    rows, themes, codings = theme_inputs(session, adms[0].institution_id, program_id)
    if not themes:
        return {"program_id": program_id, "coded": protect_split({"mentor": 0, "mentee": 0}, policy=policy).to_dict(),
                "evaluators": 0, "themes": []}
    section = protected_themes(ReportInput(program=ProgramInfo(program_id=str(program_id), name="", institution=""),
                                           themes=themes, codings=codings), policy)
    assert section is not None
    by_code = {t.code: t for t in rows}
    return {
        "program_id": program_id, "coded": section.coded.to_dict(), "evaluators": section.evaluators,
        "themes": [{"theme": theme_public(by_code[r.theme.id]), "mentioned": dict(r.mentioned), "agreement": r.agreement}
                   for r in section.rows],
    }


def open_answers(session: Session, who: Principal, program_id: uuid.UUID, policy: DisclosurePolicy) -> list[dict[str, Any]]:
    """De-identified open answers of anonymous administrations with at least k_text submissions (evaluators, for coding)."""
    access.staff_role(who, ("evaluator",))
    out = []
    for adm in require_program(session, who, program_id):
        if not adm.anonymous:
            continue
        rows = session.exec(select(ResponseRow).where(ResponseRow.institution_id == adm.institution_id,
                                                      ResponseRow.administration_id == adm.id, ResponseRow.status == "submitted")
                            .order_by(ResponseRow.id)).all()
        if not policy.text_publishable(len(rows)):
            continue
        ins = catalog.load(session, adm.institution_id, adm.instrument_id)
        open_ids = [i.id for i in ins.items() if i.type is ItemType.OPEN_TEXT]
        for r in rows:
            for item_id in open_ids:
                if isinstance(r.answers.get(item_id), str):
                    out.append({"response_id": r.id, "administration_id": adm.id, "role": r.role, "item_id": item_id,
                                "text": r.answers[item_id]})
    return out


# ------------------------------------------------------------------ the program report


async def gather_upstream(up: Upstreams, program_id: uuid.UUID, token: str) -> dict[str, Any]:
    program = await up.program(program_id, token)
    funnel, training, run, matches, stats, dyads = await asyncio.gather(
        up.funnel(program_id, token), up.training(program_id, token), up.latest_run(program_id, token),
        up.matches(program_id, token), up.statistics(program_id, token), up.dyads(program_id, token),
    )
    return {"program": program, "funnel": funnel, "training": training, "run": run, "matches": matches, "stats": stats, "dyads": dyads}


def _funnel(up: dict[str, Any]) -> tuple[FunnelStage, ...]:
    f = up["funnel"]

    def stage(name: str) -> tuple[int, int]:
        mentors = sum(getattr(r.stages, name) for r in f.by_role if r.role in ("mentor", "peer_mentor"))
        mentees = sum(getattr(r.stages, name) for r in f.by_role if r.role == "mentee")
        return mentors, mentees

    live = [m for m in up["matches"] if m.status != "proposed"]
    stages = [
        FunnelStage("applied", *stage("applied")),
        FunnelStage("selected", *stage("accepted")),
        FunnelStage("confirmed", *stage("confirmed")),
        FunnelStage("trained", *stage("trained")),
        FunnelStage("matched", len({m.mentor_participant_id for m in live}), len({m.mentee_participant_id for m in live})),
        FunnelStage("completed", *stage("completed")),
    ]
    return tuple(stages)


def report_input(session: Session, who: Principal, program_id: uuid.UUID, up: dict[str, Any]) -> ReportInput:
    program, stats = up["program"], up["stats"]
    adms = program_administrations(session, who, program_id)
    pair = pick_pre_post(session, adms, None, None)
    closing = [a for a in adms if a.moment == "closing"]
    run = up["run"]
    matching = None
    if run is not None:
        rep = run.report
        matching = MatchingSummary(mentors=rep.mentors, mentees=rep.mentees, matched_mentees=rep.matched,
                                   substitutes=len(rep.substitutes), pair_scores=tuple(p.score for p in rep.pairs),
                                   blocking_pairs=rep.blocking_pairs, algorithm=run.algorithm)
    days_late = [0] * stats.feedback.on_time
    for b in stats.feedback.delays:
        days_late += [b.days] * b.count
    dyads = up["dyads"]
    # Sessions publishes meetings held per program, not per dyad: spread evenly (the total is exact).
    held_each, extra = divmod(stats.meetings.held, len(dyads)) if dyads else (0, 0)
    status_map = {"active": DyadStatus.ACTIVE, "completed": DyadStatus.COMPLETED, "dissolved": DyadStatus.DISSOLVED}
    records = tuple(
        DyadRecord(str(d.id), status_map.get(d.status, DyadStatus.ACTIVE), held_each + (1 if i < extra else 0),
                   stats.in_person.per_dyad.get(str(d.id), 0), None, d.health_status in ("amber", "red"))
        for i, d in enumerate(dyads)
    )
    _, themes, codings = theme_inputs(session, program.institution_id, program_id)
    return ReportInput(
        program=ProgramInfo(program_id=str(program_id), name=program.name, institution=str(program.institution_id),
                            generated_on=datetime.now(UTC).date().isoformat()),
        funnel=_funnel(up),
        training=tuple(TrainingModule(str(m.module_id), Text(m.title, m.title), up["training"].members, m.completed)
                       for m in up["training"].modules),
        matching=matching,
        meetings=MeetingPlan(planned_per_dyad=program.meetings_count, rescheduled=stats.meetings.rescheduled,
                             cancelled=stats.meetings.cancelled),
        feedback=FeedbackForms(deadline_days=max(1, math.ceil(program.feedback_deadline_hours / 24)),
                               expected=stats.feedback.due, days_late=tuple(days_late)),
        dyads=records,
        skills_pre=analytics_administration(session, pair[0]) if pair else None,
        skills_post=analytics_administration(session, pair[1]) if pair else None,
        closing=analytics_administration(session, closing[-1]) if closing else None,
        themes=themes,
        codings=codings,
    )


async def program_report(request: Any, who: Principal, session: Session, program_id: uuid.UUID, n_boot: int = 2000) -> ProgramReport:
    access.staff_role(who)
    up: Upstreams = request.app.state.upstreams
    data = await gather_upstream(up, program_id, who.token)
    if not who.is_admin and data["program"].institution_id != access.tenant(who):
        raise not_found("Program")
    policy = policy_of(request.app.state.settings)

    def build() -> ProgramReport:
        return build_report(report_input(session, who, program_id, data), policy=policy, seed=0, n_boot=n_boot)

    try:
        return await access.in_thread(build)
    except ValueError as exc:  # contradictory inputs (e.g. a respondent twice)
        raise ProblemError(409, f"The program's data cannot be reported: {exc}", slug="conflict") from None
