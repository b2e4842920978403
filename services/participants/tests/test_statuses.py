"""The status machines of the pure core (``domain``): which moves each allows,
and what a refusal says."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.participants.domain import applications, memberships, programs
from services.participants.enums import ApplicationStatus as S
from services.participants.enums import MembershipStatus as M
from services.participants.enums import ProgramStatus as P

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=3)

# ---------------------------------------------------------------------------
# Applications


@pytest.mark.parametrize(
    ("action", "status", "target"),
    [
        ("submit", S.draft, None),
        ("decide", S.submitted, S.accepted),
        ("decide", S.submitted, S.waitlisted),
        ("decide", S.submitted, S.rejected),
        ("decide", S.waitlisted, S.accepted),
        ("decide", S.waitlisted, S.rejected),
        ("invite", S.accepted, None),
        ("decline", S.invited, None),
        ("confirm", S.invited, None),
        *[("withdraw", s, None) for s in (S.draft, S.submitted, S.accepted, S.waitlisted, S.invited, S.confirmed)],
    ],
)
def test_the_moves_an_application_may_make(action: applications.Action, status: S, target: S | None) -> None:
    assert applications.refusal(action, status, LATER, NOW, target) is None


def test_every_status_but_the_final_ones_can_be_left() -> None:
    leavable = {s for moves in applications.TRANSITIONS.values() for s in moves}
    assert leavable == set(S) - applications.FINAL


@pytest.mark.parametrize("status", [S.rejected, S.declined, S.withdrawn])
def test_a_final_application_says_so(status: S) -> None:
    refused = applications.refusal("withdraw", status, None, NOW)
    assert refused is not None
    assert (refused.detail, refused.facts()) == (f"The application is {status}: that is final", {"current_status": status})


def test_an_action_from_the_wrong_status_names_where_it_is_allowed_from() -> None:
    refused = applications.refusal("decide", S.draft, None, NOW)
    assert refused is not None
    assert refused.detail == "Cannot decide an application in draft; only from: submitted, waitlisted"
    assert refused.current_status == "draft"


def test_a_decision_the_status_does_not_allow_names_the_target() -> None:
    refused = applications.refusal("decide", S.waitlisted, None, NOW, S.waitlisted)
    assert refused is not None and refused.detail == "An application in waitlisted cannot become waitlisted"


def test_an_invitation_past_its_deadline_is_expired_and_can_no_longer_be_confirmed() -> None:
    assert applications.effective_status(S.invited, NOW, NOW) == S.expired
    assert applications.effective_status(S.invited, NOW + timedelta(seconds=1), NOW) == S.invited
    refused = applications.refusal("confirm", S.invited, NOW - timedelta(hours=1), NOW)
    assert refused is not None
    assert refused.detail == f"The invitation expired at {(NOW - timedelta(hours=1)).isoformat()}"
    assert refused.current_status == "expired"


def test_a_written_down_expiry_is_final() -> None:
    refused = applications.refusal("confirm", S.expired, NOW - timedelta(hours=1), NOW)
    assert refused is not None and refused.detail == "The application is expired: that is final"


def test_eligibility_is_overridable_exactly_while_a_decision_is_open() -> None:
    assert applications.OVERRIDABLE == {S.submitted, S.waitlisted}


def test_she_holds_the_role_staff_assigned_else_the_one_she_sought() -> None:
    assert applications.role_of("mentor", None) == "mentor"
    assert applications.role_of("mentor", "mentee") == "mentee"


# ---------------------------------------------------------------------------
# Programs


def test_a_program_moves_forward_one_step_at_a_time_to_closed() -> None:
    status, seen = P.draft, [P.draft]
    while status in programs.NEXT:
        assert programs.refusal(status, programs.NEXT[status]) is None
        status = programs.NEXT[status]
        seen.append(status)
    assert seen == list(P)


def test_a_program_cannot_skip_or_go_back_and_is_told_where_it_may_go() -> None:
    refused = programs.refusal(P.selection, P.matching)
    assert refused is not None
    assert refused.detail == "A program in selection can only move to training, not to matching"
    assert refused.facts() == {"current_status": "selection", "allowed": ["training"]}
    back = programs.refusal(P.selection, P.call_open)
    assert back is not None and back.allowed == ("training",)


def test_a_program_does_not_move_to_where_it_is_nor_out_of_closed() -> None:
    same = programs.refusal(P.training, P.training)
    assert same is not None and same.facts() == {"current_status": "training"}
    assert same.detail == "The program is already in training"
    closed = programs.refusal(P.closed, P.draft)
    assert closed is not None and closed.detail == "The program is closed: its status cannot change any more"


def test_peer_programs_take_peer_mentors_and_the_others_mentors() -> None:
    assert programs.roles_offered("peer") == ["peer_mentor", "mentee"]
    assert [programs.roles_offered(mode) for mode in ("one_to_one", "group", "reciprocal")] == [["mentor", "mentee"]] * 3


def test_the_call_closes_at_the_end_of_its_last_day_in_the_institutions_time_zone() -> None:
    # Mexico City is UTC-6 all year; Madrid is UTC+2 in summer.
    assert programs.call_closes_at(date(2026, 3, 14), "America/Mexico_City") == datetime(2026, 3, 15, 6, tzinfo=UTC)
    assert programs.call_closes_at(date(2026, 7, 31), "Europe/Madrid") == datetime(2026, 7, 31, 22, tzinfo=UTC)


def test_the_call_takes_applications_while_open_and_before_it_closes() -> None:
    assert programs.call_closed_because(P.call_open, None, NOW) is None
    assert programs.call_closed_because(P.call_open, NOW + timedelta(seconds=1), NOW) is None
    assert programs.call_closed_because(P.call_open, NOW, NOW) == f"The call closed at {NOW.isoformat()}"
    assert programs.call_closed_because(P.selection, LATER, NOW) == (
        "The program's call is not open (the program is in selection)"
    )


def test_selection_and_confirmation_windows_sit_inside_the_program_s_life() -> None:
    assert programs.SELECTING == {P.call_open, P.selection}
    assert programs.SELECTING < programs.CONFIRMABLE
    assert P.mentoring not in programs.CONFIRMABLE and P.draft not in programs.CONFIRMABLE
    assert programs.CRITERIA_EDITABLE == {P.draft, P.call_open, P.selection}


# ---------------------------------------------------------------------------
# Memberships


@pytest.mark.parametrize(
    ("status", "to", "allowed"),
    [
        (M.active, M.substitute, True),
        (M.active, M.withdrawn, True),
        (M.active, M.completed, True),
        (M.substitute, M.active, True),
        (M.substitute, M.withdrawn, True),
        (M.substitute, M.completed, False),
        (M.active, M.active, False),
        (M.withdrawn, M.active, False),
        (M.completed, M.withdrawn, False),
    ],
)
def test_the_moves_a_membership_may_make(status: M, to: M, allowed: bool) -> None:
    assert (memberships.refusal(status, to) is None) is allowed


def test_a_refused_membership_move_lists_what_is_allowed() -> None:
    refused = memberships.refusal(M.substitute, M.completed)
    assert refused is not None
    assert refused.detail == "A membership that is substitute cannot become completed; allowed: active, withdrawn"
    final = memberships.refusal(M.completed, M.active)
    assert final is not None and final.detail.endswith("allowed: nothing (final)")


def test_a_withdrawal_ends_the_places_still_held_and_members_are_those_not_withdrawn() -> None:
    assert memberships.WITHDRAWABLE == {M.active, M.substitute}
    assert set(memberships.CURRENT) == set(M) - {M.withdrawn}
