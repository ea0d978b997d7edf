"""``python -m ptymux``: the same entry point as the ``ptymux`` console script."""

from ptymux.cli import main

raise SystemExit(main())
