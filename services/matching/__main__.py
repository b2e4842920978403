"""``python -m services.matching migrate`` applies this service's migrations."""

import sys

from services.matching.db import migrate

if __name__ == "__main__":
    if sys.argv[1:] != ["migrate"]:
        sys.exit("usage: python -m services.matching migrate")
    migrate()
