"""``python -m tools.cli``: the same as ``mediactl``."""

from __future__ import annotations

import sys

from tools.cli.main import main

sys.exit(main())
