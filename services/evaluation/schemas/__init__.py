"""Request and response schemas of the evaluation service."""

from services.evaluation.schemas.administrations import *  # noqa: F403
from services.evaluation.schemas.common import *  # noqa: F403
from services.evaluation.schemas.instruments import *  # noqa: F403
from services.evaluation.schemas.interviews import *  # noqa: F403
from services.evaluation.schemas.reports import *  # noqa: F403
