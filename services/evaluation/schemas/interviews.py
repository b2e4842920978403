"""Interviews: guides, the team, samples, interviews, the codebook, codings, quotes, data-subject copies.

Every text a person writes is refused with a 422 naming the field when it holds
NUL or another control character (tabs and line breaks are kept), a lone
surrogate, or nothing but spaces, or when it is longer than its limit.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator, model_validator

from servicekit.types import Day

from services.evaluation.enums import InterviewStatus, PickSource, SampleStatus, Submission
from services.evaluation.schemas.common import Input, Output, TextOut

__all__ = [
    "CodebookPublic",
    "CodebookTheme",
    "DefinitionIn",
    "GuideCreate",
    "GuidePublic",
    "InterviewCodingIn",
    "InterviewCodingPublic",
    "InterviewCodingSubmission",
    "InterviewCodingsPublic",
    "InterviewCreate",
    "InterviewErasure",
    "InterviewExport",
    "InterviewPublic",
    "InterviewsExport",
    "LabelIn",
    "PickPublic",
    "PickSwap",
    "QuestionIn",
    "QuestionOut",
    "QuestionText",
    "QuoteCreate",
    "QuotePublic",
    "SampleCreate",
    "SamplePublic",
    "StratumOut",
    "TeamMemberPublic",
    "TeamMemberUpdate",
    "ThemeCreateIn",
    "ThemeUpdateIn",
]

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _clean(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain NUL or other control characters (tabs and line breaks are fine)")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def text(max_length: int) -> object:
    return Annotated[str, StringConstraints(min_length=1, max_length=max_length), AfterValidator(_clean)]


KEY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"
QuestionKey = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
ThemeCode = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,79}$")]
Label = text(200)
LongText = text(2000)
AnswerText = text(20000)
Excerpt = text(1500)
Role = Literal["mentor", "mentee"]
Lang = Literal["es", "en"]
ANSWER_LIMIT = 20000


class LabelIn(Input):
    es: Label  # type: ignore[valid-type]
    en: Label  # type: ignore[valid-type]


class DefinitionIn(Input):
    es: LongText  # type: ignore[valid-type]
    en: LongText  # type: ignore[valid-type]


class QuestionText(Input):
    es: LongText  # type: ignore[valid-type]
    en: LongText  # type: ignore[valid-type]


# ----------------------------------------------------------------------------- guides


class QuestionIn(Input):
    key: QuestionKey = Field(description="Stable key of the question in this guide (answers and codes refer to it).")
    text: QuestionText


class GuideCreate(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"program_id": "0190f1c2-0000-7000-8000-000000000001", "role": "mentee"},
            {"program_id": "0190f1c2-0000-7000-8000-000000000001", "role": "mentor",
             "title": {"es": "Entrevista de cierre", "en": "Closing interview"},
             "questions": [{"key": "overall", "text": {"es": "¿Qué tan bien funcionó el programa para ti?",
                                                       "en": "How well did the programme work for you?"}}]},
        ]},
    )

    program_id: uuid.UUID
    role: Role
    title: LabelIn | None = Field(default=None, description="Default: the built-in guide's title.")
    questions: list[QuestionIn] | None = Field(
        default=None, min_length=1, max_length=30,
        description="In the order they are asked. Default: the built-in guide of the role (eight open questions).",
    )

    @field_validator("questions")
    @classmethod
    def _distinct_keys(cls, questions: list[QuestionIn] | None) -> list[QuestionIn] | None:
        keys = [q.key for q in questions or []]
        if len(keys) != len(set(keys)):
            raise ValueError("each question key appears once")
        return questions


class QuestionOut(Output):
    key: str
    text: TextOut


class GuidePublic(Output):
    id: uuid.UUID | None = Field(description="Null for a built-in default guide.")
    program_id: uuid.UUID | None
    role: str
    title: TextOut
    questions: list[QuestionOut]
    created_at: datetime | None


# ----------------------------------------------------------------------------- the team


class TeamMemberUpdate(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"interviewer": False, "coder": True, "lead_coder": True}]})

    interviewer: bool = False
    coder: bool = False
    lead_coder: bool = Field(default=False, description="Writes the consensus coding; a lead coder is a coder.")

    @field_validator("lead_coder")
    @classmethod
    def _lead_codes(cls, lead: bool, info: ValidationInfo) -> bool:
        if lead and not info.data.get("coder"):
            raise ValueError("a lead coder is also a coder (set coder too)")
        return lead

    @model_validator(mode="after")
    def _something(self) -> TeamMemberUpdate:
        if not (self.interviewer or self.coder):
            raise ValueError("give at least one of interviewer and coder (remove her from the team otherwise)")
        return self


class TeamMemberPublic(Output):
    program_id: uuid.UUID
    account_id: str
    interviewer: bool
    coder: bool
    lead_coder: bool
    assigned_by: str
    assigned_at: datetime


# ----------------------------------------------------------------------------- samples


class SampleCreate(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"program_id": "0190f1c2-0000-7000-8000-000000000001", "mentors": 5, "mentees": 5, "seed": 2024}]})

    program_id: uuid.UUID
    mentors: int = Field(default=5, ge=0, le=200)
    mentees: int = Field(default=5, ge=0, le=200)
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="The same seed and candidates give the same sample.")

    @model_validator(mode="after")
    def _someone(self) -> SampleCreate:
        if self.mentors + self.mentees == 0:
            raise ValueError("ask for at least one mentor or mentee")
        return self


class PickSwap(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"participant_id": "0190f1c2-0000-7000-8000-0000000000a7"}]})

    participant_id: uuid.UUID = Field(description="Who replaces this pick: a member of the same role who consents to research.")


class StratumOut(Output):
    dimension: Literal["career_stage", "stem_field"]
    value: str | None = Field(description="Null: not given in her profile or application.")
    members: int = Field(description="Candidates of the role with this value.")
    population: int = Field(description="Candidates of the role (members who consent to research).")
    target: float = Field(description="The sample's quota for this value: picks of the role x members / population.")
    in_sample: int = Field(description="Picks of the role with this value (when the pick was made).")


class PickPublic(Output):
    id: uuid.UUID
    role: str
    position: int
    participant_id: uuid.UUID
    career_stage: str | None
    stem_field: str | None
    strata: list[StratumOut] = Field(description="The strata this pick represents, the rarer first.")
    reason: TextOut
    chosen_by: Literal[PickSource.PROPOSAL, PickSource.COORDINATOR]
    interviewed: bool


class SamplePublic(Output):
    id: uuid.UUID
    program_id: uuid.UUID
    seed: int
    requested: dict[str, int]
    population: dict[str, dict[str, dict[str, int]]] = Field(
        description="Per role and dimension: candidates per value ('' for not given)."
    )
    dimensions: list[str]
    not_stratified: dict[str, TextOut] = Field(description="Dimensions asked for that the platform does not collect, and why.")
    status: Literal[SampleStatus.PROPOSED, SampleStatus.ACCEPTED]
    created_at: datetime
    accepted_at: datetime | None
    picks: list[PickPublic]


# ----------------------------------------------------------------------------- interviews


class InterviewCreate(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "program_id": "0190f1c2-0000-7000-8000-000000000001", "guide_id": "0190f1c2-0000-7000-8000-000000000010",
        "participant_id": "0190f1c2-0000-7000-8000-0000000000a1", "conducted_on": "2024-02-12", "language": "es",
        "quote_consent": True,
        "answers": {"overall": "Funcionó bien: nos reunimos cuatro veces y aprendí a pedir lo que necesito.",
                    "gains": "Más seguridad para hablar en reuniones."},
    }]})

    program_id: uuid.UUID
    guide_id: uuid.UUID = Field(description="A guide of this program for her role.")
    participant_id: uuid.UUID = Field(description="Who was interviewed: a current member who consents to research.")
    conducted_on: Day = Field(description="The day of the interview; not in the future.")
    language: Lang = "es"
    quote_consent: bool = Field(
        description="She agreed to be quoted (de-identified). Needs her consent for quotes in the participants service."
    )
    answers: dict[QuestionKey, AnswerText] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=30,
        description=f"Her answer to each question asked, by question key (at most {ANSWER_LIMIT} characters each).",
    )


class InterviewPublic(Output):
    """An interview as the caller may see it: the interviewer sees all of it; a coder sees no person
    (participant, interviewer and date are null); others see no answers."""

    id: uuid.UUID
    program_id: uuid.UUID
    code: str = Field(description="Pseudonymous code: all coders know of who answered.")
    role: str
    guide_id: uuid.UUID
    language: str
    status: Literal[InterviewStatus.RECORDED, InterviewStatus.WITHDRAWN, InterviewStatus.ERASED]
    view: Literal["interviewer", "coder", "record"]
    participant_id: uuid.UUID | None
    interviewer: str | None
    conducted_on: date | None
    quote_consent: bool | None
    answered: list[str] = Field(description="Keys of the questions she answered.")
    answers: dict[str, str] | None = Field(description="Her answers: for the interviewer and the program's coders only.")
    questions: list[QuestionOut] | None = Field(description="The guide's questions (with the answers).")
    codings_submitted: int = Field(description="Independent codings submitted.")
    consensus: bool = Field(description="The lead coder wrote the consensus coding.")
    settled: bool = Field(description="Counted in the themes: two codings submitted, or a consensus.")
    created_at: datetime


# ----------------------------------------------------------------------------- the codebook


class ThemeCreateIn(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"code": "gendered-roles", "label": {"es": "Cuestionar los roles de género", "en": "Challenging gendered roles"},
         "definition": {"es": "Habla de expectativas sociales sobre las mujeres y de cómo las pone en duda.",
                        "en": "Talks about what society expects of women and how she questions it."}},
        {"code": "workplace-bias", "parent": "gendered-roles",
         "label": {"es": "Sesgo en el trabajo", "en": "Bias at work"}},
    ]})

    code: ThemeCode = Field(description="Unique in the program's codebook.")
    label: LabelIn
    definition: DefinitionIn | None = Field(default=None, description="When a coder should use it.")
    parent: ThemeCode | None = Field(default=None, description="A sub-theme's theme (itself without parent).")


class ThemeUpdateIn(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"definition": {"es": "Incluye el acoso.", "en": "Includes harassment."}}, {"parent": None}]})

    label: LabelIn | None = None
    definition: DefinitionIn | None = None
    parent: ThemeCode | None = Field(default=None, description="Move it under this theme; null makes it a theme.")


class CodebookTheme(Output):
    id: uuid.UUID
    code: str
    label: TextOut
    definition: TextOut
    parent: str | None
    sub_themes: list[CodebookTheme] = Field(default_factory=list)


class CodebookPublic(Output):
    program_id: uuid.UUID
    themes: list[CodebookTheme] = Field(description="Themes in the order created, each with its sub-themes.")


# ----------------------------------------------------------------------------- codings


class InterviewCodingIn(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"codes": {"overall": ["confidence"], "challenges": ["journeys", "workplace-bias"], "gains": []}}]})

    codes: dict[QuestionKey, Annotated[list[ThemeCode], Field(max_length=50)]] = Field(
        max_length=30,
        description="Theme or sub-theme codes per answered question; an answer left out carries no theme.",
    )



class InterviewCodingSubmission(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{}, {"codes": {"overall": ["confidence"]}}]})

    codes: dict[QuestionKey, Annotated[list[ThemeCode], Field(max_length=50)]] | None = Field(
        default=None, max_length=30, description="Saved first when given.")


class InterviewCodingPublic(Output):
    interview_id: uuid.UUID
    code: str = Field(description="The interview's pseudonymous code.")
    coder: str
    consensus: bool
    status: Literal[Submission.DRAFT, Submission.SUBMITTED]
    codes: dict[str, list[str]]
    saved_at: datetime
    submitted_at: datetime | None


class InterviewCodingsPublic(Output):
    interview_id: uuid.UUID
    code: str
    codings: list[InterviewCodingPublic] = Field(description="Submitted independent codings, and the consensus if written.")


# ----------------------------------------------------------------------------- quotes


class QuoteCreate(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "question": "challenges", "theme": "workplace-bias", "deidentified": True,
        "excerpt": "[...] en [mi empresa] soy la única mujer que programa, y a veces no me daban tareas [...]",
    }]})

    question: QuestionKey = Field(description="The answer it is taken from.")
    theme: ThemeCode = Field(description="The theme or sub-theme it illustrates.")
    excerpt: Excerpt = Field(  # type: ignore[valid-type]
        description="Her words, in order, with every edit in square brackets: [...] for a cut, [a replacement]."
    )
    deidentified: Literal[True] = Field(description="You removed or replaced whatever could identify her or others.")


class QuotePublic(Output):
    id: uuid.UUID
    interview_id: uuid.UUID
    code: str
    role: str
    question: str
    theme: str
    excerpt: str
    created_by: str
    created_at: datetime
    publishable: bool = Field(description="It goes into the program report now.")
    withheld_because: list[Literal[
        "no_quote_consent", "interview_not_settled", "theme_not_attributed", "role_below_k_text"
    ]] = Field(description="Why it is not published (empty when publishable).")


# ----------------------------------------------------------------------------- data subjects


class InterviewExport(Output):
    interview_id: uuid.UUID
    program_id: uuid.UUID
    code: str
    role: str
    status: str
    conducted_on: date
    language: str
    interviewer: str
    quote_consent: bool
    questions: list[QuestionOut]
    answers: dict[str, str]
    codings: list[InterviewCodingPublic]
    quotes: list[str]


class InterviewsExport(Output):
    participant_id: uuid.UUID
    exported_at: datetime
    interviews: list[InterviewExport]
    sample_picks: list[PickPublic]


class InterviewErasure(Output):
    participant_id: uuid.UUID
    interviews_erased: int
    answers_removed: int
    quotes_deleted: int
    sample_picks_deleted: int
    codings_kept: int = Field(description="Codes of her answers kept without any link to her: published counts stay.")
