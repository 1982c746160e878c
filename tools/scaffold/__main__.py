from __future__ import annotations

import sys

from tools.scaffold.generate import main

sys.exit(main())
