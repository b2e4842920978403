"""``python -m services.notifications migrate`` applies this service's migrations."""

import sys

from services.notifications.db import migrate

if __name__ == "__main__":
    if sys.argv[1:] != ["migrate"]:
        sys.exit("usage: python -m services.notifications migrate")
    migrate()
