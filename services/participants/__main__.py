"""Commands of the participants service.

``python -m services.participants migrate`` applies this service's migrations.
``python -m services.participants expire-invitations`` writes down every
invitation past its deadline, in every institution (``application.expired``
events included). Run it from cron or a Kubernetes CronJob: it is idempotent
and safe to run on several replicas at once (see ``selection.expire_due``).
"""

import sys

from sqlmodel import Session

from servicekit.db import make_engine

from services.participants.config import Settings
from services.participants.db import migrate


def expire_invitations() -> int:
    from services.participants.selection import expire_due

    engine = make_engine(Settings().effective_database_url, pool_size=1, max_overflow=0)
    try:
        with Session(engine) as session:
            expired = expire_due(session)
            session.commit()
            return len(expired)
    finally:
        engine.dispose()


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["migrate"]:
            migrate()
        case ["expire-invitations"]:
            print(f"expired {expire_invitations()} invitation(s)")
        case _:
            sys.exit("usage: python -m services.participants migrate | expire-invitations")
