"""Aggregates of a program's evaluation, built on the pure core (domain/), always protected.

Responses enter the core as ``Response(respondent=pseudonym, role, answers)``:
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
and cleared quotes come from ``interview_quotes.py`` (``theme_inputs``).
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
from servicekit.tenancy import scoped, tenant_of

from services.evaluation import access, catalog, interview_coding, interview_common, interview_quotes
from services.evaluation.domain import (
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
from services.evaluation.domain.report import themes_section as protected_themes
from services.evaluation.domain.disclosure import MIN_K
from services.evaluation.domain.publish import publish_items
from services.evaluation.domain.report import open_text_terms
from services.evaluation.domain.report_input import PerceivedSource
from services.evaluation.clients.upstream import MatchingOutcomes, ProgramOutcomes, Upstreams
from services.evaluation.enums import Moment
from services.evaluation.models import AdministrationRow, CodingRow, DisclosureSettingsRow, ResponseRow, ThemeRow

ROLES = ("mentor", "mentee")
ACHIEVEMENT_ITEM = "achieved"
"""The 0-100 numeric item of the perceived-achievement instruments (objectives-mentee / -mentor and their copies)."""


def is_achievement_instrument(ins: Instrument) -> bool:
    return ins.has_item(ACHIEVEMENT_ITEM) and ins.item(ACHIEVEMENT_ITEM).type is ItemType.NUMERIC


def floors(settings: Any) -> tuple[int, int]:
    """The platform's floor: (k, k_text). k is never below 3, k_text never below k."""
    k = max(int(settings.min_cell), MIN_K)
    return k, max(int(settings.min_text), k)


def policy_of(settings: Any) -> DisclosurePolicy:
    """The policy of a program without its own settings: k at the platform's floor, k_text at the
    platform's default for programs (never below the floors)."""
    k, k_text = floors(settings)
    return DisclosurePolicy(k=k, k_text=max(int(settings.default_min_text), k_text))


def disclosure_row(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> DisclosureSettingsRow | None:
    return session.exec(select(DisclosureSettingsRow).where(DisclosureSettingsRow.institution_id == institution_id,
                                                             DisclosureSettingsRow.program_id == program_id)).first()


def policy_for(session: Session, settings: Any, institution_id: uuid.UUID, program_id: uuid.UUID) -> DisclosurePolicy:
    """The program's policy: its own thresholds, never below the platform's floor."""
    row = disclosure_row(session, institution_id, program_id)
    if row is None:
        return policy_of(settings)
    k_floor, text_floor = floors(settings)
    k = max(row.min_cell, k_floor)
    return DisclosurePolicy(k=k, k_text=max(row.min_text, text_floor, k))


def disclosure_public(settings: Any, program_id: uuid.UUID, row: DisclosureSettingsRow | None) -> dict[str, Any]:
    k_floor, text_floor = floors(settings)
    k = max(row.min_cell, k_floor) if row else k_floor
    k_text = max(row.min_text, text_floor, k) if row else policy_of(settings).k_text
    return {"program_id": program_id, "min_cell": k, "min_text": k_text,
            "floor": {"min_cell": k_floor, "min_text": text_floor}, "customised": row is not None,
            "updated_at": row.updated_at if row else None}


def set_disclosure(session: Session, who: Principal, settings: Any, institution_id: uuid.UUID, program_id: uuid.UUID,
                   min_cell: int, min_text: int) -> DisclosureSettingsRow:
    k_floor, text_floor = floors(settings)
    if min_cell < k_floor:
        raise field_problem("body.min_cell", f"must be at least the platform's floor, {k_floor}")
    if min_text < max(text_floor, min_cell):
        raise field_problem("body.min_text", f"must be at least {max(text_floor, min_cell)} (the floor, and min_cell)")
    row = disclosure_row(session, institution_id, program_id)
    if row is None:
        row = DisclosureSettingsRow(institution_id=institution_id, program_id=program_id, min_cell=min_cell,
                                    min_text=min_text, updated_by=who.subject)
    else:
        row.min_cell, row.min_text, row.updated_by, row.updated_at = min_cell, min_text, who.subject, clock.now()
    session.add(row)
    session.flush()
    return row


def program_administrations(session: Session, who: Principal, program_id: uuid.UUID) -> list[AdministrationRow]:
    rows = list(session.exec(scoped(
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


def domain_administration(session: Session, adm: AdministrationRow) -> Administration:
    return Administration(catalog.load(session, adm.institution_id, adm.instrument_id), adm.moment, submitted(session, adm))


def pick_pre_post(session: Session, adms: list[AdministrationRow], pre_id: uuid.UUID | None, post_id: uuid.UUID | None
                  ) -> tuple[AdministrationRow, AdministrationRow] | None:
    by_id = {a.id: a for a in adms}
    if pre_id or post_id:
        pre, post = by_id.get(pre_id) if pre_id else None, by_id.get(post_id) if post_id else None  # type: ignore[arg-type]
        if pre is None or pre.moment != Moment.PRE:
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


def skills(session: Session, who: Principal, program_id: uuid.UUID, settings: Any,
           pre_id: uuid.UUID | None, post_id: uuid.UUID | None, n_boot: int = 2000) -> dict[str, Any]:
    adms = require_program(session, who, program_id)
    policy = policy_for(session, settings, adms[0].institution_id, program_id)
    pair = pick_pre_post(session, adms, pre_id, post_id)
    if pair is None:
        raise not_found("Pre and post administrations of one instrument with subscales")
    pre, post = pair
    inp = ReportInput(program=ProgramInfo(program_id=str(program_id), name="", institution=""),
                      skills_pre=domain_administration(session, pre), skills_post=domain_administration(session, post))
    report = build_report(inp, policy=policy, seed=0, n_boot=n_boot)
    data = report.to_dict()["skills"]
    data.update(program_id=program_id, pre_administration_id=pre.id, post_administration_id=post.id, k=policy.k)
    return data


def _groups(adm: AdministrationRow) -> tuple[str, ...]:
    return {"mentors": ("mentor",), "mentees": ("mentee",)}.get(adm.audience, ROLES)


def _text(t: Text) -> dict[str, str]:
    return {"es": t.es, "en": t.en}


def items(session: Session, who: Principal, program_id: uuid.UUID, settings: Any,
          administration_id: uuid.UUID | None) -> dict[str, Any]:
    """Every closed and numeric item of the program's administrations, as the report publishes them
    (``domain.publish_items``: the same form and the same hidden cells)."""
    adms = require_program(session, who, program_id)
    policy = policy_for(session, settings, adms[0].institution_id, program_id)
    if administration_id is not None:
        adms = [a for a in adms if a.id == administration_id]
        if not adms:
            raise not_found("Administration")
    respondents: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    for adm in adms:
        ad = domain_administration(session, adm)
        split, published = publish_items(ad.instrument, ad.responses, policy=policy, groups=_groups(adm))
        respondents[str(adm.id)] = split.to_dict()
        for p in published:
            out.append({
                "administration_id": adm.id, "item_id": p.item_id, "type": p.type.value, "text": _text(p.text),
                "categories": [{"key": k, "label": _text(lbl)} for k, lbl in p.categories],
                "collapsed": p.collapsed,
                "table": p.table.to_dict() if p.table is not None else None,
                "options": [{"key": o.option, "label": _text(o.label), "table": o.table.to_dict()} for o in p.options]
                if p.options else None,
                "numeric": {g: (None if v is None else v.__dict__) for g, v in p.numeric.items()}
                if p.numeric is not None else None,
            })
    return {"program_id": program_id, "k": policy.k, "respondents": respondents, "items": out}


def texts(session: Session, who: Principal, program_id: uuid.UUID, settings: Any) -> dict[str, Any]:
    """Term frequencies of open answers, from the roles with at least k_text answers to the item."""
    adms = require_program(session, who, program_id)
    policy = policy_for(session, settings, adms[0].institution_id, program_id)
    out = []
    for adm in adms:
        ad = domain_administration(session, adm)
        for item in ad.instrument.items():
            if item.type is not ItemType.OPEN_TEXT:
                continue
            by_role = {g: [r.answers[item.id] for r in ad.responses if r.role.value == g and isinstance(r.answers.get(item.id), str)]
                       for g in _groups(adm) if ad.instrument.item_audience(item.id).includes(Role(g))}
            roles, terms = open_text_terms(by_role, policy)  # type: ignore[arg-type]
            out.append({"administration_id": adm.id, "item_id": item.id, "text": _text(item.text),
                        "responses": sum(len(v) for v in by_role.values()), "published": bool(roles),
                        "roles": list(roles), "terms": [t.__dict__ for t in terms]})
    return {"program_id": program_id, "k_text": policy.k_text, "min_term_documents": policy.min_term_documents, "items": out}


# ------------------------------------------------------------------ themes and codings
#
# The program's themes are its interview codebook (``interview_coding.py``): themes and sub-themes. The themes
# section counts the program's settled interviews (one coding per interview and coder, the consensus when
# written); a program without coded interviews shows its coded open answers of anonymous questionnaires instead
# (one coding per response and evaluator).


def require_known_program(session: Session, who: Principal, program_id: uuid.UUID) -> uuid.UUID:
    """The institution of a program this service holds something of (administrations, a codebook, interviews)."""
    access.staff_role(who)
    institution_id = interview_common.known_program(session, who, program_id)
    if institution_id is None:
        raise not_found("Program")
    return institution_id


def theme_public(t: ThemeRow, code_of: dict[uuid.UUID, str] | None = None) -> dict[str, Any]:
    return interview_coding.theme_public(t, code_of or {})


def create_theme(session: Session, who: Principal, program_id: uuid.UUID, code: str, label: dict[str, str],
                 definition: dict[str, str] | None = None, parent: str | None = None) -> ThemeRow:
    institution_id = require_known_program(session, who, program_id)
    return interview_coding.add_theme(session, who, institution_id, program_id, code, label, definition, parent)


def _themes_of(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> list[ThemeRow]:
    return interview_coding.ordered_themes(interview_coding.codebook_rows(session, institution_id, program_id))


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
    return rows, interview_coding.domain_themes(rows), _codings(session, institution_id, program_id)[0]


def _codings(session: Session, institution_id: uuid.UUID, program_id: uuid.UUID) -> tuple[tuple[ThemeCoding, ...], str]:
    codings = interview_quotes.report_codings(session, institution_id, program_id)
    if codings:
        return codings, "interviews"
    return tuple(
        ThemeCoding(str(c.response_id), Role(c.role), frozenset(c.themes), c.evaluator)
        for c in session.exec(select(CodingRow).where(CodingRow.institution_id == institution_id, CodingRow.program_id == program_id)
                              .order_by(CodingRow.id)).all()
    ), "open_answers"


def theme_summary(session: Session, who: Principal, program_id: uuid.UUID, settings: Any) -> dict[str, Any]:
    """Coded interviews (or open answers) per theme and sub-theme by role, protected with the program's own
    thresholds, with Cohen's kappa per theme."""
    institution_id = require_known_program(session, who, program_id)
    policy = policy_for(session, settings, institution_id, program_id)
    rows = _themes_of(session, institution_id, program_id)
    themes = interview_coding.domain_themes(rows)
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


def open_answers(session: Session, who: Principal, program_id: uuid.UUID, settings: Any) -> list[dict[str, Any]]:
    """De-identified open answers of anonymous administrations (evaluators, for coding), only from the
    roles with at least k_text submissions: a verbatim answer never comes from a smaller role."""
    access.staff_role(who, ("evaluator",))
    out = []
    adms = require_program(session, who, program_id)
    policy = policy_for(session, settings, adms[0].institution_id, program_id)
    for adm in adms:
        if not adm.anonymous:
            continue
        rows = session.exec(select(ResponseRow).where(ResponseRow.institution_id == adm.institution_id,
                                                      ResponseRow.administration_id == adm.id, ResponseRow.status == "submitted")
                            .order_by(ResponseRow.id)).all()
        roles = {g for g in ROLES if policy.text_publishable(sum(1 for r in rows if r.role == g))}
        if not roles:
            continue
        ins = catalog.load(session, adm.institution_id, adm.instrument_id)
        open_ids = [i.id for i in ins.items() if i.type is ItemType.OPEN_TEXT]
        for r in rows:
            if r.role not in roles:
                continue
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
                       key: bytes) -> tuple[tuple[DyadAchievement, ...], PerceivedSource]:
    """Per dyad (by its keyed pseudonym): measured achievement (sessions: confirmed milestones) and the
    mentee's self-reported progress, beside each member's perceived achievement.

    Perceived achievement comes from the members' own assessments of their objectives in the sessions
    service when any dyad has one; otherwise from their latest submitted answers to a perceived-achievement
    questionnaire (programs that use the instrument instead). The source is returned so the report can say it."""
    items = outcomes.items if outcomes else []
    assessed = any(d.objectives.perceived_mentee_mean is not None or d.objectives.perceived_mentor_mean is not None
                   for d in items)
    perceived: dict[str, dict[str, float]] = {}
    if assessed:
        for d in items:
            ref = access.dyad_pseudonym(key, program_id, d.dyad_id)
            for role in ROLES:
                v = getattr(d.objectives, f"perceived_{role}_mean")
                if v is not None:
                    perceived.setdefault(ref, {})[role] = float(v)
    else:
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
        access.dyad_pseudonym(key, program_id, d.dyad_id): (d.objectives.measured_mean, d.objectives.self_reported_mean)
        for d in items if d.objectives.objectives
    }
    out = []
    for ref in sorted(set(measured) | set(perceived)):
        mine = perceived.get(ref, {})
        meas, selfr = measured.get(ref, (None, None))
        row = DyadAchievement(ref, meas, mine.get("mentee"), mine.get("mentor"), selfr)
        if any(v is not None for v in (row.measured, row.self_reported, row.mentee_perceived, row.mentor_perceived)):
            out.append(row)
    return tuple(out), PerceivedSource.ASSESSMENTS if assessed else PerceivedSource.SURVEY


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
        DyadRecord(str(d.dyad_id), STATUS.get(d.status, DyadStatus.ACTIVE), d.meetings.held, d.meetings.in_person,
                   d.rapport.mean, d.at_risk, d.meetings.planned_to_date)
        for d in dyads
    )
    feedback = None
    meetings = MeetingPlan(planned_per_dyad=program.meetings_count)
    if outcomes is not None:
        days_late = [0] * sum(d.feedback.on_time for d in dyads) + sorted(x for d in dyads for x in d.feedback.late_days)
        feedback = FeedbackForms(deadline_days=max(1, math.ceil(outcomes.feedback_deadline_hours / 24)),
                                 expected=outcomes.feedback.due, days_late=tuple(days_late))
        # The sessions statistics' own figures (planned = meetings whose planned start has passed), so the
        # report says what `GET .../statistics` says.
        m = outcomes.meetings
        meetings = MeetingPlan(planned_per_dyad=outcomes.meetings_per_dyad, planned_to_date=m.planned, held=m.held,
                               rescheduled=m.rescheduled, cancelled=m.cancelled, no_show=m.no_show,
                               as_of=(outcomes.computed_at or clock.now()).date())
    _, themes, codings = theme_inputs(session, program.institution_id, program_id)
    achievement, source = achievement_inputs(session, adms, program_id, outcomes, key)
    quotes = interview_quotes.report_quotes(session, program.institution_id, program_id)
    return ReportInput(
        program=ProgramInfo(program_id=str(program_id), name=program.name, institution=up["institution"].name,
                            institution_id=str(program.institution_id), period=program.period,
                            generated_on=clock.now().date()),
        funnel=_funnel(up),
        training=tuple(TrainingModule(str(m.module_id), Text(m.title, m.title), up["training"].members, m.completed)
                       for m in up["training"].modules),
        matching=matching,
        meetings=meetings,
        feedback=feedback,
        dyads=records,
        skills_pre=domain_administration(session, pair[0]) if pair else None,
        skills_post=domain_administration(session, pair[1]) if pair else None,
        closing=domain_administration(session, closing[-1]) if closing else None,
        achievement=achievement,
        perceived_source=source,
        themes=themes,
        codings=codings,
        quotes=quotes,
    )


async def authorized_program(request: Any, who: Principal, program_id: uuid.UUID, allow: tuple[str, ...] = access.STAFF) -> Any:
    """The program (participants service, read with this service's own token) once the caller is staff of its
    institution (or an admin): another institution's program is a 404, before anything else is read."""
    access.staff_role(who, allow)
    up: Upstreams = request.app.state.upstreams
    token = await report_token(request, who)
    program = await up.program(program_id, token)
    if not who.is_admin and program.institution_id != tenant_of(who):
        raise not_found("Program")
    return program


async def program_report(request: Any, who: Principal, session: Session, program_id: uuid.UUID, n_boot: int = 2000) -> ProgramReport:
    access.staff_role(who)
    up: Upstreams = request.app.state.upstreams
    token = await report_token(request, who)
    program = await up.program(program_id, token)
    if not who.is_admin and program.institution_id != tenant_of(who):
        raise not_found("Program")  # authorized before anything else is read
    gathered, institution = await asyncio.gather(gather_upstream(up, program_id, token),
                                                 up.institution(program.institution_id, token))
    data = {"program": program, "institution": institution, **gathered}
    key: bytes = request.app.state.pseudonym_key
    settings = request.app.state.settings

    def build() -> ProgramReport:
        policy = policy_for(session, settings, program.institution_id, program_id)
        return build_report(report_input(session, who, program_id, data, key), policy=policy, seed=0, n_boot=n_boot)

    try:
        return await access.in_thread(build)
    except ValueError as exc:  # contradictory inputs (e.g. a respondent twice)
        raise ProblemError(409, f"The program's data cannot be reported: {exc}", slug="conflict") from None
