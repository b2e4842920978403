"""Finding 9 (issue 14) over real HTTP: an account signs up as ``applicant``;
once the participants service confirms her as a mentee (or a mentor) the
gateway reads ``participant.confirmed`` on its feed and her next token carries
that role and no longer ``applicant``; withdrawn, her next token is an
applicant's again. Another institution's people and the coordinator are not
touched."""

import time

import httpx

from tests.journeys import PASSWORD, Client, confirmed_cohort, login


def _roles_of_next_token(http: httpx.Client, email: str) -> list[str]:
    return Client(http, login(http, email)).ok("GET", "/v1/auth/me")["roles"]


def wait_for_roles(http: httpx.Client, email: str, roles: list[str], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while (got := _roles_of_next_token(http, email)) != roles:
        assert time.monotonic() < deadline, f"{email}: roles {got}, expected {roles}"
        time.sleep(0.3)


def test_confirmation_gives_her_next_token_the_role_and_withdrawal_takes_it_back(http: httpx.Client, admin_token: str) -> None:
    admin = Client(http, admin_token, "admin")
    cohort = confirmed_cohort(http, admin, [("mentor", 0, 0), ("mentee", 0, 0)])
    other = confirmed_cohort(http, admin, [("mentee", 0, 0)])
    mentee, mentor = cohort.mentees[0].client, cohort.mentors[0].client
    emails = {}
    for name, person in (("mentee", mentee), ("mentor", mentor), ("other", other.mentees[0].client)):
        emails[name] = person.ok("GET", "/v1/auth/me")["email"]
        # the token she holds was issued before the confirmation: still an applicant's
        assert person.ok("GET", "/v1/auth/me")["roles"] == ["applicant"]
    wait_for_roles(http, emails["mentee"], ["mentee"])
    wait_for_roles(http, emails["mentor"], ["mentor"])
    wait_for_roles(http, emails["other"], ["mentee"])
    assert cohort.coordinator.ok("GET", "/v1/auth/me")["roles"] == ["coordinator"]

    # She withdraws: her membership ends, and so does the role (an applicant again: she may apply elsewhere).
    application = mentee.ok("GET", "/v1/applications")["items"][0]
    mentee.ok("POST", f"/v1/applications/{application['id']}/withdraw", json={"reason": "Cambio de adscripción."})
    wait_for_roles(http, emails["mentee"], ["applicant"])
    assert _roles_of_next_token(http, emails["mentor"]) == ["mentor"]
    assert _roles_of_next_token(http, emails["other"]) == ["mentee"]
    # a refresh reads the account's roles again, as a login does
    tokens = http.post("/v1/auth/token", data={"grant_type": "password", "username": emails["mentor"], "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    refreshed = http.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert Client(http, refreshed.json()["access_token"]).ok("GET", "/v1/auth/me")["roles"] == ["mentor"]
