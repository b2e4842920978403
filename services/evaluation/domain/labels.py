"""The report's words for its figures: msgids in English, translated by the
catalogs (:mod:`.i18n`) when the page is drawn."""

from __future__ import annotations

from .i18n import N_

STAGE_LABELS: dict[str, str] = {
    "applied": N_("Applied"),
    "selected": N_("Selected"),
    "confirmed": N_("Confirmed"),
    "trained": N_("Trained"),
    "matched": N_("Matched"),
    "completed": N_("Completed"),
}

FEEDBACK_BUCKETS: tuple[tuple[str, str, int, int], ...] = (
    ("on_time", N_("On time"), -10**9, 0),
    ("late_1_3", N_("1–3 days late"), 1, 3),
    ("late_4_7", N_("4–7 days late"), 4, 7),
    ("late_8_14", N_("8–14 days late"), 8, 14),
    ("late_15", N_("Over 14 days late"), 15, 10**9),
)
NOT_SUBMITTED = N_("Not submitted")

BAND_NAMES: dict[int, tuple[str, ...]] = {
    2: (N_("Disagree ({points})"), N_("Agree ({points})")),
    3: (N_("Disagree ({points})"), N_("Neutral ({points})"), N_("Agree ({points})")),
}
