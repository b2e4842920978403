"""Aggregates of a program's evaluation, built on the analytics core, always protected.

Responses enter the analytics as ``Response(respondent=pseudonym, role, answers)``:
pre and post pair by pseudonym, so anonymous administrations pair too.

The program report is authorized here first (coordinators and evaluators of the
program's institution, admins); its inputs are then read with this service's own
``reports:read`` token: the program, funnel and training statistics
(participants), the matching outcomes (counts and pair scores, matching) and the
per-dyad outcomes (sessions: measured objective achievement, meetings, feedback
timeliness, status, per dyad id, no person named). Perceived achievement comes
from the perceived-achievement instruments' answers, tied to the respondent's
dyad when she submitted (``ResponseRow.dyad_ref``, a keyed pseudonym of the dyad
id); measured and perceived meet on that pseudonym, so no dyad id is stored here
and no person is ever read from the other services. Interview themes, codings
and cleared quotes come from ``interviews.py`` (``theme_inputs``).
"""

from __future__ import annotations

import asyncio
import math
import uuid
from typing import Any

from sqlmodel import Session, select

from servicekit import clock
from servicekit.auth import Principal
from servicekit.problems import ProblemError, conflict, field_problem, not_found

from services.evaluation import access, catalog, interviews
from services.evaluation.analytics import (
    Administration,
    DisclosurePolicy,
    DyadAchievement,
    DyadRecord,
    DyadStatus,
    FeedbackForms,
    FunnelStage,
    Instrument,
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
    theme_counts,
)
from services.evaluation.analytics.report import _themes as protected_themes
from services.evaluation.clients.upstream import MatchingOutcomes, ProgramOutcomes, Upstreams
from services.evaluation.models import AdministrationRow, CodingRow, ResponseRow, ThemeRow

ROLES = ("mentor", "mentee")
ACHIEVEMENT_ITEM = "achieved"
"""The 0-100 numeric item of the perceived-achievement instruments (objectives-mentee / -mentor and their copies)."""


def is_achievement_instrument(ins: Instrument) -> bool:
    return ins.has_item(ACHIEVEMENT_ITEM) and ins.item(ACHIEVEMENT_ITEM).type is ItemType.NUMERIC


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
#
# The program's themes are its interview codebook (``interviews.py``): themes and sub-themes. The themes
# section counts the program's settled interviews (one coding per interview and coder, the consensus when
# written); a program without coded interviews shows its coded open answers of anonymous questionnaires instead
# (one coding per response and evaluator).


def require_known_program(session: Session, who: Principal, program_id: uuid.UUID) -> uuid.UUID:
    """The institution of a program this service holds something of (administrations, a codebook, interviews)."""
    access.staff_role(who)
    institution_id = interviews.known_program(session, who, program_id)
    if institution_id is None:
        raise not_found("Program")
    return institution_id


def theme_public(t: ThemeRow, code_of: dict[uuid.UUID, str] | None = None) -> dict[str, Any]:
    return interviews.theme_public(t, code_of or {})


def create_theme(session: Session, who: Principal, program_id: uuid.UUID, code: str, label: dict[str, str],
                 definition: dict[str, str] | None = None, parent: str | None = None) -> ThemeRow:
    institution_id = require_known_program(session, who, program_id)
    return interviews.add_theme(session, who, institution_id, program_id, code, label, definition, parent)


def _themes_of(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> list[ThemeRow]:
    return interviews.ordered_themes(interviews.codebook_rows(session, institution_id, program_id))


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
    """The codebook (each theme followed by its sub-themes) and the codings the themes section counts: the settled
    interviews' (response id = the interview's code), else the coded open answers'."""
    rows = _themes_of(session, institution_id, program_id)
    return rows, interviews.analytics_themes(rows), _codings(session, institution_id, program_id)[0]


def _codings(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> tuple[tuple[ThemeCoding, ...], str]:
    codings = interviews.report_codings(session, institution_id, program_id)
    if codings:
        return codings, "interviews"
    return tuple(
        ThemeCoding(str(c.response_id), Role(c.role), frozenset(c.themes), c.evaluator)
        for c in session.exec(select(CodingRow).where(CodingRow.institution_id == institution_id, CodingRow.program_id == program_id)
                              .order_by(CodingRow.id)).all()
    ), "open_answers"


def theme_summary(session: Session, who: Principal, program_id: uuid.UUID, policy: DisclosurePolicy) -> dict[str, Any]:
    """Coded interviews (or open answers) per theme and sub-theme by role, protected, with Cohen's kappa per theme."""
    institution_id = require_known_program(session, who, program_id)
    rows = _themes_of(session, institution_id, program_id)
    themes = interviews.analytics_themes(rows)
    codings, source = _codings(session, institution_id, program_id)
    if not themes:
        return {"program_id": program_id, "source": source,
                "coded": protect_split({"mentor": 0, "mentee": 0}, policy=policy).to_dict(), "evaluators": 0, "themes": []}
    section = protected_themes(ReportInput(program=ProgramInfo(program_id=str(program_id), name="", institution=""),
                                           themes=themes, codings=codings), policy)
    assert section is not None
    detail = theme_counts(codings, themes).agreements
    by_code = {t.code: t for t in rows}
    code_of = {t.id: t.code for t in rows}
    return {
        "program_id": program_id, "source": source, "coded": section.coded.to_dict(), "evaluators": section.evaluators,
        "themes": [{"theme": theme_public(by_code[r.theme.id], code_of), "mentioned": dict(r.mentioned), "agreement": r.agreement,
                    "kappa": detail[r.theme.id].__dict__}
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


async def report_token(request: Any, who: Principal) -> str:
    """This service's own ``reports:read`` token (the caller's own without credentials)."""
    tokens = request.app.state.report_tokens
    return who.token if tokens is None else await tokens.token()


async def gather_upstream(up: Upstreams, program_id: uuid.UUID, token: str) -> dict[str, Any]:
    funnel, training, matching, outcomes = await asyncio.gather(
        up.funnel(program_id, token), up.training(program_id, token), up.matching_outcomes(program_id, token),
        _outcomes_or_none(up, program_id, token),
    )
    return {"funnel": funnel, "training": training, "matching": matching, "outcomes": outcomes}


async def _outcomes_or_none(up: Upstreams, program_id: uuid.UUID, token: str) -> ProgramOutcomes | None:
    """Sessions knows a program from its first active dyad on: before that there is nothing to report."""
    try:
        return await up.outcomes(program_id, token)
    except ProblemError as exc:
        if exc.status == 404:
            return None
        raise


def _funnel(up: dict[str, Any]) -> tuple[FunnelStage, ...]:
    f = up["funnel"]
    m: MatchingOutcomes = up["matching"]

    def stage(name: str) -> tuple[int, int]:
        mentors = sum(getattr(r.stages, name) for r in f.by_role if r.role in ("mentor", "peer_mentor"))
        mentees = sum(getattr(r.stages, name) for r in f.by_role if r.role == "mentee")
        return mentors, mentees

    stages = [
        FunnelStage("applied", *stage("applied")),
        FunnelStage("selected", *stage("accepted")),
        FunnelStage("confirmed", *stage("confirmed")),
        FunnelStage("trained", *stage("trained")),
        FunnelStage("matched", m.matched_mentors, m.matched_mentees),
        FunnelStage("completed", *stage("completed")),
    ]
    return tuple(stages)


STATUS = {"active": DyadStatus.ACTIVE, "completed": DyadStatus.COMPLETED, "dissolved": DyadStatus.DISSOLVED}


def achievement_inputs(session: Session, adms: list[AdministrationRow], program_id: uuid.UUID, outcomes: ProgramOutcomes | None,
                       key: bytes) -> tuple[DyadAchievement, ...]:
    """Per dyad (by its keyed pseudonym): measured achievement (sessions) beside the mentee's and the mentor's
    perceived achievement (their latest submitted answer to a perceived-achievement instrument)."""
    perceived: dict[str, dict[str, float]] = {}
    for adm in adms:
        if not is_achievement_instrument(catalog.load(session, adm.institution_id, adm.instrument_id)):
            continue
        rows = session.exec(select(ResponseRow).where(
            ResponseRow.institution_id == adm.institution_id, ResponseRow.administration_id == adm.id,
            ResponseRow.status == "submitted", ResponseRow.dyad_ref.is_not(None),  # type: ignore[union-attr]
        ).order_by(ResponseRow.submitted_at, ResponseRow.id)).all()  # type: ignore[arg-type]
        for r in rows:
            value = r.answers.get(ACHIEVEMENT_ITEM)
            if isinstance(value, int | float) and not isinstance(value, bool):
                perceived.setdefault(r.dyad_ref, {})[r.role] = float(value)  # type: ignore[index]
    measured = {
        access.dyad_pseudonym(key, program_id, d.dyad_id): (d.objectives.measured_mean if d.objectives.objectives else None)
        for d in (outcomes.items if outcomes else ())
    }
    out = []
    for ref in sorted(set(measured) | set(perceived)):
        mine = perceived.get(ref, {})
        row = DyadAchievement(ref, measured.get(ref), mine.get("mentee"), mine.get("mentor"))
        if any(v is not None for v in (row.measured, row.mentee_perceived, row.mentor_perceived)):
            out.append(row)
    return tuple(out)


def report_input(session: Session, who: Principal, program_id: uuid.UUID, up: dict[str, Any], key: bytes) -> ReportInput:
    program, outcomes = up["program"], up["outcomes"]
    adms = program_administrations(session, who, program_id)
    pair = pick_pre_post(session, adms, None, None)
    closing = [a for a in adms if a.moment == "closing"]
    run = up["matching"].run
    matching = None
    if run is not None:
        matching = MatchingSummary(mentors=run.mentors, mentees=run.mentees, matched_mentees=run.matched,
                                   substitutes=run.substitutes, pair_scores=tuple(run.pair_scores),
                                   blocking_pairs=run.blocking_pairs, algorithm=run.algorithm)
    dyads = outcomes.items if outcomes else []
    records = tuple(
        DyadRecord(str(d.dyad_id), STATUS.get(d.status, DyadStatus.ACTIVE), d.meetings.held, d.meetings.in_person, None,
                   d.at_risk)
        for d in dyads
    )
    feedback = None
    meetings = MeetingPlan(planned_per_dyad=program.meetings_count)
    if outcomes is not None:
        days_late = [0] * sum(d.feedback.on_time for d in dyads) + sorted(x for d in dyads for x in d.feedback.late_days)
        feedback = FeedbackForms(deadline_days=max(1, math.ceil(outcomes.feedback_deadline_hours / 24)),
                                 expected=outcomes.feedback.due, days_late=tuple(days_late))
        meetings = MeetingPlan(planned_per_dyad=outcomes.meetings_per_dyad, rescheduled=outcomes.meetings.rescheduled,
                               cancelled=outcomes.meetings.cancelled)
    _, themes, codings = theme_inputs(session, program.institution_id, program_id)
    quotes = interviews.report_quotes(session, program.institution_id, program_id)
    return ReportInput(
        program=ProgramInfo(program_id=str(program_id), name=program.name, institution=str(program.institution_id),
                            generated_on=clock.now().date().isoformat()),
        funnel=_funnel(up),
        training=tuple(TrainingModule(str(m.module_id), Text(m.title, m.title), up["training"].members, m.completed)
                       for m in up["training"].modules),
        matching=matching,
        meetings=meetings,
        feedback=feedback,
        dyads=records,
        skills_pre=analytics_administration(session, pair[0]) if pair else None,
        skills_post=analytics_administration(session, pair[1]) if pair else None,
        closing=analytics_administration(session, closing[-1]) if closing else None,
        achievement=achievement_inputs(session, adms, program_id, outcomes, key),
        themes=themes,
        codings=codings,
        quotes=quotes,
    )


async def program_report(request: Any, who: Principal, session: Session, program_id: uuid.UUID, n_boot: int = 2000) -> ProgramReport:
    access.staff_role(who)
    up: Upstreams = request.app.state.upstreams
    token = await report_token(request, who)
    program = await up.program(program_id, token)
    if not who.is_admin and program.institution_id != access.tenant(who):
        raise not_found("Program")  # authorized before anything else is read
    data = {"program": program, **await gather_upstream(up, program_id, token)}
    policy = policy_of(request.app.state.settings)
    key: bytes = request.app.state.pseudonym_key

    def build() -> ProgramReport:
        return build_report(report_input(session, who, program_id, data, key), policy=policy, seed=0, n_boot=n_boot)

    try:
        return await access.in_thread(build)
    except ValueError as exc:  # contradictory inputs (e.g. a respondent twice)
        raise ProblemError(409, f"The program's data cannot be reported: {exc}", slug="conflict") from None
