"""``python -m tools.runtime``: the runtime's command line (``cli.py``)."""

from __future__ import annotations

import sys

from tools.runtime.cli import main

if __name__ == "__main__":
    sys.exit(main())
