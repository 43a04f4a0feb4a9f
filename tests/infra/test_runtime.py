from __future__ import annotations

import gc
import subprocess
import sys

from infra.runtime import GC_THRESHOLDS


def test_every_radar_command_runs_with_the_tuned_collector() -> None:
    probe = (
        "import gc, sys\n"
        "import cli.commands as c\n"
        "c.cmd_config = lambda args, settings: print(gc.get_threshold()) or 0\n"
        "c.main(['config'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == str(GC_THRESHOLDS)
    assert gc.get_threshold() != GC_THRESHOLDS  # this process is untouched
