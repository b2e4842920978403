"""Aggregates and reports. Every count under k is published as null."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

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
    p_method: str | None = Field(description="exact, exact_ties or normal.")
    p_reason: str | None = Field(description="Why there is no p-value: no_pairs, no_change or too_few_nonzero.")
    rank_biserial: float | None
    rank_biserial_ci: list[float] | None = Field(description="Bootstrap confidence interval.")
    ci_reason: str | None = Field(description="Why there is no interval: no_pairs, no_change or too_few_nonzero.")
    n_nonzero: int | None = Field(default=None, description="Pairs whose score changed.")
    means_withheld: bool = Field(default=False, description="True when the group's answers to the skill's items are "
                                 "not published whole: the means (before, after, change) would reveal hidden cells.")


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


class OptionTableOut(Output):
    key: str
    label: TextOut
    table: ProtectedTableOut = Field(description="Rows are roles (with all), columns chose / not (with all: the role's "
                                                 "respondents to the item).")


class ItemOut(Output):
    administration_id: uuid.UUID
    item_id: str
    type: str
    text: TextOut
    categories: list[CategoryOut] = Field(description="As published: Likert points, or bands (e.g. 1-2, 3, 4-5) when collapsed.")
    collapsed: bool = Field(description="True when the item is published in bands, as in the program report.")
    table: ProtectedTableOut | None = Field(description="Likert and single choice: rows are roles, columns categories (with totals).")
    options: list[OptionTableOut] | None = Field(description="Multiple choice: one table per option; the sum of choices is never published.")
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
    published: bool = Field(description="False when no role gave at least k_text answers: no terms are shown.")
    roles: list[str] = Field(description="The roles whose answers the terms come from (those with at least k_text answers).")
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
    definition: TextOut = Field(description="When a coder should use it (empty when not given).")
    parent: str | None = Field(description="A sub-theme's theme; null for a theme.")


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


class KappaOut(Output):
    kappa: float | None = Field(description="Cohen's kappa; the mean over coder pairs with more than two coders; null when "
                                            "undefined (a pair marked every shared unit alike) or without double coding.")
    pairs: int = Field(description="Coder pairs with a defined kappa.")
    units: int = Field(description="Units compared (answers, or whole responses), summed over pairs.")
    observed: float | None = Field(description="Share of compared units on which the two coders of a pair agreed.")


class ThemeCountOut(Output):
    theme: ThemePublic
    mentioned: dict[str, int | None] = Field(description="Interviews (or responses) carrying the theme per group; null when "
                                                         "suppressed. A sub-theme brings its theme.")
    agreement: float | None = Field(description="Cohen's kappa between coders (kappa.kappa).")
    kappa: KappaOut


class ThemesOut(Output):
    program_id: uuid.UUID
    source: Literal["interviews", "open_answers"] = Field(
        description="What was coded: the program's settled interviews, else open answers of anonymous questionnaires."
    )
    coded: ProtectedTableOut
    evaluators: int
    themes: list[ThemeCountOut] = Field(description="Each theme followed by its sub-themes.")


class OpenAnswerOut(Output):
    """One open answer of an anonymous administration, de-identified, for theme coding."""

    response_id: uuid.UUID
    administration_id: uuid.UUID
    role: str
    item_id: str
    text: str


class ProgramReportOut(Output):
    """The program report (domain.ProgramReport.to_dict): published cells only."""

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


class DisclosureFloorOut(Output):
    min_cell: int = Field(description="The platform's floor for k (EVALUATION_MIN_CELL, never below 3).")
    min_text: int = Field(description="The platform's floor for k_text (EVALUATION_MIN_TEXT, never below k); a program "
                                    "that has not set its own uses EVALUATION_DEFAULT_MIN_TEXT.")


class DisclosureOut(Output):
    """A program's disclosure thresholds as they apply (never below the floor)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "program_id": "0190f1c2-0000-7000-8000-000000000001", "min_cell": 5, "min_text": 10,
        "floor": {"min_cell": 5, "min_text": 5}, "customised": False, "updated_at": None}]})

    program_id: uuid.UUID
    min_cell: int = Field(description="k: the smallest group published in any cell of any table of answers.")
    min_text: int = Field(description="k_text: the answers a role needs before any of its open text, terms or quotes are published.")
    floor: DisclosureFloorOut
    customised: bool = Field(description="False while the program uses the platform's floor.")
    updated_at: datetime | None


class DisclosureUpdate(Input):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"min_cell": 6, "min_text": 12}]})

    min_cell: int = Field(ge=3, le=1000, description="k; at least the platform's floor.")
    min_text: int = Field(ge=3, le=1000, description="k_text; at least min_cell and the platform's floor.")
