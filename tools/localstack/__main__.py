"""``python -m tools.localstack up|stop|down|status|deploy|plan`` (see tools.localstack.driver)."""

from __future__ import annotations

import sys

from tools.localstack.driver import main

if __name__ == "__main__":
    sys.exit(main())
