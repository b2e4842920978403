"""The two pilots the product is modelled on (the Mexico and Peru pilots' published reports), as data.

Figures are the pilots'; every text is written for the demo.

Mexico, UJAT (Universidad Juárez Autónoma de Tabasco): 33 applications; 32
selected, 30 confirm; staff split them into 16 mentors and 14 mentees (some
against the role they asked for); five online modules and four 90-minute
accompaniment sessions; matching never pairs two women of the same campus or
academic division: 14 pairs and 2 substitutes; twelve weekly meetings; one
dyad loses rapport after its third meeting and stops, is dissolved and is not
re-matched (13 of 14 pairs complete); 15 mentors and 13 mentees answer the
closing questionnaire.

Peru, UNSA (Universidad Nacional de San Agustín de Arequipa): 20 mentors who
take two mentees each (40); launch in March, online training April to June,
the pairs' first meeting in July, then the face-to-face skills training (a
group event of the mentoring phase, after the pairs met), then four
face-to-face sessions per pair from August; a six-week teachers' strike moves
every session after it, so most last sessions fall in December, a few in
January; impact evaluation in February.
"""

from __future__ import annotations

from dataclasses import dataclass

OBJECTIVE_CODES = ("funding", "publishing", "leadership", "networking", "teaching", "career_plan")
INTERESTS = ("running", "reading", "music", "hiking", "chess", "cooking", "cinema", "dance", "photography")


@dataclass(frozen=True)
class Unit:
    """An academic division (faculty) and the fields its women work in."""

    name: str
    code: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Campus:
    name: str
    city: str
    units: tuple[Unit, ...]


@dataclass(frozen=True)
class Group:
    """Applicants alike: how many, the role each seeks and the one staff give
    her (None: turned away), whether she confirms, her standing, her campus."""

    count: int
    sought: str
    assigned: str | None
    confirms: bool
    standing: str  # a key of STANDINGS
    campuses: tuple[int, ...]  # campus indexes, cycled
    note: str = ""


# What an applicant's form says, by standing: affiliation, career stage, funding record, recognition, years.
STANDINGS: dict[str, tuple[str, str, bool | None, bool | None, int | None]] = {
    "senior_researcher": ("full_time_faculty", "senior", True, True, 18),
    "researcher": ("full_time_faculty", "mid_career", True, True, 10),
    "lecturer_with_grants": ("part_time_faculty", "mid_career", True, True, 8),
    "young_lecturer": ("part_time_faculty", "early_career", False, False, 3),
    "graduate": ("graduate", "graduate_student", None, None, None),
    "undergraduate": ("undergraduate", "undergraduate_student", None, None, None),
    "administrative": ("staff", "early_career", None, None, None),
}


@dataclass(frozen=True)
class GroupEvent:
    """A cohort event during the mentoring phase, ``days_after_first`` days after
    the pairs' first meetings began."""

    title: str
    kind: str
    days_after_first: int
    hour: int
    minutes: int
    place: str
    attendance: float  # share of members who come


@dataclass(frozen=True)
class Objective:
    statement: str
    metric: str
    target: int
    unit: str
    plan: str
    career_goal: str


@dataclass(frozen=True)
class Pilot:
    key: str
    institution: str
    acronym: str
    slug: str
    country: str
    timezone: str
    lang: str
    campuses: tuple[Campus, ...]
    given_names: tuple[str, ...]
    family_names: tuple[str, ...]
    call_opens: tuple[int, int]  # month, day the call opens; the phases follow from it (spans)
    spans: tuple[tuple[str, int, int], ...]  # phase, first and last day after the call opens
    program_name: str
    program_description: str
    delivery: str
    capacity: int
    meetings: int
    cadence: str
    meeting_minutes: int
    groups: tuple[Group, ...]
    modules: tuple[tuple[str, str, int], ...]  # (title, kind, minutes)
    training_weeks: float  # when most finish the training
    campus_rule: bool  # never pair two women of the same campus or academic division
    group_events: tuple[GroupEvent, ...]
    in_person_places: tuple[str, ...]
    breakdown_after: int | None  # the meeting after which one dyad stops
    dissolve_after_days: int  # how long after its last meeting the coordinator dissolves it
    reschedule_from: int  # meetings from this number on are the ones pairs tend to move
    reschedule_share: float
    reschedule_reasons: tuple[str, ...]
    # A stoppage that closes the university: (days after the pairs' first meetings, days it lasts, why).
    # Every session that would fall in it or after it moves on by its length.
    stoppage: tuple[int, int, str] | None
    objectives: tuple[Objective, ...]
    mentee_takeaways: tuple[str, ...]
    suggestions: tuple[str, ...]
    closing_skips: tuple[int, int]  # (mentors, mentees) of the completing dyads who leave the questionnaire blank
    interviews: bool = False  # closing interviews coded into themes (tools.demo.interviews)
    quotes_share: float = 0.0  # the share of applicants who also consent to be quoted


UJAT_CAMPUSES = (
    Campus("Villahermosa", "Villahermosa", (
        Unit("División Académica de Ciencias Biológicas", "DACBIOL", ("biology", "environmental_sciences")),
        Unit("División Académica de Ciencias Agropecuarias", "DACA", ("agricultural_sciences",)),
    )),
    Campus("Unidad Chontalpa", "Cunduacán", (
        Unit("División Académica de Ingeniería y Arquitectura", "DAIA", ("engineering",)),
        Unit("División Académica de Ciencias Básicas", "DACB", ("chemistry", "physics", "mathematics")),
        Unit("División Académica de Informática y Sistemas", "DAIS", ("computer_science",)),
    )),
    Campus("Jalpa de Méndez", "Jalpa de Méndez", (
        Unit("División Académica Multidisciplinaria de Jalpa de Méndez", "DAMJM", ("engineering", "chemistry")),
    )),
    Campus("Comalcalco", "Comalcalco", (
        Unit("División Académica Multidisciplinaria de Comalcalco", "DAMC", ("health_sciences",)),
    )),
    Campus("Tenosique", "Tenosique", (
        Unit("División Académica Multidisciplinaria de los Ríos", "DAMR", ("agricultural_sciences", "biology")),
    )),
)  # fmt: skip

# Campus indexes: 0 Villahermosa, 1 Cunduacán, 2 Jalpa de Méndez, 3 Comalcalco, 4 Tenosique.
MEXICO = Pilot(
    key="mexico",
    institution="Universidad Juárez Autónoma de Tabasco",
    acronym="UJAT",
    slug="ujat",
    country="MX",
    timezone="America/Mexico_City",
    lang="es",
    campuses=UJAT_CAMPUSES,
    given_names=("Adriana", "Beatriz", "Claudia", "Dulce María", "Elsa", "Fabiola", "Guadalupe", "Itzel", "Jazmín",
                 "Leticia", "Marisol", "Nayeli", "Patricia", "Rocío", "Silvia", "Verónica", "Yadira", "Zoila",
                 "Araceli", "Cecilia", "Gabriela", "Margarita", "Norma", "Teresa"),
    family_names=("Hernández", "López", "Jiménez", "Cruz", "Chablé", "Córdova", "Priego", "Magaña", "Zurita",
                  "Ovando", "Castillo", "Álvarez", "Torres", "Méndez", "Sánchez", "Gómez", "Ramírez", "Hidalgo",
                  "Arias", "De la Cruz", "Olán", "Notario", "Pérez", "Rodríguez"),
    call_opens=(5, 10),
    spans=(("call", 0, 20), ("selection", 21, 34), ("training", 35, 97), ("matching", 98, 111),
           ("mentoring", 112, 203), ("evaluation", 204, 234)),
    program_name="Programa Institucional de Mentoría para Mujeres en STEM",
    program_description=(
        "Mentoría estructurada entre académicas e investigadoras con trayectoria y estudiantes o académicas que "
        "empiezan: convocatoria abierta, capacitación en línea con sesiones de acompañamiento, emparejamiento "
        "entre campus distintos, doce reuniones semanales y evaluación."
    ),
    delivery="hybrid",
    capacity=1,
    meetings=12,
    cadence="weekly",
    meeting_minutes=60,
    groups=(
        Group(15, "mentor", "mentor", True, "researcher", (1, 0, 1, 0, 1, 2, 1, 4, 1, 0, 3, 1, 0, 1, 0)),
        Group(1, "mentee", "mentor", True, "lecturer_with_grants", (1,),
              "pidió ser mentorada; su trayectoria en convocatorias la hace mentora"),
        Group(12, "mentee", "mentee", True, "graduate", (0, 1, 0, 2, 1, 0, 4, 1, 3, 0, 2, 1)),
        Group(2, "mentor", "mentee", True, "young_lecturer", (0, 1),
              "pidió ser mentora; aún sin experiencia en convocatorias, aprovecha más como mentorada"),
        Group(1, "mentor", "mentor", False, "senior_researcher", (0,)),
        Group(1, "mentee", "mentee", False, "undergraduate", (1,)),
        Group(1, "mentee", None, False, "administrative", (0,)),
    ),
    modules=(
        ("Módulo 1: Qué es una mentoría y qué no es", "online_module", 120),
        ("Módulo 2: Objetivos SMART para la carrera", "online_module", 120),
        ("Módulo 3: Comunicación asertiva y escucha activa", "online_module", 120),
        ("Módulo 4: Liderazgo y redes de colaboración", "online_module", 120),
        ("Módulo 5: Brechas de género en la ciencia", "online_module", 120),
        ("Acompañamiento 1: Expectativas y compromisos", "accompaniment_session", 90),
        ("Acompañamiento 2: Primeras conversaciones de mentoría", "accompaniment_session", 90),
        ("Acompañamiento 3: Obstáculos y cómo sortearlos", "accompaniment_session", 90),
        ("Acompañamiento 4: Cierre de la capacitación", "accompaniment_session", 90),
    ),
    training_weeks=8,
    campus_rule=True,
    group_events=(),
    in_person_places=("Biblioteca de la Unidad Chontalpa, sala de estudio 2", "Cafetería de la DACBiol",
                      "Centro de Cómputo de la DAIS", "Sala de juntas de la DACB"),
    breakdown_after=3,
    dissolve_after_days=18,
    reschedule_from=9,
    reschedule_share=0.6,
    reschedule_reasons=("Fin de semestre: aplico exámenes finales esa semana", "Entrega de calificaciones",
                        "Me toca cerrar el reporte del laboratorio antes del fin de semestre",
                        "Congreso regional la misma semana"),
    stoppage=None,
    objectives=(
        Objective("Enviar dos solicitudes a convocatorias nacionales de financiamiento", "solicitudes enviadas", 2,
                  "solicitudes", "Revisar cada borrador con mi mentora dos semanas antes del cierre",
                  "Dirigir mi propio proyecto financiado"),
        Objective("Someter un artículo de mi tesis a una revista indizada", "artículos sometidos", 1, "artículos",
                  "Escribir una sección por semana y discutirla en nuestras reuniones",
                  "Ingresar al Sistema Nacional de Investigadoras e Investigadores"),
        Objective("Terminar los experimentos pendientes del último capítulo de mi tesis", "experimentos concluidos", 4,
                  "experimentos", "Un experimento cada tres semanas, con bitácora revisada por mi mentora",
                  "Titularme a tiempo"),
        Objective("Presentar mis resultados en tres seminarios o congresos", "presentaciones", 3, "presentaciones",
                  "Ensayar cada presentación con mi mentora la semana anterior",
                  "Dar a conocer mi trabajo fuera de mi división"),
        Objective("Preparar mi solicitud de ingreso a un posgrado de calidad", "documentos completos", 5,
                  "documentos", "Completar un documento de la solicitud cada dos semanas",
                  "Hacer un doctorado en ciencias"),
        Objective("Establecer contacto con cuatro investigadoras de otras instituciones", "contactos", 4, "contactos",
                  "Escribir a una investigadora cada tres semanas y proponer una llamada",
                  "Construir una red de colaboración"),
    ),
    mentee_takeaways=(
        "Aprendí a organizar mi semana por prioridades y ya no dejo todo al final.",
        "Ahora planeo mis metas con fechas y sé medir si las cumplí.",
        "Me atreví a mandar mi primer artículo; sola no lo habría hecho.",
        "Más confianza para hablar de mi trabajo frente a investigadores.",
        "Conocí a alguien que entiende lo que es ser mujer en la ingeniería.",
        "Ordené mis tiempos entre la tesis, el trabajo y la casa.",
        "Una red de apoyo fuera de mi división y ganas de seguir en la ciencia.",
        "Claridad sobre qué posgrado quiero y cómo prepararme para entrar.",
        "Aprendí a pedir ayuda y a decir que no cuando no me da el tiempo.",
    ),
    suggestions=(
        "Más sesiones de acompañamiento durante la capacitación.",
        "Que las reuniones no coincidan con el cierre del semestre.",
        "Publicar las fechas de la convocatoria con más anticipación.",
        "Algunas reuniones presenciales con todas las participantes.",
        "Explicar mejor cómo se elige a las participantes.",
        "Extender la mentoría un par de meses más.",
    ),
    closing_skips=(0, 0),
)

UNSA_CAMPUSES = (
    Campus("Área de Ingenierías", "Arequipa", (
        Unit("Facultad de Ingeniería de Producción y Servicios", "FIPS", ("engineering", "computer_science")),
        Unit("Facultad de Ingeniería de Procesos", "FIP", ("chemistry", "engineering")),
        Unit("Facultad de Geología, Geofísica y Minas", "FGGM", ("earth_sciences",)),
        Unit("Facultad de Ciencias Naturales y Formales", "FCNF", ("mathematics", "physics", "chemistry")),
    )),
    Campus("Área de Biomédicas", "Arequipa", (
        Unit("Facultad de Ciencias Biológicas", "FCB", ("biology", "environmental_sciences")),
    )),
)  # fmt: skip

PERU = Pilot(
    key="peru",
    institution="Universidad Nacional de San Agustín de Arequipa",
    acronym="UNSA",
    slug="unsa",
    country="PE",
    timezone="America/Lima",
    lang="es",
    campuses=UNSA_CAMPUSES,
    given_names=("Alejandra", "Brenda", "Carolina", "Diana", "Estefany", "Flor", "Gianella", "Heidy", "Isabel",
                 "Jimena", "Karen", "Lizbeth", "Milagros", "Nataly", "Olenka", "Pamela", "Rosario", "Sandra",
                 "Thalía", "Vanessa", "Yessenia", "Zulema", "Ruth", "Mariela", "Katherine", "Luz", "Marleny"),
    family_names=("Quispe", "Mamani", "Huamaní", "Condori", "Zegarra", "Paredes", "Valdivia", "Núñez", "Salas",
                  "Apaza", "Ccama", "Delgado", "Cáceres", "Pinto", "Bustamante", "Chávez", "Medina", "Rivera",
                  "Vera", "Llerena", "Carpio", "Begazo", "Linares", "Talavera"),
    call_opens=(3, 1),
    spans=(("call", 0, 17), ("selection", 18, 30), ("training", 31, 121), ("matching", 122, 131),
           ("mentoring", 132, 336), ("evaluation", 337, 365)),
    program_name="Mentoría para Mujeres en STEM",
    program_description=(
        "Docentes e investigadoras acompañan cada una a dos estudiantes: capacitación en línea de abril a junio, "
        "encuentro de las parejas en julio, taller presencial de habilidades de mentoría, sesiones presenciales "
        "de agosto a enero y evaluación de impacto en febrero."
    ),
    delivery="in_person",
    capacity=2,
    meetings=5,
    cadence="monthly",
    meeting_minutes=90,
    groups=(
        Group(20, "mentor", "mentor", True, "researcher", (0, 1, 0, 0, 1)),
        Group(24, "mentee", "mentee", True, "undergraduate", (0, 0, 1, 0)),
        Group(16, "mentee", "mentee", True, "graduate", (1, 0, 0, 1)),
        Group(1, "mentee", "mentee", False, "undergraduate", (0,)),
        Group(1, "mentee", None, False, "administrative", (1,)),
    ),
    modules=(
        ("Sesión en línea de inicio: el rol de la mentora y de la mentorada", "online_module", 90),
        ("Curso en línea: conversaciones de desarrollo", "online_module", 180),
        ("Curso en línea: objetivos SMART y plan de carrera", "online_module", 180),
        ("Curso en línea: género, ciencia y contexto", "online_module", 180),
    ),
    training_weeks=11,
    campus_rule=False,
    group_events=(
        GroupEvent("Taller presencial de habilidades de mentoría", "in_person_cohort", 12, 9, 240,
                   "Auditorio del Área de Ingenierías", 0.9),
    ),
    in_person_places=("Biblioteca de Ingenierías, sala de lectura", "Laboratorio de la Facultad de Ciencias Biológicas",
                      "Cafetería del Área de Biomédicas", "Oficina de la Cátedra, pabellón de Ingenierías"),
    breakdown_after=None,
    dissolve_after_days=0,
    reschedule_from=3,
    reschedule_share=0.3,
    reschedule_reasons=("Paro de transportistas: no hay cómo llegar", "Mi mentora tiene COVID; lo pasamos para cuando se recupere",
                        "Exámenes parciales de la facultad", "Viaje de campo de mi curso"),
    stoppage=(49, 42, "Huelga docente: la universidad permanece cerrada"),
    objectives=(
        Objective("Conseguir unas prácticas preprofesionales en una empresa de mi carrera", "postulaciones", 4,
                  "postulaciones", "Preparar mi CV con mi mentora y postular a una empresa por mes",
                  "Trabajar en la industria minera con un puesto técnico"),
        Objective("Presentar mi proyecto de tesis al jurado de mi escuela", "avances aprobados", 3, "avances",
                  "Revisar un capítulo del proyecto en cada sesión", "Titularme como ingeniera"),
        Objective("Postular a una beca de maestría en el extranjero", "requisitos completos", 5, "requisitos",
                  "Completar un requisito por mes con la guía de mi mentora", "Hacer una maestría fuera del país"),
        Objective("Presentar un póster en un congreso nacional de estudiantes", "pósteres presentados", 1, "pósteres",
                  "Redactar el resumen en agosto y el póster en octubre", "Dedicarme a la investigación"),
        Objective("Mejorar mi promedio ponderado del semestre", "puntos de promedio", 2, "puntos",
                  "Organizar un horario de estudio semanal y revisarlo con mi mentora", "Ingresar al tercio superior"),
    ),
    mentee_takeaways=(
        "Dejé de pensar que la ciencia no era para mí.",
        "Hablo más en clase y en el laboratorio; antes me quedaba callada.",
        "Conocer la historia de mi mentora me abrió el panorama de lo que puedo hacer.",
        "Aprendí a planificar mi semestre aunque la huelga cambiara todo.",
        "Sé cómo responder cuando un compañero me trata distinto por ser mujer.",
        "Tengo un plan para postular a una beca.",
        "Confianza para presentar mi trabajo ante profesores.",
    ),
    suggestions=(
        "Más sesiones: cuatro se hicieron muy pocas.",
        "Más tiempo para conversar con las otras mentoras y mentoradas.",
        "Un calendario que prevea huelgas y paros.",
        "Extender el programa a todo el año académico.",
    ),
    closing_skips=(2, 6),
    interviews=True,
    quotes_share=0.7,
)

PILOTS = {p.key: p for p in (MEXICO, PERU)}
