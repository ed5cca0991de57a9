"""Named fault points, so tests can kill a real run at an exact moment (a shard half written, a clustering
half stored) and prove that the re-run repairs it.

Off unless ``BABELSCOPE_FAILPOINT`` is set: ``NAME`` (first time the point is reached) or ``NAME@N`` (the
N-th time, counted per process); several may be given separated by commas. A process reaching an armed
point kills itself with SIGKILL: no ``finally`` blocks, no flush, exactly what ``kill -9`` or a power cut
leaves behind. Points: ``extract.shard_write`` (one layer of a shard written, the others and its flag not),
``cluster.iteration`` (inside Lloyd iterations), ``cluster.write`` (labels stored, ``complete`` not yet),
``run.tables`` (between two of the run's output files).
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "BABELSCOPE_FAILPOINT"
_hits: Counter[str] = Counter()


def failpoint(name: str) -> None:
    """Kill this process if ``name`` is armed in ``$BABELSCOPE_FAILPOINT`` and due now."""
    armed = os.environ.get(ENV)
    if not armed:
        return
    _hits[name] += 1
    for item in armed.split(","):
        point, _, nth = item.strip().partition("@")
        if point == name and _hits[name] == (int(nth) if nth else 1):
            os.kill(os.getpid(), signal.SIGKILL)
