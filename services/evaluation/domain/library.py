"""The built-in instrument library, every text written for Aliada in its own words.

Five families, each a function returning a fresh :class:`Instrument` at
version 1 (institutions copy one and edit the copy):

``soft-skills``                  self-assessment given before and after the program
``closing-assessment``           the closing program questionnaire (the pilots' sections)
``objectives-mentee`` / ``objectives-mentor``  perceived achievement of the SMART objectives, 0-100
``interview-guide``              eight open questions for mentors and eight for mentees
``mentoring-competency``         six dimensions of mentoring practice, 7-point development scale

The competency instrument follows the *structure* of a published mentoring
competency scale (its six dimensions); no published item text is reused.
"""

from __future__ import annotations

from collections.abc import Callable

from .instruments import (
    Audience,
    Instrument,
    Item,
    ItemType,
    LikertScale,
    Option,
    Section,
    Subscale,
    Text,
)

T = Text

AGREEMENT_5 = LikertScale(
    (
        T("Totalmente en desacuerdo", "Strongly disagree"),
        T("En desacuerdo", "Disagree"),
        T("Ni de acuerdo ni en desacuerdo", "Neither agree nor disagree"),
        T("De acuerdo", "Agree"),
        T("Totalmente de acuerdo", "Strongly agree"),
    )
)
AGREEMENT_4 = LikertScale(
    (
        T("Totalmente en desacuerdo", "Strongly disagree"),
        T("En desacuerdo", "Disagree"),
        T("De acuerdo", "Agree"),
        T("Totalmente de acuerdo", "Strongly agree"),
    )
)
DEVELOPMENT_7 = LikertScale(
    (
        T("Todavía no la practico", "Not practised yet"),
        T("Apenas empiezo", "Just starting"),
        T("En desarrollo", "Developing"),
        T("Competente", "Competent"),
        T("Sólida", "Solid"),
        T("Avanzada", "Advanced"),
        T("Podría enseñarla", "Could teach it"),
    )
)


def _likert(item_id: str, es: str, en: str, *, scale: LikertScale = AGREEMENT_5, reverse: bool = False, **kw) -> Item:
    return Item(id=item_id, type=ItemType.LIKERT, text=T(es, en), scale=scale, reverse=reverse, **kw)


def _open(item_id: str, es: str, en: str, **kw) -> Item:
    return Item(id=item_id, type=ItemType.OPEN_TEXT, text=T(es, en), **kw)


# ----------------------------------------------------------------------------- 1. soft skills

SOFT_SKILLS: tuple[tuple[str, Text, tuple[tuple[str, str, str, bool], ...]], ...] = (
    (
        "assertiveness",
        T("Asertividad", "Assertiveness"),
        (
            ("Expreso mis opiniones con claridad aunque otras personas piensen distinto.",
             "I state my views clearly even when others see things differently.", False),
            ("Puedo decir que no a una petición sin sentirme culpable.",
             "I can turn down a request without feeling guilty.", False),
            ("Suelo callar lo que necesito para evitar tensiones.",
             "I tend to keep my needs to myself to avoid friction.", True),
        ),
    ),
    (
        "networking",
        T("Establecimiento de redes", "Networking"),
        (
            ("Busco activamente conocer a personas de mi campo fuera de mi grupo de trabajo.",
             "I actively seek out people in my field beyond my own team.", False),
            ("Sé a quién acudir cuando necesito orientación profesional.",
             "I know whom to approach when I need professional guidance.", False),
            ("Me cuesta mantener el contacto con las personas que conozco en eventos.",
             "I find it hard to keep in touch with people I meet at events.", True),
        ),
    ),
    (
        "leadership",
        T("Liderazgo", "Leadership"),
        (
            ("Puedo coordinar a un equipo hacia una meta común.",
             "I can steer a team towards a shared goal.", False),
            ("Tomo la iniciativa cuando un proyecto necesita dirección.",
             "I step forward when a project needs direction.", False),
            ("Delego tareas confiando en las capacidades de otras personas.",
             "I hand over tasks trusting other people's abilities.", False),
        ),
    ),
    (
        "active_listening",
        T("Escucha activa", "Active listening"),
        (
            ("Dejo que la otra persona termine antes de responder.",
             "I let the other person finish before I reply.", False),
            ("Compruebo que entendí bien resumiendo lo que me dijeron.",
             "I check my understanding by summing up what I heard.", False),
            ("Mientras alguien habla, suelo estar pensando en lo que voy a contestar.",
             "While someone is talking, I am usually preparing my answer.", True),
        ),
    ),
    (
        "self_confidence",
        T("Confianza en mí misma", "Self-confidence"),
        (
            ("Confío en mi capacidad para resolver los retos de mi carrera.",
             "I trust my ability to handle the challenges of my career.", False),
            ("Me siento cómoda presentando mi trabajo ante especialistas.",
             "I feel at ease presenting my work to experts.", False),
            ("Dudo de que mis logros se deban a mis propios méritos.",
             "I doubt that my achievements are down to my own merit.", True),
        ),
    ),
    (
        "smart_objectives",
        T("Objetivos SMART", "Setting SMART objectives"),
        (
            ("Formulo mis objetivos de modo que pueda medir si los alcancé.",
             "I word my goals so that I can tell whether I reached them.", False),
            ("Fijo una fecha límite realista para cada objetivo.",
             "I set a realistic deadline for each goal.", False),
            ("Mis objetivos están ligados a lo que quiero lograr en mi carrera.",
             "My goals are tied to what I want to achieve in my career.", False),
        ),
    ),
    (
        "time_planning",
        T("Organización del tiempo y planificación", "Time organisation and planning"),
        (
            ("Planifico mi semana antes de que empiece.", "I plan my week before it starts.", False),
            ("Distingo lo urgente de lo importante al ordenar mis tareas.",
             "I tell urgent from important when ordering my tasks.", False),
            ("A menudo entrego trabajos a última hora.", "I often hand work in at the last minute.", True),
        ),
    ),
)


def soft_skills() -> Instrument:
    sections = []
    subscales = []
    for skill, label, items in SOFT_SKILLS:
        ids = tuple(f"{skill}.{i + 1}" for i in range(len(items)))
        sections.append(
            Section(
                id=skill,
                title=label,
                items=tuple(_likert(ids[i], es, en, reverse=rev) for i, (es, en, rev) in enumerate(items)),
            )
        )
        subscales.append(Subscale(id=skill, label=label, items=ids))
    return Instrument(
        key="soft-skills",
        version=1,
        title=T("Autoevaluación de habilidades blandas", "Soft-skills self-assessment"),
        description=T(
            "Se responde al inicio y al cierre del programa. Indica cuánto te describe cada frase hoy.",
            "Answered at the start and at the end of the programme. Say how well each sentence describes you today.",
        ),
        sections=tuple(sections),
        subscales=tuple(subscales),
    )


# ----------------------------------------------------------------------------- 2. closing assessment

MENTOR_BENEFITS = (
    Option("perspectives", T("Conocer nuevas perspectivas", "New perspectives")),
    Option("mentoring_skills", T("Desarrollar habilidades de mentoría", "Developing mentoring skills")),
    Option("network", T("Ampliar mi red profesional", "A wider professional network")),
    Option("giving_back", T("Apoyar a otra mujer en STEM", "Supporting another woman in STEM")),
    Option("collaboration", T("Posibles colaboraciones", "Possible collaborations")),
    Option("recognition", T("Reconocimiento institucional", "Institutional recognition")),
)


def closing_assessment() -> Instrument:
    sections = (
        Section(
            id="staff",
            title=T("Equipo coordinador", "Programme staff"),
            items=(
                _likert("staff.responsive", "El equipo coordinador respondió a mis dudas a tiempo.",
                        "The coordinating team answered my questions in good time."),
                _likert("staff.helpful", "El equipo coordinador mostró disposición para ayudar.",
                        "The coordinating team was willing to help."),
                _likert("staff.clear", "La comunicación del equipo fue clara.", "The team's communication was clear."),
            ),
        ),
        Section(
            id="call",
            title=T("Convocatoria", "The call"),
            items=(
                _likert("call.clear", "La convocatoria explicaba con claridad requisitos y compromisos.",
                        "The call explained its requirements and commitments clearly."),
                _likert("call.suitable", "Los requisitos de la convocatoria eran adecuados para el programa.",
                        "The call's requirements suited the programme."),
                _likert("call.timing", "Las fechas de la convocatoria fueron oportunas.",
                        "The call's dates were well timed."),
            ),
        ),
        Section(
            id="training",
            title=T("Capacitación", "Training"),
            items=(
                _likert("training.sessions", "El número de sesiones de capacitación fue adecuado.",
                        "The number of training sessions was right."),
                _likert("training.length", "La duración de cada sesión fue adecuada.",
                        "The length of each session was right."),
                _likert("training.platform", "La plataforma en línea fue fácil de usar.",
                        "The online platform was easy to use."),
                _likert("training.useful", "Lo aprendido en la capacitación me sirvió durante la mentoría.",
                        "What I learned in training helped during the mentoring."),
            ),
        ),
        Section(
            id="contribution",
            title=T("Contribución a los objetivos", "Contribution to the objectives"),
            items=(
                _likert("contribution.objectives", "El programa contribuyó al avance de los objetivos planteados.",
                        "The programme helped move the agreed objectives forward."),
                _likert("contribution.meetings", "Las reuniones periódicas fueron útiles para avanzar.",
                        "The regular meetings were useful to make progress."),
                _likert("contribution.overall", "En general, estoy satisfecha con el programa.",
                        "Overall, I am satisfied with the programme."),
                _likert("contribution.recommend", "Recomendaría el programa a una colega.",
                        "I would recommend the programme to a colleague."),
            ),
        ),
        Section(
            id="benefits",
            title=T("Beneficios", "Benefits"),
            items=(
                Item(
                    id="benefits.mentor",
                    type=ItemType.MULTIPLE_CHOICE,
                    audience=Audience.MENTORS,
                    text=T("¿Qué beneficios te dejó ser mentora? Elige todos los que apliquen.",
                           "What did mentoring give you? Choose all that apply."),
                    options=MENTOR_BENEFITS,
                ),
                _open("benefits.mentee", "¿Qué te llevas de esta mentoría? Descríbelo con tus palabras.",
                      "What do you take away from this mentoring? Describe it in your own words.",
                      audience=Audience.MENTEES),
                _open("benefits.improve", "¿Qué cambiarías para la próxima convocatoria?",
                      "What would you change for the next call?", required=False),
            ),
        ),
    )
    subscales = tuple(
        Subscale(id=s.id, label=s.title, items=tuple(i.id for i in s.items if i.type is ItemType.LIKERT))
        for s in sections
        if s.id != "benefits"
    )
    return Instrument(
        key="closing-assessment",
        version=1,
        title=T("Evaluación de cierre del programa", "Closing programme assessment"),
        description=T(
            "Tu opinión sobre cada parte del programa nos ayuda a mejorar la próxima convocatoria.",
            "Your view of each part of the programme helps us improve the next call.",
        ),
        sections=sections,
        subscales=subscales,
    )


# ----------------------------------------------------------------------------- 3. perceived achievement


def _achievement(role: str) -> Instrument:
    mentee = role == "mentee"
    audience = Audience.MENTEES if mentee else Audience.MENTORS
    question = (
        T("¿Qué porcentaje de tus objetivos SMART sientes que alcanzaste?",
          "What share of your SMART objectives do you feel you achieved?")
        if mentee
        else T("¿Qué porcentaje de sus objetivos SMART sientes que alcanzó tu mentorada?",
               "What share of her SMART objectives do you feel your mentee achieved?")
    )
    follow = (
        _open("helped", "¿Qué te ayudó más a avanzar?", "What helped you most to move forward?", required=False)
        if mentee
        else _open("helped", "¿Qué apoyo tuyo le fue más útil?", "Which of your support helped her most?",
                   required=False)
    )
    return Instrument(
        key=f"objectives-{role}",
        version=1,
        title=T(
            "Logro percibido de objetivos (" + ("mentorada" if mentee else "mentora") + ")",
            "Perceived achievement of objectives (" + role + ")",
        ),
        description=T(
            "Se responde en la última reunión. 0 = nada logrado, 100 = todo logrado.",
            "Answered at the last meeting. 0 = nothing achieved, 100 = everything achieved.",
        ),
        sections=(
            Section(
                id="achievement",
                title=T("Logro de objetivos", "Achievement of objectives"),
                audience=audience,
                items=(
                    Item(id="achieved", type=ItemType.NUMERIC, text=question, minimum=0, maximum=100, integer=True),
                    follow,
                ),
            ),
        ),
    )


def objectives_mentee() -> Instrument:
    return _achievement("mentee")


def objectives_mentor() -> Instrument:
    return _achievement("mentor")


# ----------------------------------------------------------------------------- 4. interview guide

MENTEE_QUESTIONS = (
    ("¿Qué te motivó a participar en el programa?", "What made you decide to join the programme?"),
    ("¿Cómo fue cambiando la relación con tu mentora a lo largo del programa?",
     "How did your relationship with your mentor develop over the programme?"),
    ("¿Hubo algún momento que cambiara tu forma de ver tu carrera? Cuéntalo.",
     "Was there a moment that changed how you see your career? Tell us about it."),
    ("¿Cómo ha influido ser mujer en tu trayectoria en STEM?", "How has being a woman shaped your path in STEM?"),
    ("¿Qué habilidades sientes que fortaleciste y en qué lo notas?",
     "Which skills do you feel grew stronger, and where do you notice it?"),
    ("¿Qué te dificultó reunirte o avanzar en tus objetivos?",
     "What got in the way of meeting or progressing on your objectives?"),
    ("¿Qué harás distinto a partir de ahora?", "What will you do differently from now on?"),
    ("¿Qué le dirías a quien organice la siguiente edición?", "What would you tell whoever runs the next edition?"),
)
MENTOR_QUESTIONS = (
    ("¿Por qué decidiste ser mentora?", "Why did you decide to become a mentor?"),
    ("¿Cómo construiste la confianza con tu mentorada?", "How did you build trust with your mentee?"),
    ("¿Qué aprendiste de tu mentorada?", "What did you learn from your mentee?"),
    ("¿Qué obstáculos de género reconoces en la carrera de tu mentorada y en la tuya?",
     "Which gender-related obstacles do you recognise in your mentee's career and in your own?"),
    ("¿Cómo acompañaste la definición y el seguimiento de sus objetivos?",
     "How did you support setting and following up her objectives?"),
    ("¿En qué momento sentiste que la mentoría no avanzaba, y qué hiciste?",
     "When did you feel the mentoring was stalling, and what did you do?"),
    ("¿Qué te aportó la capacitación y qué le faltó?", "What did the training give you, and what was missing?"),
    ("¿Volverías a ser mentora? ¿Qué cambiarías?", "Would you mentor again? What would you change?"),
)


def interview_guide() -> Instrument:
    def section(sid: str, title: Text, audience: Audience, questions) -> Section:
        return Section(
            id=sid,
            title=title,
            audience=audience,
            items=tuple(_open(f"{sid}.{i + 1}", es, en) for i, (es, en) in enumerate(questions)),
        )

    return Instrument(
        key="interview-guide",
        version=1,
        title=T("Guía de entrevista semiestructurada", "Semi-structured interview guide"),
        description=T(
            "Ocho preguntas abiertas por rol; quien entrevista puede repreguntar. Las respuestas se codifican por temas.",
            "Eight open questions per role; the interviewer may follow up. Answers are coded into themes.",
        ),
        sections=(
            section("mentee", T("Mentoradas", "Mentees"), Audience.MENTEES, MENTEE_QUESTIONS),
            section("mentor", T("Mentoras", "Mentors"), Audience.MENTORS, MENTOR_QUESTIONS),
        ),
    )


# ----------------------------------------------------------------------------- 5. mentoring competency

COMPETENCY: tuple[tuple[str, Text, tuple[tuple[str, str], ...]], ...] = (
    (
        "communication",
        T("Comunicación", "Communication"),
        (
            ("Escuchar sin juzgar lo que plantea mi mentorada.", "Listening without judgement to what my mentee raises."),
            ("Dar retroalimentación concreta y respetuosa.", "Giving concrete, respectful feedback."),
            ("Adaptar mi forma de comunicarme a su estilo.", "Adapting the way I communicate to her style."),
        ),
    ),
    (
        "aligning_expectations",
        T("Alinear expectativas", "Aligning expectations"),
        (
            ("Acordar desde el inicio qué espera cada una de la relación.",
             "Agreeing from the start what each of us expects from the relationship."),
            ("Pactar la frecuencia y el formato de nuestras reuniones.", "Settling how often and how we meet."),
            ("Revisar los acuerdos cuando cambian las circunstancias.",
             "Revisiting our agreements when circumstances change."),
        ),
    ),
    (
        "assessing_understanding",
        T("Valorar la comprensión", "Assessing understanding"),
        (
            ("Comprobar que mi mentorada domina las ideas clave de su campo.",
             "Checking that my mentee has a firm grasp of the key ideas of her field."),
            ("Detectar vacíos de conocimiento sin que se sienta examinada.",
             "Spotting gaps in knowledge without her feeling tested."),
            ("Pedirle que explique su razonamiento con sus palabras.",
             "Asking her to explain her reasoning in her own words."),
        ),
    ),
    (
        "addressing_diversity",
        T("Atender la diversidad", "Addressing diversity"),
        (
            ("Reconocer cómo el género y otras identidades influyen en su experiencia.",
             "Recognising how gender and other identities shape her experience."),
            ("Hablar abiertamente de los sesgos que ella pueda enfrentar.",
             "Talking openly about the biases she may face."),
            ("Tener en cuenta mis propios sesgos al aconsejar.", "Keeping my own biases in mind when I advise."),
        ),
    ),
    (
        "fostering_independence",
        T("Fomentar la independencia", "Fostering independence"),
        (
            ("Animarla a tomar sus propias decisiones.", "Encouraging her to make her own decisions."),
            ("Reconocer sus logros de forma explícita.", "Acknowledging her achievements out loud."),
            ("Dejar que resuelva los problemas antes de ofrecer mi solución.",
             "Letting her work problems through before I offer my own answer."),
        ),
    ),
    (
        "professional_development",
        T("Desarrollo profesional", "Professional development"),
        (
            ("Orientarla sobre las trayectorias profesionales a su alcance.",
             "Guiding her through the career paths within her reach."),
            ("Presentarle contactos útiles para su desarrollo.", "Introducing her to contacts useful for her growth."),
            ("Ayudarla a equilibrar sus metas profesionales y personales.",
             "Helping her balance professional and personal goals."),
        ),
    ),
)


def mentoring_competency() -> Instrument:
    sections = []
    subscales = []
    for dim, label, items in COMPETENCY:
        ids = tuple(f"{dim}.{i + 1}" for i in range(len(items)))
        sections.append(
            Section(
                id=dim,
                title=label,
                audience=Audience.MENTORS,
                items=tuple(_likert(ids[i], es, en, scale=DEVELOPMENT_7) for i, (es, en) in enumerate(items)),
            )
        )
        subscales.append(Subscale(id=dim, label=label, items=ids))
    return Instrument(
        key="mentoring-competency",
        version=1,
        title=T("Competencias de mentoría", "Mentoring competencies"),
        description=T(
            "Como mentora, indica qué tan desarrollada tienes hoy cada práctica.",
            "As a mentor, say how developed each practice is for you today.",
        ),
        sections=tuple(sections),
        subscales=tuple(subscales),
    )


BUILTIN: dict[str, Callable[[], Instrument]] = {
    "soft-skills": soft_skills,
    "closing-assessment": closing_assessment,
    "objectives-mentee": objectives_mentee,
    "objectives-mentor": objectives_mentor,
    "interview-guide": interview_guide,
    "mentoring-competency": mentoring_competency,
}


def builtin_instrument(key: str) -> Instrument:
    """A fresh copy of a built-in instrument by key (``KeyError`` if unknown)."""
    return BUILTIN[key]()
