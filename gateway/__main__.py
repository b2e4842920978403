"""``python -m gateway migrate`` applies the gateway's migrations."""

import sys

from gateway.db import migrate

if __name__ == "__main__":
    if sys.argv[1:] != ["migrate"]:
        sys.exit("usage: python -m gateway migrate")
    migrate()
