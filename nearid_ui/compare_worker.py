"""What the Compare page runs in its background process: the comparison and the digits study.

No streamlit here: spawned workers import this module. Progress goes through a folder (one
small JSON file, replaced atomically), and a ``cancel`` file in it asks the work to stop at
its next progress report, so neither side needs a manager process.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

WORKERS = 2  # threads for compare's re-drawn splits (one BLAS thread each)


class Cancelled(RuntimeError):
    """The user stopped the work."""


class Progress:
    """Progress of one job in ``folder``: written by the worker, read by the page."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def write(self, fraction: float, message: str) -> None:
        tmp = self.folder / "progress.json.tmp"
        tmp.write_text(json.dumps({"fraction": float(fraction), "message": str(message)}))
        os.replace(tmp, self.folder / "progress.json")

    def read(self) -> tuple[float, str]:
        """(fraction in [0, 1], message); (0, "waiting for a worker") before the first report."""
        try:
            doc = json.loads((self.folder / "progress.json").read_text())
            return min(max(float(doc["fraction"]), 0.0), 1.0), str(doc["message"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0, "waiting for a worker"

    def request_cancel(self) -> None:
        (self.folder / "cancel").touch()

    def cancelled(self) -> bool:
        return (self.folder / "cancel").exists()


def warm() -> None:
    """Import the comparison's modules in a fresh worker, so the first job starts at once."""
    import nearid_core.studies.compare  # noqa: F401


def run_compare(folder: str, embeddings: dict[str, np.ndarray], config, factors=None,
                labels=None):
    """``compare.compare`` with progress in ``folder``; raises Cancelled when asked to stop.

    FastICA's non-convergence warnings are dropped here: the result's notes state them.
    """
    from sklearn.exceptions import ConvergenceWarning

    from nearid_core.studies.compare import compare

    progress = Progress(folder)

    def report(fraction: float, message: str) -> None:
        if progress.cancelled():
            raise Cancelled("stopped by the user")
        progress.write(fraction, message)

    report(0.0, "starting")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        return compare(embeddings, config, factors=factors, labels=labels, on_progress=report,
                       workers=WORKERS)


def run_digits(folder: str, config):
    """``realdata.run_realdata`` with progress in ``folder``; raises Cancelled when asked
    (the study stops between families)."""
    from nearid_core.studies.realdata import RealDataCancelled, run_realdata

    progress = Progress(folder)

    def report(p) -> bool:
        progress.write(p.fraction, p.message)
        return progress.cancelled()

    progress.write(0.0, "loading torch and the digits")
    try:
        return run_realdata(config, on_progress=report)
    except RealDataCancelled:
        raise Cancelled("stopped by the user") from None
