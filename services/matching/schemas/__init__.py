"""Request and response models of the matching service."""

from services.matching.schemas.common import PairOut, PairRef
from services.matching.schemas.matches import (
    Dissolution,
    MatchPublic,
    Publication,
    Rematch,
    SubstituteOfferPublic,
    SubstituteOption,
)
from services.matching.schemas.profiles import MissingProfile, ProfilePublic, ProfileUpsert, Slot, UtcSlot
from services.matching.schemas.runs import Adjustments, PairExplanation, RunCreate, RunPublic, RunReport
from services.matching.schemas.settings import SettingsPublic, SettingsUpdate

__all__ = [
    "Adjustments", "Dissolution", "MatchPublic", "MissingProfile", "PairExplanation", "PairOut",
    "PairRef", "ProfilePublic", "ProfileUpsert", "Publication", "Rematch", "RunCreate", "RunPublic", "RunReport",
    "SettingsPublic", "SettingsUpdate", "Slot", "SubstituteOfferPublic", "SubstituteOption", "UtcSlot",
]  # fmt: skip
