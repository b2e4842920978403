"""Notifications over the whole platform: real processes, real HTTP, real SMTP.

Applicants sign up at the gateway and apply; the notifications service reads the
participants feed, asks participants how to reach each one, and mails her in her
language over SMTP to a server on a loopback port, which the test reads back. Her
inbox is hers alone (another person's is a 404); the one-click unsubscribe works
through the gateway without a token; and a mail server outage followed by a
restart of the notifications service loses nothing and sends nothing twice.
"""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from datetime import date
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from aiosmtpd.controller import Controller

from services.matching.tests.conftest import application_form
from services.participants.tests.conftest import phases
from tests.journeys import PASSWORD, Client, login, university, wait_for
from tools.stack import Stack

# Played on PostgreSQL too (scripts/run-tests): exactly-once deliveries claim their rows with SKIP LOCKED, on PostgreSQL only (servicekit.jobs).
pytestmark = [pytest.mark.e2e, pytest.mark.production_database]


class Mailbox:
    def __init__(self) -> None:
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 Message accepted"

    def to_institution(self, name: str) -> list[EmailMessage]:
        return [m for m in self.received if str(m["From"]).startswith(name)]


class MailServer:
    def __init__(self, port: int) -> None:
        self.mailbox = Mailbox()
        self.port = port
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture(scope="module")
def mail(stack: Stack) -> Iterator[MailServer]:
    server = MailServer(stack.smtp_port)
    server.start()
    yield server
    server.stop()


def program(coordinator: Client, institution_id: str) -> str:
    body = {"name": "Mentoras STEM", "description": "Programa de mentoría.", "languages": ["es", "en"], "mode": "one_to_one",
            "delivery": "hybrid", "phases": phases(date.today()), "criteria": [],
            "privacy_notice": {"version": "2026-1", "text": "Aviso de privacidad del programa de mentoría."}}
    created = coordinator.ok("POST", f"/v1/institutions/{institution_id}/programs", 201, json=body)
    coordinator.ok("POST", f"/v1/programs/{created['id']}/transitions", json={"to": "call_open"})
    return str(created["id"])


def apply(http: httpx.Client, institution_id: str, program_id: str, n: int, language: str) -> tuple[Client, dict[str, Any]]:
    address = f"persona-{n}-{uuid.uuid4().hex[:6]}@uni.example.org"
    Client(http, None).ok("POST", "/v1/auth/signup", 202, json={"email": address, "password": PASSWORD, "institution_id": institution_id})
    person = Client(http, login(http, address), f"applicant-{n}")
    form = {**application_form("mentee", n), "email": address, "preferred_language": language}
    application = person.ok("POST", "/v1/applications", 201, json={"program_id": program_id, "role": "mentee", **form})
    person.ok("POST", f"/v1/applications/{application['id']}/submit")
    return person, application


def test_applicants_are_mailed_in_their_language_and_read_only_their_own_inbox(
        stack: Stack, http: httpx.Client, admin_token: str, mail: MailServer) -> None:
    iid, coordinator, _, _ = university(http, Client(http, admin_token, "admin"), campuses=1, units_per_campus=1)
    name = coordinator.ok("GET", f"/v1/institutions/{iid}")["name"]
    program_id = program(coordinator, iid)
    ana, _ = apply(http, iid, program_id, 1, "es")
    bea, _ = apply(http, iid, program_id, 2, "en")

    received = wait_for(lambda: len(mail.mailbox.to_institution(name)) == 2 and mail.mailbox.to_institution(name), "two messages")
    subjects = sorted(str(m["Subject"]) for m in received)
    assert subjects == ["Recibimos tu postulación", "We received your application"]
    spanish = next(m for m in received if m["Content-Language"] == "es")
    assert spanish["To"].startswith("Persona 1 <persona-1-") and spanish["Message-ID"] and spanish["Date"]
    body = {p.get_content_type(): p.get_content() for p in spanish.walk() if not p.is_multipart()}
    assert set(body) == {"text/plain", "text/html"} and "Hola, Persona 1:" in body["text/plain"]

    mine = ana.ok("GET", "/v1/notifications/mine")["items"]
    assert [n["kind"] for n in mine] == ["application_received"]
    assert bea.post(f"/v1/notifications/mine/{mine[0]['id']}/read").status_code == 404
    assert coordinator.post(f"/v1/notifications/mine/{mine[0]['id']}/read").status_code == 404
    assert ana.ok("POST", f"/v1/notifications/mine/{mine[0]['id']}/read")["read_at"]
    assert Client(http, None).get("/v1/notifications/mine").status_code == 401
    sent = coordinator.ok("GET", f"/v1/notifications/institutions/{iid}/deliveries", params={"status": "sent"})["items"]
    assert len(sent) == 2

    # One click, no token, through the gateway: Ana stops "application received" messages.
    link = urlsplit(str(spanish["List-Unsubscribe"]).strip("<>"))
    assert spanish["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    answer = http.post(f"{link.path}?{link.query}", content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200 and answer.json() == {"kind": "application_received", "setting": "off"}
    prefs = {p["kind"]: p["setting"] for p in ana.ok("GET", "/v1/notifications/preferences")}
    assert prefs["application_received"] == "off"


def test_a_mail_server_outage_and_a_restart_lose_nothing_and_send_nothing_twice(
        stack: Stack, http: httpx.Client, admin_token: str, mail: MailServer) -> None:
    iid, coordinator, _, _ = university(http, Client(http, admin_token, "admin"), campuses=1, units_per_campus=1)
    name = coordinator.ok("GET", f"/v1/institutions/{iid}")["name"]
    program_id = program(coordinator, iid)

    mail.stop()
    try:
        apply(http, iid, program_id, 3, "es")

        def tried() -> list[dict[str, Any]]:
            listed = coordinator.ok("GET", f"/v1/notifications/institutions/{iid}/deliveries")["items"]
            return listed if listed and all(d["attempts"] >= 1 and d["status"] == "pending" for d in listed) else []

        [pending] = wait_for(tried, "a delivery tried while the mail server is down")
        assert "unreachable" in pending["last_error"]
        stack.stop_app("notifications")
        stack.start_app("notifications")
        stack.wait_healthy(names=["notifications"])
    finally:
        mail.start()
    [message] = wait_for(lambda: mail.mailbox.to_institution(name), "the message once the mail server is back")
    # A later message proves the restarted service is sending; the first was not sent again.
    apply(http, iid, program_id, 4, "es")
    wait_for(lambda: len(mail.mailbox.to_institution(name)) >= 2, "the second applicant's message")
    received = mail.mailbox.to_institution(name)
    assert len(received) == 2 and len({m["Message-ID"] for m in received}) == 2
    listed = coordinator.ok("GET", f"/v1/notifications/institutions/{iid}/deliveries")["items"]
    assert sorted(d["status"] for d in listed) == ["sent", "sent"]
    assert message["Message-ID"] == f"<{pending['id']}@aliada.local>"
