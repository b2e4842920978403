"""``make run``'s mail server (tools/mailsink.py): it takes mail over SMTP on loopback and keeps each
message, whole, as an .eml file under its directory; it stops cleanly on TERM."""

from __future__ import annotations

import email
import email.policy
import smtplib
import socket
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from tests.journeys import wait_for

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def test_each_message_is_kept_as_an_eml_file(tmp_path: Path) -> None:
    port, mail = _free_port(), tmp_path / "mail"
    proc = subprocess.Popen([sys.executable, "-m", "tools.mailsink", "--smtp-port", str(port), str(mail)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: _listening(port), "the mail server to listen")
        for n in (1, 2):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "a@aliada.test", "b@uni.test", f"Reunión {n}"
            message.set_content("Hola")
            with smtplib.SMTP("127.0.0.1", port) as client:
                client.send_message(message)
        files = wait_for(lambda: sorted(mail.glob("*.eml")) if len(list(mail.glob("*.eml"))) == 2 else None, "two files")
        subjects = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["Subject"] for f in files]
        assert subjects == ["Reunión 1", "Reunión 2"]
        assert not list(mail.glob("*.tmp"))
    finally:
        proc.terminate()
        assert proc.wait(timeout=30) == 0
