"""Seeded synthetic programs for the analytics tests and bench/evaluation.

``synthetic_program(mentors, mentees, seed)`` builds a whole :class:`ReportInput`:
funnel, training, matching, dyads with meetings and feedback, pre/post soft-skills
responses (mentees improve more than mentors), the closing questionnaire with
mentors' benefits and mentees' open text, perceived and measured achievement
(mentees more optimistic than mentors), and interview theme coding.
``mexico_pilot()`` is the pilot's shape: 16 mentors, 14 mentees, 14 dyads of
which 13 completed, half the feedback forms on time.

``large_program(participants, seed)`` is a national-scale program for the
report's data bench, with ``realistic=True``: each person answers in a style
(most as they feel; some agree with everything, some use the ends of the scale,
some stay in the middle), the closing questionnaire leans to agreement with the
pilots' weak spots (mentees less sure of the selection criteria, mentors of the
call's dates, mentees wanting more training sessions), open answers are composed
sentence by sentence from a wide bank (nearly every answer is different), some
people answered only one of pre and post, and some dyads lack a measure
(objectives without milestones, a member who did not assess).
"""

from __future__ import annotations

from datetime import date

import numpy as np

from services.evaluation.domain import (
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


# Open answers of a realistic program, composed sentence by sentence: an opening, what changed, and
# (often) a detail. A few are written in English, as in a bilingual cohort.
OPENINGS = (
    "Con esta mentoría", "Gracias a mi mentora", "Durante estos meses", "Lo más valioso fue que", "Al final del programa",
    "Sinceramente", "En cada reunión", "Desde la primera sesión", "Trabajando con ella", "Para mí",
    "A lo largo del proceso", "Sin duda", "Con el acompañamiento recibido", "Hoy puedo decir que", "Poco a poco",
)
CHANGES = (
    "aprendí a priorizar mis tareas de laboratorio", "perdí el miedo a hablar en público", "terminé el primer borrador de mi tesis",
    "me animé a postular a una beca de posgrado", "entendí cómo funciona la evaluación de proyectos", "armé un plan de carrera a cinco años",
    "conocí a investigadoras de otras facultades", "mejoré la forma en que escribo artículos", "aprendí a negociar mis tiempos con mi asesor",
    "descubrí que puedo liderar un equipo pequeño", "organicé mejor mi semana entre clases y trabajo", "presenté un póster en un congreso nacional",
    "me sentí acompañada en un momento difícil", "aprendí a pedir ayuda sin culpa", "definí objetivos concretos y medibles",
    "me atreví a proponer un proyecto propio", "entendí qué pide un comité de selección", "practiqué entrevistas para una estancia",
    "reconocí sesgos que antes daba por normales", "gané seguridad para defender mis resultados", "ordené mis finanzas para un doctorado",
    "publiqué mi primer artículo como autora principal", "aprendí a dar y recibir retroalimentación", "amplié mi red en la industria",
    "me inscribí en un curso de programación", "conseguí una práctica en un centro de investigación", "volví a disfrutar de la ciencia",
    "aprendí a decir que no a compromisos que me desbordaban", "preparé mi solicitud para una maestría en el extranjero",
    "empecé a enseñar a estudiantes de primeros ciclos",
)
DETAILS = (
    "algo que no esperaba lograr tan pronto.", "y quiero seguir en contacto con ella.", "aunque me costó al principio.",
    "y ahora se lo recomiendo a mis compañeras.", "con ejemplos muy prácticos.", "gracias a sus preguntas directas.",
    "y eso cambió cómo me veo como científica.", "sin descuidar mi vida personal.", "con metas que revisábamos cada semana.",
    "y me siento preparada para lo que sigue.", "a pesar de la carga del semestre.", "con mucha paciencia de su parte.",
)
ENGLISH = (
    "I learned to plan my research week by week.", "My mentor showed me how grant panels read a proposal.",
    "I finally submitted my first conference paper.", "I feel confident leading my small lab team now.",
    "We practised interviews for a research stay abroad.", "I built a network outside my own department.",
)
SUGGESTIONS = (
    "Más reuniones presenciales", "Sesiones de capacitación más cortas", "Un calendario que respete los exámenes",
    "Recordatorios automáticos de los formularios", "Encuentros entre todas las mentoradas", "Una guía con temas para cada sesión",
    "Más tiempo para la etapa de emparejamiento", "Que las mentoras reciban reconocimiento formal", "Un espacio para compartir materiales",
    "Talleres sobre becas y financiamiento", "Más mentoras de la industria", "Una sesión de cierre con todas las díadas",
    "Menos formularios y más conversación", "Horarios flexibles para quienes trabajan", "Un seguimiento a los seis meses",
)
SUGGESTION_DETAILS = (
    "", " en la segunda mitad del programa.", " porque el semestre es muy cargado.", " para no perder el ritmo.",
    " y materiales en español.", " desde el inicio de la convocatoria.", " con fechas fijas.", ", por favor.",
)


def _sentence(rng: np.random.Generator) -> str:
    detail = f" {DETAILS[int(rng.integers(len(DETAILS)))]}" if rng.random() < 0.6 else "."
    return f"{OPENINGS[int(rng.integers(len(OPENINGS)))]} {CHANGES[int(rng.integers(len(CHANGES)))]}{detail}"


def _open_answer(rng: np.random.Generator) -> str:
    if rng.random() < 0.08:
        return " ".join(ENGLISH[int(j)] for j in rng.choice(len(ENGLISH), size=int(rng.integers(1, 3)), replace=False))
    return " ".join(_sentence(rng) for _ in range(int(rng.integers(1, 4))))


def _suggestion(rng: np.random.Generator) -> str:
    return SUGGESTIONS[int(rng.integers(len(SUGGESTIONS)))] + (SUGGESTION_DETAILS[int(rng.integers(len(SUGGESTION_DETAILS)))] or ".")


def _styled(latent: np.ndarray, style: np.ndarray, points: int) -> np.ndarray:
    """How a person uses the scale: 0 as she feels, 1 agrees with everything, 2 the ends, 3 the middle."""
    mid = (points + 1) / 2
    out = latent.copy()
    out[style == 1] += 0.9
    out[style == 2] = mid + (out[style == 2] - mid) * 2.2
    out[style == 3] = mid + (out[style == 3] - mid) * 0.35
    return out


def _likert_answers(instrument, latent: np.ndarray, rng: np.random.Generator, noise: float,
                    style: np.ndarray | None = None, shift: dict[str, np.ndarray] | None = None) -> list[dict]:
    """Answers of every respondent (rows of ``latent``, one column per subscale); ``style`` is each
    person's response style (:func:`_styled`), ``shift`` moves one item's answers per person."""
    n = latent.shape[0]
    columns: dict[str, np.ndarray] = {}
    for s, sub in enumerate(instrument.subscales):
        for item_id in sub.items:
            item = instrument.item(item_id)
            pts = item.scale.points
            raw = latent[:, s] + rng.normal(0, noise, n) + (shift[item_id] if shift and item_id in shift else 0.0)
            if style is not None:
                raw = _styled(raw, style, pts)
            v = np.clip(np.rint(raw), 1, pts).astype(int)
            columns[item_id] = pts + 1 - v if item.reverse else v
    ids = list(columns)
    matrix = np.column_stack([columns[i] for i in ids]).tolist()
    return [dict(zip(ids, row, strict=True)) for row in matrix]


def synthetic_program(mentors: int, mentees: int, seed: int = 7, *, pilot_shape: bool = False,
                      realistic: bool = False) -> ReportInput:
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
    style = rng.choice(4, size=n, p=[0.7, 0.12, 0.08, 0.1]) if realistic else None
    pre_answers = _likert_answers(skills, base, rng, 0.55, style)
    post_answers = _likert_answers(skills, base + gain, rng, 0.55, style)
    dropped = {n - 1, mentors + mentees - 2} if pilot_shape else set(np.flatnonzero(rng.random(n) < 0.05).tolist())
    late = set(np.flatnonzero(rng.random(n) < 0.02).tolist()) - dropped if realistic else set()  # joined after the pre
    pre = tuple(Response(people[i], roles[i], pre_answers[i]) for i in range(n) if i not in late)
    post = tuple(Response(people[i], roles[i], post_answers[i]) for i in range(n) if i not in dropped)

    closing = closing_assessment()
    sat_latent = np.clip(rng.normal(4.0, 0.5, (n, len(closing.subscales))), 1, 5)
    shift = None
    if realistic:  # the pilots' weak spots, per group
        shift = {"call.clear": np.where(is_mentor, 0.0, -0.5), "call.timing": np.where(is_mentor, -0.6, 0.0),
                 "training.sessions": np.where(is_mentor, 0.0, -0.4)}
    closing_answers = _likert_answers(closing, sat_latent, rng, 0.6, style, shift)
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
        elif realistic:
            answers["benefits.mentee"] = _open_answer(rng)
        else:
            picks = rng.choice(len(MENTEE_PHRASES), size=2, replace=False)
            answers["benefits.mentee"] = " ".join(MENTEE_PHRASES[j] for j in picks)
        if rng.random() < 0.6:
            answers["benefits.improve"] = (_suggestion(rng) if realistic
                                           else IMPROVE_PHRASES[int(rng.integers(len(IMPROVE_PHRASES)))])
        closing_responses.append(Response(people[i], roles[i], answers))

    measured = np.clip(rng.normal(62, 18, n_dyads), 0, 100).round()
    mentee_p = np.clip(measured + rng.normal(14, 10, n_dyads), 0, 100).round()
    mentor_p = np.clip(measured + rng.normal(3, 10, n_dyads), 0, 100).round()
    self_p = np.clip(measured + rng.normal(8, 12, n_dyads), 0, 100).round()
    def given(values: np.ndarray, missing: float) -> list[float | None]:
        """Some dyads lack a measure in a realistic program: no milestones, a member who did not assess."""
        gone = rng.random(values.size) < missing if realistic else np.zeros(values.size, dtype=bool)
        return [None if g else float(v) for v, g in zip(values, gone, strict=True)]

    columns = (given(measured, 0.08), given(mentee_p, 0.05), given(mentor_p, 0.1), given(self_p, 0.15))
    achievement = tuple(DyadAchievement(d.dyad_id, *(c[i] for c in columns)) for i, d in enumerate(dyads))

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


def large_program(participants: int = 10_000, seed: int = 20240601) -> ReportInput:
    """A national-scale program (two mentors for three mentees) with a realistic spread of answers."""
    mentors = participants * 2 // 5
    return synthetic_program(mentors, participants - mentors, seed, realistic=True)
