"""Aggregates and reports. Every count under k is published as null."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints

from services.evaluation.schemas.common import Input, Output, TextIn, TextOut

THEME_CODE = r"^[a-z0-9][a-z0-9_-]{0,79}$"


class ProtectedTableOut(Output):
    rows: list[str]
    columns: list[str]
    cells: list[list[int | None]] = Field(description="Published counts; null where suppressed (primary or secondary).")


class SkillRowOut(Output):
    skill: str
    label: TextOut
    group: str = Field(examples=["mentee", "mentor", "all"])
    n_pairs: int
    mean_before: float | None
    mean_after: float | None
    mean_change: float | None
    mean_change_ci: list[float] | None
    p_value: float | None = Field(description="Wilcoxon signed-rank p.")
    p_method: str | None
    p_reason: str | None
    rank_biserial: float | None
    rank_biserial_ci: list[float] | None = Field(description="Bootstrap confidence interval.")
    ci_reason: str | None


class SkillsOut(Output):
    program_id: uuid.UUID
    pre_administration_id: uuid.UUID
    post_administration_id: uuid.UUID
    instrument: str
    k: int
    respondents: dict[str, ProtectedTableOut]
    rows: list[SkillRowOut]
    hidden: list[list[str]] = Field(description="(skill, group) pairs withheld because a group is under k.")
    n_boot: int
    confidence: float


class CategoryOut(Output):
    key: str
    label: TextOut


class SummaryOut(Output):
    n: int
    mean: float | None = None
    sd: float | None = None
    median: float | None = None
    q1: float | None = None
    q3: float | None = None
    minimum: float | None = None
    maximum: float | None = None


class ItemOut(Output):
    administration_id: uuid.UUID
    item_id: str
    type: str
    text: TextOut
    categories: list[CategoryOut]
    table: ProtectedTableOut | None = Field(description="Rows are roles, columns categories (with totals).")
    numeric: dict[str, SummaryOut | None] | None = Field(description="Numeric items: per group, null when suppressed.")


class ItemsOut(Output):
    program_id: uuid.UUID
    k: int
    respondents: dict[str, ProtectedTableOut] = Field(description="Per administration: submitted responses by role.")
    items: list[ItemOut]


class TermOut(Output):
    term: str
    key: str
    count: int
    documents: int


class TextItemOut(Output):
    administration_id: uuid.UUID
    item_id: str
    text: TextOut
    responses: int
    published: bool = Field(description="False below the open-text threshold: no terms are shown.")
    terms: list[TermOut]


class TextOutList(Output):
    program_id: uuid.UUID
    k_text: int
    min_term_documents: int
    items: list[TextItemOut]


class ThemeCreate(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"code": "confidence", "label": {"es": "Confianza y agencia personal", "en": "Confidence and personal agency"}}]},
    )

    code: str = Field(pattern=THEME_CODE)
    label: TextIn


class ThemePublic(Output):
    id: uuid.UUID
    program_id: uuid.UUID
    code: str
    label: TextOut


class CodingCreate(Input):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"response_id": "0190f1c2-0000-7000-8000-000000000101", "themes": ["confidence"]}]},
    )

    response_id: uuid.UUID
    themes: list[Annotated[str, StringConstraints(pattern=THEME_CODE)]] = Field(max_length=50, description="Theme codes of this program.")


class CodingPublic(Output):
    id: uuid.UUID
    response_id: uuid.UUID
    themes: list[str]


class ThemeCountOut(Output):
    theme: ThemePublic
    mentioned: dict[str, int | None] = Field(description="Responses carrying the theme per group; null when suppressed.")
    agreement: float | None


class ThemesOut(Output):
    program_id: uuid.UUID
    coded: ProtectedTableOut
    evaluators: int
    themes: list[ThemeCountOut]


class OpenAnswerOut(Output):
    """One open answer of an anonymous administration, de-identified, for theme coding."""

    response_id: uuid.UUID
    administration_id: uuid.UUID
    role: str
    item_id: str
    text: str


class ProgramReportOut(Output):
    """The program report (analytics.ProgramReport.to_dict): published cells only."""

    model_config = ConfigDict(extra="allow")

    program: dict[str, Any]
    policy: dict[str, Any]
    funnel: list[dict[str, Any]]
    training: list[dict[str, Any]]
    training_rate: float | None
    matching: dict[str, Any] | None
    matching_scores: dict[str, Any] | None
    adherence: dict[str, Any]
    retention: dict[str, Any]
    skills: dict[str, Any] | None
    objectives: dict[str, Any] | None
    satisfaction: dict[str, Any] | None
    clouds: list[dict[str, Any]]
    themes: dict[str, Any] | None
    notes: list[dict[str, Any]]


class ComparisonRow(Output):
    figure: str = Field(examples=["retention.completion_rate"])
    values: dict[str, float | int | None] = Field(description="By program id.")


class ComparisonOut(Output):
    institution_id: uuid.UUID
    programs: list[uuid.UUID]
    figures: list[ComparisonRow]
    reports: dict[str, ProgramReportOut]
