"""The vocabularies of programs, applications, participants and training.

Each is a ``StrEnum``: published as a named enum in the OpenAPI document, and
listed in a CHECK constraint of the column that stores it (``models.py``).
"""

from enum import StrEnum


class ProgramStatus(StrEnum):
    """Where a program (cohort) is in its life; it only moves forward, one step at a time."""

    draft = "draft"
    call_open = "call_open"
    selection = "selection"
    training = "training"
    matching = "matching"
    mentoring = "mentoring"
    evaluation = "evaluation"
    closed = "closed"


class MentoringMode(StrEnum):
    one_to_one = "one_to_one"
    peer = "peer"
    group = "group"
    reciprocal = "reciprocal"


class Delivery(StrEnum):
    virtual = "virtual"
    in_person = "in_person"
    hybrid = "hybrid"


class MeetingCadence(StrEnum):
    weekly = "weekly"
    biweekly = "biweekly"
    monthly = "monthly"


class PhaseKind(StrEnum):
    """The dated phases of a program, in the order they happen."""

    call = "call"
    selection = "selection"
    training = "training"
    matching = "matching"
    mentoring = "mentoring"
    evaluation = "evaluation"


PHASE_ORDER = list(PhaseKind)


class Role(StrEnum):
    """The role sought in an application and held in a membership."""

    mentor = "mentor"
    mentee = "mentee"
    peer_mentor = "peer_mentor"


class ApplicationStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    accepted = "accepted"
    waitlisted = "waitlisted"
    rejected = "rejected"
    invited = "invited"
    confirmed = "confirmed"
    declined = "declined"
    expired = "expired"
    withdrawn = "withdrawn"


class Decision(StrEnum):
    """A coordinator's decision on a submitted (or waitlisted) application."""

    accepted = "accepted"
    waitlisted = "waitlisted"
    rejected = "rejected"


class Affiliation(StrEnum):
    """How the applicant belongs to the university."""

    full_time_faculty = "full_time_faculty"
    part_time_faculty = "part_time_faculty"
    undergraduate = "undergraduate"
    graduate = "graduate"
    staff = "staff"


class CareerStage(StrEnum):
    undergraduate_student = "undergraduate_student"
    graduate_student = "graduate_student"
    postdoctoral = "postdoctoral"
    early_career = "early_career"
    mid_career = "mid_career"
    senior = "senior"


class Discipline(StrEnum):
    """Field of work or study. Not every value is a STEM field: programs say
    which ones they accept in their eligibility criteria."""

    agricultural_sciences = "agricultural_sciences"
    biology = "biology"
    chemistry = "chemistry"
    computer_science = "computer_science"
    earth_sciences = "earth_sciences"
    engineering = "engineering"
    environmental_sciences = "environmental_sciences"
    health_sciences = "health_sciences"
    mathematics = "mathematics"
    physics = "physics"
    statistics = "statistics"
    technology = "technology"
    social_sciences = "social_sciences"
    humanities = "humanities"
    arts = "arts"
    business = "business"
    education = "education"
    law = "law"
    other = "other"


class ConsentPurpose(StrEnum):
    """What a consent is for. Each is opt-in, given for one privacy-notice version.

    ``quotes``: her interview answers may be quoted, de-identified, in a program's
    reports (the evaluation service asks for it beside ``research``)."""

    program = "program"
    research = "research"
    matching_identity = "matching_identity"
    quotes = "quotes"


class MembershipStatus(StrEnum):
    active = "active"
    substitute = "substitute"
    withdrawn = "withdrawn"
    completed = "completed"


class ModuleKind(StrEnum):
    online_module = "online_module"
    accompaniment_session = "accompaniment_session"


class RuleOp(StrEnum):
    """Operators of the eligibility rule language."""

    in_ = "in"
    not_in = "not_in"
    equals = "equals"
    not_equals = "not_equals"
    is_true = "is_true"
    is_false = "is_false"
    gt = "gt"
    gte = "gte"
    lt = "lt"
    lte = "lte"
    review = "review"


class EligibilityField(StrEnum):
    """Application fields a rule may test."""

    role = "role"
    affiliation = "affiliation"
    career_stage = "career_stage"
    stem_field = "stem_field"
    identifies_as_woman = "identifies_as_woman"
    willing_to_train = "willing_to_train"
    funding_experience = "funding_experience"
    has_recognition = "has_recognition"
    years_of_experience = "years_of_experience"
    interest = "interest"
    expectations = "expectations"
    experience = "experience"
    recognition = "recognition"
    evidence = "evidence"


class RuleOutcome(StrEnum):
    passed = "passed"
    failed = "failed"
    needs_review = "needs_review"
    not_applicable = "not_applicable"


class Verdict(StrEnum):
    eligible = "eligible"
    ineligible = "ineligible"
    needs_review = "needs_review"


class RosterIdKind(StrEnum):
    """Which external id a roster file's ``external_id`` column holds."""

    sis = "sis"
    hr = "hr"


class RosterStatus(StrEnum):
    """Where a roster import is: ``validating`` and ``committing`` are running."""

    uploaded = "uploaded"
    validating = "validating"
    validated = "validated"
    committing = "committing"
    committed = "committed"
    rejected = "rejected"
    failed = "failed"


class RosterMode(StrEnum):
    """What a commit does with invalid rows: write the valid ones, or write nothing."""

    skip_invalid = "skip_invalid"
    all_or_nothing = "all_or_nothing"


class RosterPass(StrEnum):
    """Which pass the counts describe: a dry run (what would happen) or a commit."""

    dry_run = "dry_run"
    commit = "commit"


class RosterStage(StrEnum):
    """What a running pass is doing: checking rows, or writing them."""

    validating = "validating"
    writing = "writing"


class AccountLink(StrEnum):
    """Filter on whether a profile is claimed by an account."""

    linked = "linked"
    unlinked = "unlinked"
    any = "any"


class XapiActorId(StrEnum):
    """Which external id of a participant an xAPI actor's ``account.name`` is."""

    lms_id = "lms_id"
    sis_id = "sis_id"


class TrainingVerb(StrEnum):
    """The xAPI verbs accepted (ADL IRIs ``http://adlnet.gov/expapi/verbs/<verb>``)."""

    completed = "completed"
    passed = "passed"
    attended = "attended"
