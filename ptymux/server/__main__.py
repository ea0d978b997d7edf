"""``python -m ptymux.server``: how a client starts the daemon (see daemon.py)."""

import sys

from ptymux.server.daemon import main

raise SystemExit(main(sys.argv[1:]))
