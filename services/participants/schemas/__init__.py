"""Request and response shapes of the participants service, one module per
sub-domain (``common`` holds the shared field types and model bases). Import
from here: every public name of the modules is re-exported."""

from services.participants.schemas.applications import *  # noqa: F403
from services.participants.schemas.common import *  # noqa: F403
from services.participants.enums import *  # noqa: F403
from services.participants.schemas.institutions import *  # noqa: F403
from services.participants.schemas.people import *  # noqa: F403
from services.participants.schemas.programs import *  # noqa: F403
from services.participants.schemas.roster import *  # noqa: F403
from services.participants.schemas.training import *  # noqa: F403
from services.participants.schemas.xapi import *  # noqa: F403
