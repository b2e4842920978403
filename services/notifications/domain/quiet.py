"""Quiet hours: a daily period, in the recipient's own time zone, when no e-mail goes out.

A period ``HH:MM-HH:MM`` may cross midnight (``21:00-08:00``: from nine in the
evening until eight the next morning). ``until`` says when a moment inside the
period stops being quiet, as a wall-clock time in her zone (on a day whose clock
changes, the zone's rules decide what that local time is).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time

    @classmethod
    def parse(cls, spec: str) -> QuietHours | None:
        """``"HH:MM-HH:MM"``; an empty text is no quiet hours; anything else is a ValueError."""
        spec = spec.strip()
        if not spec:
            return None
        first, sep, second = spec.partition("-")
        if not sep:
            raise ValueError(f"quiet hours are written HH:MM-HH:MM, not {spec!r}")
        start, end = time.fromisoformat(first.strip()), time.fromisoformat(second.strip())
        if start == end:
            raise ValueError(f"quiet hours that start and end at {start:%H:%M} are no period")
        return cls(start, end)

    def _inside(self, clock: time) -> bool:
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end  # across midnight

    def until(self, moment: datetime, tz: ZoneInfo) -> datetime | None:
        """When the quiet period ``moment`` falls in ends (in ``moment``'s own zone); None outside quiet hours."""
        local = moment.astimezone(tz)
        clock = local.time().replace(tzinfo=None)
        if not self._inside(clock):
            return None
        day = local.date() if clock < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=tz).astimezone(moment.tzinfo)
