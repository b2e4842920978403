"""Request and response models of the sessions API."""

from services.sessions.schemas.common import *  # noqa: F403
from services.sessions.schemas.dyads import *  # noqa: F403
from services.sessions.schemas.meetings import *  # noqa: F403
from services.sessions.schemas.work import *  # noqa: F403
