"""Process-wide tuning of the interpreter for the pipeline's long-running commands."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

# A young collection every 50,000 allocations instead of CPython's 700: the detectors hold
# hundreds of thousands of long-lived objects and each event allocates a few dozen more, so
# at the default the collector ran every dozen events (the core went from 10,900 to 14,500
# events/s on the benchmark mix). Cycles are rare in the detectors' state; they are still
# collected, a little later.
GC_THRESHOLDS: Final = (50_000, 20, 100)


def tune_garbage_collector() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


@contextmanager
def exempt_from_collection() -> Iterator[None]:
    """Build long-lived state inside: what is alive when it ends is moved out of the cyclic
    collector's reach (``gc.freeze``). A shard read back from its snapshot is hundreds of
    thousands of objects that live for hours; left in the young generations, the next two
    collections walk them all (4-5 s after a quarter of a million tickets). Reference
    counting still frees them when their partition goes: a shard holds no cycles
    (``tests/radar/test_snapshot.py`` checks it). What is cyclic garbage is collected first,
    so that none is frozen with the state; that is cheap, since earlier state is frozen."""
    gc.collect()
    yield
    gc.freeze()
