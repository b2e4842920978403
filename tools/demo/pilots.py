"""The two pilots the product is modelled on (../shared/DOMAIN.md), as data.

Mexico: 30 applicants, 16 mentors and 14 mentees on three campuses; five online
modules and four accompaniment sessions; one mentor per mentee; the two
unmatched mentors agree to be substitutes; one dyad loses rapport after its
third meeting and is re-matched from a substitute. Peru: 20 mentors who take
two mentees each, 40 mentees.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STEM_FIELDS = ("biology", "chemistry", "engineering", "mathematics", "physics", "computer_science")
OBJECTIVES = ("funding", "publishing", "leadership", "networking", "teaching", "career_plan")
INTERESTS = ("running", "reading", "music", "hiking", "chess", "cooking", "cinema")
SLOTS = (
    {"weekday": 0, "start": "09:00", "end": "12:00"},
    {"weekday": 1, "start": "10:00", "end": "13:00"},
    {"weekday": 2, "start": "08:00", "end": "10:00"},
    {"weekday": 3, "start": "11:00", "end": "14:00"},
    {"weekday": 4, "start": "07:00", "end": "09:00"},
)

GIVEN = ("Ana", "Beatriz", "Carmen", "Daniela", "Elena", "Fernanda", "Gabriela", "Hilda", "Irene", "Julia",
         "Karla", "Lucía", "María", "Natalia", "Olga", "Paula", "Rosa", "Sofía", "Teresa", "Valeria")  # fmt: skip
FAMILY = ("Hernández", "García", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez",
          "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres", "Díaz")  # fmt: skip

# What mentees wrote in the closing questionnaire's open questions (the word cloud).
MENTEE_WORDS = (
    "Gané confianza para presentar mi investigación y pedir financiamiento.",
    "Aprendí a planear mis objetivos y a organizar mi tiempo.",
    "Mi mentora me ayudó a construir una red de colegas.",
    "Más seguridad para liderar proyectos y hablar en público.",
    "Objetivos claros, una red de apoyo y confianza en mí misma.",
)
MENTOR_WORDS = (
    "Escuchar activamente y acompañar sin imponer.",
    "Compartir mi experiencia con convocatorias de financiamiento.",
    "Me motivó ver crecer la confianza de mi mentorada.",
)


@dataclass(frozen=True)
class Pilot:
    key: str
    institution: str
    slug: str
    country: str
    timezone: str
    campuses: tuple[str, ...]
    units_per_campus: int
    mentors: int
    mentees: int
    capacity: int  # mentees per mentor
    modules: tuple[tuple[str, str, int], ...]  # (title, kind, minutes)
    dissolve_after: int | None  # the meeting after which one dyad stops (Mexico: 3)
    lang: str = "es"
    notes: tuple[str, ...] = field(default_factory=tuple)


MEXICO = Pilot(
    key="mexico",
    institution="Universidad Autónoma del Estado de Hidalgo (demo)",
    slug="uaeh-demo",
    country="MX",
    timezone="America/Mexico_City",
    campuses=("Ciudad del Conocimiento", "Actopan", "Tizayuca"),
    units_per_campus=3,
    mentors=16,
    mentees=14,
    capacity=1,
    modules=(
        ("Módulo 1: El programa de mentoría", "online_module", 120),
        ("Módulo 2: Objetivos SMART", "online_module", 120),
        ("Módulo 3: Comunicación y escucha activa", "online_module", 120),
        ("Módulo 4: Liderazgo y redes", "online_module", 120),
        ("Módulo 5: Perspectiva de género en STEM", "online_module", 120),
        ("Sesión de acompañamiento 1", "accompaniment_session", 90),
        ("Sesión de acompañamiento 2", "accompaniment_session", 90),
        ("Sesión de acompañamiento 3", "accompaniment_session", 90),
        ("Sesión de acompañamiento 4", "accompaniment_session", 90),
    ),
    dissolve_after=3,
)

PERU = Pilot(
    key="peru",
    institution="Universidad Nacional de Ingeniería (demo)",
    slug="uni-peru-demo",
    country="PE",
    timezone="America/Lima",
    campuses=("Campus Rímac", "Campus San Martín", "Campus Callao", "Campus Arequipa"),
    units_per_campus=3,
    mentors=20,
    mentees=40,
    capacity=2,
    modules=(
        ("Formación en línea: el rol de la mentora", "online_module", 120),
        ("Formación en línea: objetivos SMART", "online_module", 120),
        ("Formación continua: liderazgo", "online_module", 120),
        ("Taller presencial de habilidades", "accompaniment_session", 240),
    ),
    dissolve_after=None,
)

PILOTS = {p.key: p for p in (MEXICO, PERU)}
