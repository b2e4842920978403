"""The words and parts of one message: a subject, a plain-text part and an HTML part.

Every word comes from the gettext catalogs (``locale/<lang>/LC_MESSAGES/messages.po``,
msgids in English, ``%(name)s`` placeholders): the per-kind sentences here, the
layout words in the two templates. Babel compiles the ``.po`` files in memory
on first use (``load`` at start-up checks them), as the evaluation service does.
Dates are written in her language and her time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_time, get_timezone_location
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from servicekit.catalogs import Catalogs

from services.notifications.enums import OBLIGATIONS, MessageKind

SERVICE_DIR = Path(__file__).resolve().parent.parent
LOCALE_DIR = SERVICE_DIR / "locale"
TEMPLATES_DIR = SERVICE_DIR / "templates"
DOMAIN = "messages"
LANGUAGES = ("es", "en")


CATALOGS = Catalogs(LOCALE_DIR, LANGUAGES, DOMAIN)
catalog_path = CATALOGS.path
translations = CATALOGS.translations


@cache
def environment(lang: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), extensions=["jinja2.ext.i18n"], undefined=StrictUndefined,
                      autoescape=select_autoescape(["html.j2"]), trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def load() -> None:
    """Compile both catalogs and the templates now, so a broken one fails at start-up."""
    for lang in LANGUAGES:
        environment(lang).get_template("message.txt.j2")
        environment(lang).get_template("message.html.j2")


def language(*candidates: str | None) -> str:
    """The first of ``candidates`` with a catalog (her language, then the institution's); else Spanish."""
    for lang in candidates:
        if lang and lang.lower()[:2] in LANGUAGES:
            return lang.lower()[:2]
    return "es"


def zone(*candidates: str | None) -> ZoneInfo:
    for name in candidates:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


@dataclass(frozen=True)
class Recipient:
    name: str | None
    lang: str
    tz: ZoneInfo


@dataclass(frozen=True)
class Composed:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Context:
    """What a message may say beyond its facts: names and links, looked up when it is sent."""

    institution: str
    counterpart: str | None = None
    action_url: str | None = None
    unsubscribe_url: str | None = None


class Words:
    def __init__(self, lang: str, tz: ZoneInfo) -> None:
        self.lang, self.tz = lang, tz
        self.t = translations(lang)

    def __call__(self, msgid: str, **fields: Any) -> str:
        text = self.t.gettext(msgid)
        return text % fields if fields else text

    def when(self, value: str) -> str:
        moment = datetime.fromisoformat(value).astimezone(self.tz)
        place = "UTC" if self.tz.key == "UTC" else get_timezone_location(self.tz, locale=self.lang)
        return f"{format_date(moment, 'full', locale=self.lang)} {format_time(moment, 'short', locale=self.lang)} ({place})"

    def day(self, value: str) -> str:
        """A calendar day (``YYYY-MM-DD``), which has no time zone."""
        return format_date(date.fromisoformat(value), "full", locale=self.lang)


def N_(msgid: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks ``msgid`` for extraction; translated where it is used."""
    return msgid


LABELS: dict[MessageKind, str] = {
    MessageKind.application_received: N_("Application received"),
    MessageKind.selected: N_("Selected"),
    MessageKind.confirm_reminder: N_("Confirm your place"),
    MessageKind.not_selected: N_("Not selected"),
    MessageKind.match_announced: N_("Your match"),
    MessageKind.meeting_proposed: N_("Meeting proposed"),
    MessageKind.meeting_rescheduled: N_("Meeting moved"),
    MessageKind.meeting_cancelled: N_("Meeting cancelled"),
    MessageKind.meeting_tomorrow: N_("Meeting tomorrow"),
    MessageKind.feedback_due: N_("Feedback form due"),
    MessageKind.feedback_overdue: N_("Feedback form overdue"),
    MessageKind.milestone_to_confirm: N_("Milestone to confirm"),
    MessageKind.program_completed: N_("Program completed"),
    MessageKind.digest: N_("Digest"),
}
"""A short name of each kind, as a digest lists them."""


def _counterpart(w: Words, facts: dict[str, Any], name: str | None) -> str:
    if name:
        return name
    return w("your mentor") if facts.get("role") == "mentee" else w("your mentee")


def _sentences(kind: MessageKind, w: Words, facts: dict[str, Any], ctx: Context) -> tuple[str, list[str], str | None]:
    """Subject, paragraphs and the action's label."""
    n, other = facts.get("number"), _counterpart(w, facts, ctx.counterpart)
    if kind is MessageKind.application_received:
        return (w("We received your application"),
                [w("Your application has been received. We will write to you again when the selection is decided.")], None)
    if kind is MessageKind.selected:
        return (w("You have been selected: confirm your place"),
                [w("You have been selected for the program."),
                 w("Please confirm your place before %(deadline)s.", deadline=w.when(facts["confirm_by"]))],
                w("Confirm my place"))
    if kind is MessageKind.confirm_reminder:
        return (w("Reminder: confirm your place"),
                [w("Your place in the program is waiting for you."),
                 w("Please confirm your place before %(deadline)s.", deadline=w.when(facts["confirm_by"]))],
                w("Confirm my place"))
    if kind is MessageKind.not_selected:
        return (w("About your application"),
                [w("Thank you for applying. This time you have not been selected for the program.")], None)
    if kind is MessageKind.match_announced:
        line = w("Your mentor is %(name)s.", name=other) if facts.get("role") == "mentee" else w("Your mentee is %(name)s.", name=other)
        return (w("Your mentoring match"), [line, w("Your meetings will be proposed to you in separate messages.")],
                w("See the public profile") if ctx.action_url else None)
    if kind is MessageKind.meeting_proposed:
        return (w("Meeting %(number)s proposed: %(when)s", number=n, when=w.when(facts["start"])),
                [w("Meeting %(number)s with %(name)s is proposed for %(when)s (%(minutes)s minutes).",
                   number=n, name=other, when=w.when(facts["start"]), minutes=facts.get("duration_minutes")),
                 w("The attached invitation adds it to your calendar.")], None)
    if kind is MessageKind.meeting_rescheduled:
        moved = [w("Meeting %(number)s with %(name)s has moved to %(when)s.", number=n, name=other, when=w.when(facts["start"]))]
        if facts.get("previous_start"):
            moved.append(w("It was planned for %(when)s.", when=w.when(facts["previous_start"])))
        return (w("Meeting %(number)s moved to %(when)s", number=n, when=w.when(facts["start"])),
                [*moved, w("The attached invitation updates your calendar.")], None)
    if kind is MessageKind.meeting_cancelled:
        return (w("Meeting %(number)s cancelled", number=n),
                [w("Meeting %(number)s with %(name)s, planned for %(when)s, has been cancelled.",
                   number=n, name=other, when=w.when(facts["start"])),
                 w("The attached cancellation removes it from your calendar.")], None)
    if kind is MessageKind.meeting_tomorrow:
        return (w("Tomorrow: meeting %(number)s", number=n),
                [w("A reminder: meeting %(number)s with %(name)s is on %(when)s.", number=n, name=other, when=w.when(facts["start"]))],
                None)
    if kind is MessageKind.feedback_due:
        return (w("Your feedback form for meeting %(number)s", number=n),
                [w("Please fill in the feedback form for meeting %(number)s before %(deadline)s.", number=n,
                   deadline=w.when(facts["due_at"]))], w("Open my forms"))
    if kind is MessageKind.feedback_overdue:
        return (w("Your feedback form is overdue"),
                [w("The feedback form for one of your meetings was due on %(deadline)s.", deadline=w.when(facts["due_at"])),
                 w("Please send it as soon as you can.")], w("Open my forms"))
    if kind is MessageKind.milestone_to_confirm:
        reported = (w("%(name)s reported a milestone of her objective met on %(day)s.", name=other, day=w.day(facts["met_on"]))
                    if facts.get("met_on") else w("%(name)s reported a milestone of her objective met.", name=other))
        return (w("A milestone to confirm"),
                [reported, w("Please look at her evidence, then confirm the milestone or return it to her.")],
                w("Review the milestone"))
    if kind is MessageKind.program_completed:
        return (w("Your mentoring program is complete"),
                [w("You and %(name)s have completed the mentoring program.", name=other),
                 w("Thank you for taking part.")], None)
    if kind is MessageKind.digest:
        counts = facts.get("counts", {})
        lines = [w("%(label)s: %(count)s", label=w(LABELS[MessageKind(k)]), count=n) for k, n in counts.items()]
        return (w("Your messages of the last days"),
                [w("You have %(count)s new messages in your inbox:", count=sum(counts.values())), *lines], w("Open my inbox"))
    raise ValueError(f"no words for {kind}")


def compose(kind: MessageKind, facts: dict[str, Any], to: Recipient, ctx: Context) -> Composed:
    w = Words(to.lang, to.tz)
    subject, paragraphs, action = _sentences(kind, w, facts, ctx)
    obligation = OBLIGATIONS.get(kind)
    values = {
        "name": to.name, "paragraphs": paragraphs, "action": action if ctx.action_url else None, "action_url": ctx.action_url,
        "institution": ctx.institution, "obligation": w(obligation) if obligation else None,
        "unsubscribe_url": None if obligation else ctx.unsubscribe_url,
    }
    env = environment(to.lang)
    return Composed(subject=subject, text=env.get_template("message.txt.j2").render(values),
                    html=env.get_template("message.html.j2").render(values, subject=subject))
