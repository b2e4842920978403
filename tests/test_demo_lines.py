"""What `make demo` prints from the platform's answers: the weekly digest in one line."""

from __future__ import annotations

from tools.demo.play import Dyad, digest_line


def _digest(**counts: int) -> dict:
    base = dict.fromkeys(("active", "flagged", "red", "new_flags", "escalations", "recoveries", "eased", "ended",
                          "without_meeting"), 0)
    base.update(counts)
    lists = {k: [] for k in ("new_flags", "escalations", "recoveries", "eased", "ended", "without_meeting")}
    return {"counts": base, **lists}


def test_a_quiet_week_is_its_counts_alone() -> None:
    assert digest_line(_digest(active=14), None) == "14 active, 0 flagged (0 red)"


def test_a_week_names_what_changed_why_and_the_dyad_that_will_break() -> None:
    lost = Dyad(match={"id": "d-1"}, mentee=None, mentor=None, level=3.9)  # type: ignore[arg-type]
    digest = _digest(active=14, flagged=2, red=1, new_flags=2, without_meeting=1)
    digest["new_flags"] = [{"dyad_id": "d-1", "summary": "Act now: ratings falling."},
                           {"dyad_id": "d-2", "summary": "Watch: ratings falling."}]
    digest["without_meeting"] = [{"dyad_id": "d-3"}]
    line = digest_line(digest, lost)
    assert line == ("14 active, 2 flagged (1 red); new 2 incl. the dyad that will break (ratings falling x2); "
                    "no meeting held 1"), line
