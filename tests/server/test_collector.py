"""``mockpanel serve``'s garbage collector after start-up (_server/collector.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from mockpanel._server.collector import YOUNG

# In a process of its own: freezing the test process would freeze everything pytest has built.
_SCRIPT = """
import gc, json
from mockpanel._server.collector import freeze_startup
before = gc.get_threshold()
freeze_startup()
print(json.dumps([before, gc.get_threshold(), gc.get_freeze_count()]))
"""


def test_freeze_startup_freezes_and_collects_the_young_generation_less_often() -> None:
    done = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    before, after, frozen = json.loads(done.stdout)
    assert frozen > 0
    assert YOUNG > before[0]  # larger than the interpreter's own (700)
    assert after == [YOUNG, before[1], before[2]]  # the older generations' thresholds as they were
