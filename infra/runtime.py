"""Process-wide tuning of the interpreter for the pipeline's long-running commands."""

from __future__ import annotations

import gc
from typing import Final

# A young collection every 50,000 allocations instead of CPython's 700: the detectors hold
# hundreds of thousands of long-lived objects and each event allocates a few dozen more, so
# at the default the collector ran every dozen events (the core went from 10,900 to 14,500
# events/s on the benchmark mix). Cycles are rare in the detectors' state; they are still
# collected, a little later.
GC_THRESHOLDS: Final = (50_000, 20, 100)


def tune_garbage_collector() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
