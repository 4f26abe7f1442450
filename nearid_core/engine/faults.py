"""Test-only fault injection: pause a process at a named phase so a test can kill it there.

With ``NEARID_FAULT_PHASE=<phase>`` in the environment, the first time the process reaches
``checkpoint(<phase>)`` it writes its pid to ``$NEARID_FAULT_MARKER`` and sleeps (up to
``NEARID_FAULT_WAIT_S``, default 120 s) so that a test can send it a signal at exactly that
point. Without the variable a checkpoint costs one dictionary lookup. Phases in use:
``submission`` (inside the submitting transaction), ``training`` (training under way),
``analysis``, ``artefact`` (a file written but not yet renamed into place), ``status``
(just before the final status update) and ``comparison`` (a saved comparison's files in
place, its row not yet inserted).
"""

from __future__ import annotations

import os
import time

PHASES = ("submission", "training", "analysis", "artefact", "status", "comparison")
_hit: set[str] = set()


def checkpoint(phase: str) -> None:
    """Pause here when the environment asks for ``phase`` (once per process)."""
    if os.environ.get("NEARID_FAULT_PHASE") != phase or phase in _hit:
        return
    _hit.add(phase)
    marker = os.environ.get("NEARID_FAULT_MARKER")
    if marker:
        tmp = f"{marker}.{os.getpid()}"
        with open(tmp, "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(tmp, marker)
    deadline = time.monotonic() + float(os.environ.get("NEARID_FAULT_WAIT_S", "120"))
    while time.monotonic() < deadline:
        time.sleep(0.05)
