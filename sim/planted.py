"""Planted bugs: deliberately broken variants of the code that the fault campaign must
catch (mutation testing by hand, issue 8). Each is a small patch applied to a temporary
copy of the source tree, so the production code carries no switch for it; the campaign
then runs in that copy (a subprocess with the copy first on ``PYTHONPATH``, so the
spawned flight processes import it too) and a bug is caught when the campaign fails.

The six of the issue, each a patch of a few lines (``PLANTED``); ``caught`` runs the
campaign on one and says whether it failed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PLANTED", "PlantedBug", "caught", "planted_tree"]

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("flightsw", "sim", "groundsw")


@dataclass(frozen=True)
class PlantedBug:
    name: str
    path: str  # the file, relative to the repository
    old: str  # text that occurs exactly once in it
    new: str  # what replaces it
    why: str


PLANTED = (
    PlantedBug("result-check-skipped", "groundsw/station.py",
               "        ok, why = self._check_result(gj.spec, body)\n",
               "        ok, why = True, \"\"  # planted: no check\n",
               "a result is archived as good without its digest, ABFT or regeneration check"),
    PlantedBug("restart-cap-ignored", "flightsw/apps/supervisor/restarts.py",
               "        if count >= max_restarts:\n",
               "        if False:  # planted: no cap\n",
               "a process that keeps dying is restarted for ever"),
    PlantedBug("ack-before-persist", "flightsw/apps/executor/shell.py",
               "        for op in ops:  # durable first\n            self._apply(op)\n",
               "        for op in getattr(self, '_late', []):  # planted: stored a tick after the answers left\n"
               "            self._apply(op)\n        self._late = ops\n",
               "the executor acknowledges a job (and reports its states) before it is on disk"),
    PlantedBug("upload-not-idempotent", "flightsw/apps/executor/core.py",
               "        if known is not None:  # idempotent by id: repeat the answer, change nothing\n",
               "        if False:  # planted: a repeated upload is taken as a new job\n",
               "an upload sent twice (a retry after a lost acknowledgement) starts the job again"),
    PlantedBug("watchdog-stroked-unconditionally", "flightsw/apps/supervisor/health.py",
               "            silent = tick - p.waiting_since\n",
               "            silent = 0  # planted: the watchdog is stroked whether or not a pong came\n",
               "the supervisor's health watch counts a process as answering whether or not it did"),
    PlantedBug("eclipse-reserve-off-by-one-orbit", "flightsw/apps/power/energy.py",
               "    return t.reserve_margin_soc * capacity_wh + eclipse_energy_wh(t, ahead.duration_s)\n",
               "    return t.reserve_margin_soc * capacity_wh + eclipse_energy_wh(  # planted: an orbit late\n"
               "        t, ahead.duration_s if ahead.in_eclipse else 0.0)\n",
               "the eclipse reserve is counted an orbit late: held for the eclipse in progress, not built "
               "before the one ahead, so each eclipse is entered without it"),
)


def planted_tree(bug: PlantedBug, into: Path) -> Path:
    """Copy the packages into ``into`` and apply ``bug``; returns ``into``. Raises
    ValueError if the patch's text is not in the file exactly once (the code moved on:
    the bug must be planted again, not silently skipped)."""
    for pkg in PACKAGES:
        shutil.copytree(REPO / pkg, into / pkg, ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
    target = into / bug.path
    text = target.read_text()
    if text.count(bug.old) != 1:
        raise ValueError(f"planted bug {bug.name}: expected its text once in {bug.path}, found it "
                         f"{text.count(bug.old)} times")
    target.write_text(text.replace(bug.old, bug.new))
    return into


CAMPAIGN = """
import sys
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
import sim.campaign
assert sim.campaign.__file__.startswith(sys.argv[1]), sim.campaign.__file__
run_state_machine_as_test(sim.campaign.FaultCampaign, settings=settings(
    max_examples=int(sys.argv[2]), stateful_step_count=int(sys.argv[3]), deadline=None, database=None,
    derandomize=True, suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate]))  # caught or not: no shrinking (each try is a run)
"""


def caught(bug: PlantedBug, examples: int, steps: int = 20, timeout_s: float = 1800.0) -> bool:
    """Run the campaign on a tree with ``bug`` planted: True when it fails (caught)."""
    with tempfile.TemporaryDirectory(prefix=f"planted-{bug.name}-") as tmp:
        root = planted_tree(bug, Path(tmp))
        env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
        p = subprocess.run([sys.executable, "-c", CAMPAIGN, str(root), str(examples), str(steps)],
                           cwd=root, env=env, capture_output=True, text=True, timeout=timeout_s)
        if p.returncode != 0 and "AssertionError" not in p.stderr and "broke:" not in p.stderr:
            raise RuntimeError(f"planted bug {bug.name}: the campaign did not run: {p.stderr[-2000:]}")
        return p.returncode != 0
