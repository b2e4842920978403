"""Seeded synthetic programs for the analytics tests and bench/evaluation.

``synthetic_program(mentors, mentees, seed)`` builds a whole :class:`ReportInput`:
funnel, training, matching, dyads with meetings and feedback, pre/post soft-skills
responses (mentees improve more than mentors), the closing questionnaire with
mentors' benefits and mentees' open text, perceived and measured achievement
(mentees more optimistic than mentors), and interview theme coding.
``mexico_pilot()`` is the pilot's shape: 16 mentors, 14 mentees, 14 dyads of
which 13 completed, half the feedback forms on time.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from services.evaluation.analytics import (
    Administration,
    DyadAchievement,
    DyadRecord,
    DyadStatus,
    FeedbackForms,
    FunnelStage,
    MatchingSummary,
    MeetingPlan,
    ProgramInfo,
    ReportInput,
    Response,
    Role,
    Text,
    Theme,
    ThemeCoding,
    TrainingModule,
    closing_assessment,
    soft_skills,
)

MENTEE_PHRASES = (
    "Gané confianza para presentar mi investigación en congresos.",
    "Aprendí a organizar mi tiempo y a fijar objetivos medibles.",
    "Conocí a una mentora que me inspiró y amplié mi red de contactos.",
    "Me siento más segura para solicitar becas y financiamiento.",
    "La mentoría me ayudó a planificar mi carrera científica.",
    "Descubrí que el liderazgo también se aprende con práctica.",
    "Tener una mentora en ciencia fue un ejemplo de vida para mí.",
    "Mejoré mi comunicación y mi escucha con mi equipo.",
    "Ahora tengo un plan claro para mi posgrado y mi investigación.",
    "I gained confidence to apply for research funding.",
    "My mentor helped me plan my career in science.",
)
IMPROVE_PHRASES = (
    "Más reuniones presenciales con la mentora.",
    "Sesiones de capacitación más cortas y prácticas.",
    "Que la plataforma sea más sencilla de usar.",
    "Un calendario que evite el cierre del semestre.",
    "Recordatorios para los formularios de retroalimentación.",
    "More in-person meetings and a clearer schedule.",
    "Encuentros grupales entre todas las mentoradas.",
)
THEMES = (
    Theme("gendered_roles", Text("Cuestionar roles de género", "Challenging gendered roles")),
    Theme("agency", Text("Confianza y agencia personal", "Confidence and personal agency")),
    Theme("journeys", Text("Trayectorias personales desafiantes", "Challenging personal journeys")),
)
MODULES = (
    ("m1", Text("Introducción a la mentoría", "Introduction to mentoring")),
    ("m2", Text("Objetivos SMART", "SMART objectives")),
    ("m3", Text("Comunicación y escucha", "Communication and listening")),
    ("m4", Text("Sesgos de género en STEM", "Gender bias in STEM")),
    ("m5", Text("Cierre y evaluación", "Closing and evaluation")),
)


def _likert_answers(instrument, latent: np.ndarray, rng: np.random.Generator, noise: float) -> list[dict]:
    """Answers of every respondent (rows of ``latent``, one column per subscale)."""
    n = latent.shape[0]
    columns: dict[str, np.ndarray] = {}
    for s, sub in enumerate(instrument.subscales):
        for item_id in sub.items:
            item = instrument.item(item_id)
            pts = item.scale.points
            v = np.clip(np.rint(latent[:, s] + rng.normal(0, noise, n)), 1, pts).astype(int)
            columns[item_id] = pts + 1 - v if item.reverse else v
    ids = list(columns)
    matrix = np.column_stack([columns[i] for i in ids]).tolist()
    return [dict(zip(ids, row, strict=True)) for row in matrix]


def synthetic_program(mentors: int, mentees: int, seed: int = 7, *, pilot_shape: bool = False) -> ReportInput:
    rng = np.random.default_rng(seed)
    n = mentors + mentees
    roles = [Role.MENTOR] * mentors + [Role.MENTEE] * mentees
    people = [f"p{i:05d}" for i in range(n)]
    is_mentor = np.array([r is Role.MENTOR for r in roles])

    # dyads: every mentee has one; the last mentors are substitutes when there are more mentors
    n_dyads = mentees
    if pilot_shape:
        status = [DyadStatus.COMPLETED] * (n_dyads - 1) + [DyadStatus.DISSOLVED]
    else:
        draw = rng.random(n_dyads)
        status = [DyadStatus.DISSOLVED if x < 0.07 else DyadStatus.ACTIVE if x < 0.12 else DyadStatus.COMPLETED for x in draw]
    held = np.where(np.array([s is DyadStatus.DISSOLVED for s in status]), 3, np.clip(rng.normal(11, 1.2, n_dyads).round(), 6, 12))
    in_person = np.minimum(held, rng.integers(0, 6, n_dyads))
    rapport = np.clip(3.2 + 0.25 * in_person + rng.normal(0, 0.45, n_dyads), 1, 5).round(2)
    dyads = tuple(
        DyadRecord(f"d{i:05d}", status[i], int(held[i]), int(in_person[i]), float(rapport[i]),
                   at_risk=bool(status[i] is DyadStatus.ACTIVE and rapport[i] < 3.3))
        for i in range(n_dyads)
    )

    expected = int(held.sum() * 2)
    submitted = int(expected * 0.9) if not pilot_shape else expected - 4
    on_time = submitted // 2
    late = np.concatenate([np.zeros(on_time, dtype=int), rng.integers(1, 15, submitted - on_time)])
    feedback = FeedbackForms(deadline_days=2, expected=expected, days_late=tuple(int(x) for x in late))

    subs = max(mentors - mentees, 0) if pilot_shape else max(mentors // 20, 0)
    funnel = (
        FunnelStage("applied", int(mentors * 1.4), int(mentees * 1.9)),
        FunnelStage("selected", int(mentors * 1.1), int(mentees * 1.15)),
        FunnelStage("confirmed", mentors, mentees),
        FunnelStage("trained", mentors, mentees),
        FunnelStage("matched", min(mentors, n_dyads) if pilot_shape else mentors - subs, mentees),
        FunnelStage("completed", sum(s is DyadStatus.COMPLETED for s in status) if pilot_shape
                    else int(mentors * 0.9), sum(s is DyadStatus.COMPLETED for s in status)),
    )
    training = tuple(TrainingModule(mid, title, n, n if pilot_shape else int(n * (0.97 - 0.02 * i)))
                     for i, (mid, title) in enumerate(MODULES))
    matching = MatchingSummary(mentors=mentors, mentees=mentees, matched_mentees=mentees, substitutes=subs,
                               pair_scores=tuple(np.clip(rng.normal(0.68, 0.1, n_dyads), 0.2, 1).round(3)),
                               blocking_pairs=int(rng.integers(0, 3)))

    skills = soft_skills()
    k = len(skills.subscales)
    base = rng.normal(3.0, 0.6, (n, 1)) + rng.normal(0, 0.35, (n, k))
    gain = np.where(is_mentor[:, None], 0.12, 0.55) + rng.normal(0, 0.35, (n, k))
    pre_answers = _likert_answers(skills, base, rng, 0.55)
    post_answers = _likert_answers(skills, base + gain, rng, 0.55)
    dropped = {n - 1, mentors + mentees - 2} if pilot_shape else set(np.flatnonzero(rng.random(n) < 0.05).tolist())
    pre = tuple(Response(people[i], roles[i], pre_answers[i]) for i in range(n))
    post = tuple(Response(people[i], roles[i], post_answers[i]) for i in range(n) if i not in dropped)

    closing = closing_assessment()
    sat_latent = np.clip(rng.normal(4.0, 0.5, (n, len(closing.subscales))), 1, 5)
    closing_answers = _likert_answers(closing, sat_latent, rng, 0.6)
    options = [o.value for o in closing.item("benefits.mentor").options]
    weights = np.array([0.8, 0.6, 0.7, 0.9, 0.4, 0.3])
    closing_responses = []
    for i in range(n):
        if i in dropped:
            continue
        answers = dict(closing_answers[i])
        if roles[i] is Role.MENTOR:
            chosen = [o for o, w in zip(options, weights, strict=True) if rng.random() < w] or [options[3]]
            answers["benefits.mentor"] = chosen
        else:
            picks = rng.choice(len(MENTEE_PHRASES), size=2, replace=False)
            answers["benefits.mentee"] = " ".join(MENTEE_PHRASES[j] for j in picks)
        if rng.random() < 0.6:
            answers["benefits.improve"] = IMPROVE_PHRASES[int(rng.integers(len(IMPROVE_PHRASES)))]
        closing_responses.append(Response(people[i], roles[i], answers))

    measured = np.clip(rng.normal(62, 18, n_dyads), 0, 100).round()
    mentee_p = np.clip(measured + rng.normal(14, 10, n_dyads), 0, 100).round()
    mentor_p = np.clip(measured + rng.normal(3, 10, n_dyads), 0, 100).round()
    self_p = np.clip(measured + rng.normal(8, 12, n_dyads), 0, 100).round()
    achievement = tuple(
        DyadAchievement(d.dyad_id, float(measured[i]), float(mentee_p[i]), float(mentor_p[i]), float(self_p[i]))
        for i, d in enumerate(dyads)
    )

    interviews = 12 if pilot_shape else min(400, n // 10)
    codings = []
    probs = {"gendered_roles": 0.55, "agency": 0.8, "journeys": 0.45}
    for j in range(interviews):
        role = Role.MENTOR if j % 2 else Role.MENTEE
        themes = frozenset(t for t, p in probs.items() if rng.random() < p)
        codings.append(ThemeCoding(f"int{j:04d}", role, themes, evaluator="e1"))
        if j % 3 == 0:
            other = set(themes) ^ ({"journeys"} if rng.random() < 0.3 else set())
            codings.append(ThemeCoding(f"int{j:04d}", role, frozenset(other), evaluator="e2"))

    return ReportInput(
        program=ProgramInfo(
            program_id="prog-mx-1" if pilot_shape else f"prog-synthetic-{n}",
            name="Mentoría para mujeres en STEM · Convocatoria 2025" if pilot_shape else f"Programa sintético ({n:,} participantes)",
            institution="Universidad de ejemplo",
            period=(date(2025, 3, 3), date(2026, 2, 27)),
            generated_on=date(2026, 2, 28),
        ),
        funnel=funnel,
        training=training,
        matching=matching,
        meetings=MeetingPlan(planned_per_dyad=12, rescheduled=int(n_dyads * 0.4), cancelled=int(n_dyads * 0.05)),
        feedback=feedback,
        dyads=dyads,
        skills_pre=Administration(skills, "pre", pre),
        skills_post=Administration(skills, "post", post),
        closing=Administration(closing, "closing", tuple(closing_responses)),
        achievement=achievement,
        themes=THEMES,
        codings=tuple(codings),
    )


def mexico_pilot(seed: int = 2025) -> ReportInput:
    return synthetic_program(16, 14, seed, pilot_shape=True)
