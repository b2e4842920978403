"""The evaluation service's vocabularies, each once: the models hold them under a
CHECK constraint, the use-cases compare with them and the schemas publish them.
The respondent's role and an instrument's audience belong to the pure core
(``domain.instruments.Role`` and ``Audience``) and are checked the same way."""

from __future__ import annotations

from enum import StrEnum


class Moment(StrEnum):  # when an administration is given; a custom moment carries a label
    PRE = "pre"
    POST = "post"
    CLOSING = "closing"
    CUSTOM = "custom"


class Submission(StrEnum):
    """A questionnaire response or an interview coding: saved as a draft, then submitted once."""

    DRAFT = "draft"
    SUBMITTED = "submitted"


class SampleStatus(StrEnum):
    """An interview sample: proposed by the platform, then accepted by a coordinator."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"


class PickSource(StrEnum):
    """Who chose a person of a sample: the platform's proposal or the coordinator."""

    PROPOSAL = "proposal"
    COORDINATOR = "coordinator"


class InterviewStatus(StrEnum):
    RECORDED = "recorded"
    WITHDRAWN = "withdrawn"
    ERASED = "erased"
