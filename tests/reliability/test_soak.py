"""The soak (``make soak``, tools/soak.py) at a small size: nothing lost, the line scripts read.

30 uploads (photos, broken files, one poison upload) with every delivery doubled and faults on
5% of the functions' AWS calls; the full size runs as ``make soak``.
"""

from __future__ import annotations

import re

import pytest

from tests.support.stack import Pipeline
from tools.soak import SoakConfig, run_soak

pytestmark = pytest.mark.e2e

LINE = re.compile(
    r"^soak: uploads=(\d+) indexed=(\d+) rejected=(\d+) dlq=(\d+) lost=(\d+) "
    r"p50=(\d+\.\d)s p95=(\d+\.\d)s rate=(\d+\.\d)/s$"
)


def test_a_small_soak_loses_nothing_and_reports_in_the_agreed_format(stack: Pipeline) -> None:
    config = SoakConfig(uploads=30, timeout=180)
    good, bad, poison = config.counts()

    result = run_soak(stack, config)

    line = result.line()
    print(line)
    match = LINE.match(line)
    assert match, line
    uploads, indexed, rejected, dlq, lost = (int(match.group(n)) for n in range(1, 6))
    assert (uploads, lost) == (30, 0)
    assert (indexed, rejected, dlq) == (good, bad, poison)
    assert result.misplaced == []
    assert result.report.exact, result.report.unaccounted
    assert sum(result.faults.values()) > 0, "no fault was injected"
    assert result.duplicated_rules >= 4
    assert float(match.group(6)) <= float(match.group(7))
