from servicekit.migrations import run_env

from gateway.config import Settings
from gateway.models import Base
import gateway.webhooks.models  # noqa: F401  (the webhook tables, on the same metadata)
import gateway.sso.models  # noqa: F401  (the single sign-on tables, on the same metadata)
import gateway.scim.models  # noqa: F401  (the SCIM tables, on the same metadata)
import gateway.audit  # noqa: F401  (the audit trail, on the same metadata)
import gateway.participant_roles  # noqa: F401  (participant roles from the participants feed, on the same metadata)

run_env(Base.metadata, default_url=lambda: Settings().effective_database_url)
