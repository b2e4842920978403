"""Why a status cannot change, in words a person can act on."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Refusal:
    """A move the machine does not allow: what to tell the caller, the status
    the record is in, and where it may go instead (when that helps)."""

    detail: str
    current_status: str
    allowed: tuple[str, ...] | None = None

    def facts(self) -> dict[str, Any]:
        """The machine-readable members of the problem that reports it."""
        facts: dict[str, Any] = {"current_status": self.current_status}
        if self.allowed is not None:
            facts["allowed"] = list(self.allowed)
        return facts
