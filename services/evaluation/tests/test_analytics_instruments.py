"""Instrument templates: the built-in library, validation of responses, scoring."""

from __future__ import annotations

import math

import pytest

from services.evaluation.domain import (
    AGREEMENT_5,
    BUILTIN,
    Audience,
    Instrument,
    InstrumentError,
    Item,
    ItemType,
    LikertScale,
    ResponseError,
    Role,
    Section,
    Subscale,
    Text,
    builtin_instrument,
    check_response,
    closing_assessment,
    interview_guide,
    mentoring_competency,
    objectives_mentee,
    objectives_mentor,
    score_matrix,
    score_response,
    soft_skills,
    validate_response,
)

T = Text


def tiny() -> Instrument:
    return Instrument(
        key="tiny",
        version=1,
        title=T("Mini", "Mini"),
        description=T("Prueba", "Test"),
        sections=(
            Section(
                id="s",
                title=T("S", "S"),
                items=(
                    Item(id="a", type=ItemType.LIKERT, text=T("a", "a"), scale=AGREEMENT_5),
                    Item(id="b", type=ItemType.LIKERT, text=T("b", "b"), scale=AGREEMENT_5, reverse=True),
                    Item(id="c", type=ItemType.LIKERT, text=T("c", "c"), scale=AGREEMENT_5, required=False),
                    Item(id="hours", type=ItemType.NUMERIC, text=T("h", "h"), minimum=0, maximum=40, integer=True),
                    Item(id="pick", type=ItemType.SINGLE_CHOICE, text=T("p", "p"),
                         options=(_opt("x"), _opt("y"))),
                    Item(id="many", type=ItemType.MULTIPLE_CHOICE, text=T("m", "m"), audience=Audience.MENTORS,
                         options=(_opt("x"), _opt("y"), _opt("z")), max_choices=2),
                    Item(id="note", type=ItemType.OPEN_TEXT, text=T("n", "n"), max_length=20, required=False),
                ),
            ),
        ),
        subscales=(Subscale(id="sc", label=T("sc", "sc"), items=("a", "b", "c")),),
    )


def _opt(v: str):
    from services.evaluation.domain import Option

    return Option(v, T(v, v))


def test_builtin_library_is_complete_and_bilingual() -> None:
    assert set(BUILTIN) == {
        "soft-skills", "closing-assessment", "objectives-mentee", "objectives-mentor", "interview-guide",
        "mentoring-competency",
    }
    for key in BUILTIN:
        ins = builtin_instrument(key)
        assert ins.key == key and ins.version == 1
        for item in ins.items():
            assert item.text.es.strip() and item.text.en.strip() and item.text.es != item.text.en
        assert Instrument.from_dict(ins.to_dict()) == ins


def test_soft_skills_covers_the_seven_skills_with_reverse_items() -> None:
    ins = soft_skills()
    assert [s.id for s in ins.subscales] == [
        "assertiveness", "networking", "leadership", "active_listening", "self_confidence", "smart_objectives",
        "time_planning",
    ]
    reverse = [i.id for i in ins.items() if i.reverse]
    assert 3 <= len(reverse) < len(list(ins.items()))
    assert all(len(s.items) >= 3 for s in ins.subscales)


def test_closing_assessment_follows_the_pilot_sections() -> None:
    ins = closing_assessment()
    assert [s.id for s in ins.sections] == ["staff", "call", "training", "contribution", "benefits"]
    assert {i.id for i in ins.sections[1].items} == {"call.clear", "call.suitable", "call.timing"}
    assert {"training.sessions", "training.length", "training.platform"} <= {i.id for i in ins.sections[2].items}
    mentor = ins.item("benefits.mentor")
    mentee = ins.item("benefits.mentee")
    assert mentor.type is ItemType.MULTIPLE_CHOICE and ins.item_audience(mentor.id) is Audience.MENTORS
    assert mentee.type is ItemType.OPEN_TEXT and ins.item_audience(mentee.id) is Audience.MENTEES


def test_other_instruments() -> None:
    for ins, audience in ((objectives_mentee(), Audience.MENTEES), (objectives_mentor(), Audience.MENTORS)):
        item = ins.item("achieved")
        assert (item.type, item.minimum, item.maximum, item.integer) == (ItemType.NUMERIC, 0, 100, True)
        assert ins.item_audience("achieved") is audience
    guide = interview_guide()
    for sid in ("mentor", "mentee"):
        section = next(s for s in guide.sections if s.id == sid)
        assert len(section.items) == 8 and all(i.type is ItemType.OPEN_TEXT for i in section.items)
    comp = mentoring_competency()
    assert [s.id for s in comp.subscales] == [
        "communication", "aligning_expectations", "assessing_understanding", "addressing_diversity",
        "fostering_independence", "professional_development",
    ]
    assert {i.scale.points for i in comp.items()} == {7}


def test_validation_names_every_bad_item() -> None:
    ins = tiny()
    answers = {
        "a": 6,  # out of range
        "b": True,  # a bool is not a Likert point
        "hours": 2.5,  # not an integer
        "pick": "w",  # unknown option
        "many": ["x", "y", "z"],  # too many
        "note": "x" * 21,  # too long
        "ghost": 1,  # unknown item
    }
    issues = check_response(ins, answers, role=Role.MENTOR)
    codes = {i.item_id: i.code for i in issues}
    assert codes == {
        "a": "out_of_range", "b": "wrong_type", "hours": "not_integer", "pick": "unknown_option",
        "many": "too_many_choices", "note": "too_long", "ghost": "unknown_item",
    }
    with pytest.raises(ResponseError) as err:
        validate_response(ins, answers, role=Role.MENTOR)
    assert len(err.value.issues) == 7 and "ghost" in str(err.value)


def test_validation_by_role_drafts_and_normalisation() -> None:
    ins = tiny()
    mentee = {"a": 4, "b": 2, "hours": 3, "pick": "x", "many": ["y"]}
    assert [(i.item_id, i.code) for i in check_response(ins, mentee, role=Role.MENTEE)] == [("many", "not_for_role")]
    assert [(i.item_id, i.code) for i in check_response(ins, {"a": 4}, role=Role.MENTEE)] == [
        ("b", "missing"), ("hours", "missing"), ("pick", "missing"),
    ]
    assert check_response(ins, {"a": 4}, role=Role.MENTEE, complete=False) == ()
    clean = validate_response(ins, {**mentee, "many": ["z", "x"], "hours": 3.0, "note": "  hola  "}, role=Role.MENTOR)
    assert clean["many"] == ("x", "z") and clean["hours"] == 3 and isinstance(clean["hours"], int)
    assert clean["note"] == "hola"
    assert check_response(ins, {**mentee, "many": ["x", "x"]}, role=Role.MENTOR)[0].code == "duplicate_option"


def test_scoring_reverses_and_averages() -> None:
    ins = tiny()
    # a=4, b=2 reversed -> 4, c=5: mean (4 + 4 + 5) / 3
    assert score_response(ins, {"a": 4, "b": 2, "c": 5}) == {"sc": pytest.approx(13 / 3)}
    # two of three answered meets the default minimum ceil(3 / 2) = 2
    assert score_response(ins, {"a": 1, "b": 5}) == {"sc": 1.0}
    assert score_response(ins, {"a": 1}) == {"sc": None}
    ids, m = score_matrix(ins, [{"a": 4, "b": 2, "c": 5}, {"a": 1}])
    assert ids == ("sc",) and m[0, 0] == pytest.approx(13 / 3) and math.isnan(m[1, 0])


def test_instrument_definitions_are_checked() -> None:
    with pytest.raises(InstrumentError):
        LikertScale(tuple(T(str(i), str(i)) for i in range(6)))
    with pytest.raises(InstrumentError):
        Text("", "x")
    with pytest.raises(InstrumentError):
        Item(id="x", type=ItemType.NUMERIC, text=T("x", "x"), reverse=True)
    with pytest.raises(InstrumentError):
        Item(id="x", type=ItemType.SINGLE_CHOICE, text=T("x", "x"), options=(_opt("a"),))
    base = tiny()
    with pytest.raises(InstrumentError, match="unknown item"):
        base.revise(subscales=(Subscale(id="z", label=T("z", "z"), items=("nope",)),))
    with pytest.raises(InstrumentError, match="not Likert"):
        base.revise(subscales=(Subscale(id="z", label=T("z", "z"), items=("hours",)),))
    with pytest.raises(InstrumentError, match="duplicate item"):
        base.revise(sections=base.sections * 1 + (Section(id="t", title=T("t", "t"), items=base.sections[0].items[:1]),))


def test_copy_and_revise_keep_the_lineage() -> None:
    original = soft_skills()
    mine = original.copy("unam-soft-skills")
    assert (mine.key, mine.version, mine.derived_from) == ("unam-soft-skills", 1, ("soft-skills", 1))
    v2 = mine.revise(title=T("Habilidades", "Skills"))
    assert (v2.version, v2.derived_from, v2.title.en) == (2, ("soft-skills", 1), "Skills")
    with pytest.raises(InstrumentError):
        mine.revise(version=7)
    data = v2.to_dict()
    assert data["derived_from"] == ["soft-skills", 1]
    assert Instrument.from_dict(data) == v2
    with pytest.raises(InstrumentError):
        Instrument.from_dict({"key": "x"})
