"""A meeting's iCalendar invitation (RFC 5545/5546), built with icalendar.

The UID is the one the sessions service's calendar feed gives the meeting, so
the invitation and the feed describe the same event; SEQUENCE is the meeting's
own counter, which sessions raises on every change. METHOD:REQUEST puts the
meeting in her calendar or moves it; METHOD:CANCEL takes it out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event, vCalAddress, vText


def meeting_uid(meeting_id: str) -> str:
    return f"meeting-{meeting_id}@aliada"


def invitation(*, method: str, meeting_id: str, sequence: int, start: datetime, minutes: int, summary: str,
               organizer: str, organizer_name: str, attendee: str, stamp: datetime) -> bytes:
    if method not in ("REQUEST", "CANCEL"):
        raise ValueError(f"unsupported method {method}")
    cal = Calendar()
    cal.add("prodid", "-//Aliada//notifications//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", meeting_uid(meeting_id))
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", summary)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    host = vCalAddress(f"mailto:{organizer}")
    host.params["cn"] = vText(organizer_name)
    event.add("organizer", host)
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["role"] = vText("REQ-PARTICIPANT")
    guest.params["rsvp"] = vText("FALSE")
    event.add("attendee", guest)
    cal.add_component(event)
    return cal.to_ical()
