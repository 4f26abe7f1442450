"""A killed test or benchmark leaves no app server behind: ``serve_app``'s server (and the
warm runner the server starts) end when the process that served them is SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "core"))
from procs import alive, descendants  # noqa: E402

SERVE = """
import sys, time
from nearid_ui.serve import serve_app
with serve_app(sys.argv[1]) as url:
    print(url, flush=True)
    time.sleep(600)
"""


def test_the_server_dies_with_the_process_that_served_it(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", SERVE, str(tmp_path)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
    children: list[int] = []
    try:
        assert parent.stdout.readline().startswith("http://127.0.0.1:")  # healthy
        children = descendants(parent.pid)
        assert children, "the server runs below the serving process"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 60  # SIGTERM, then the server's own shutdown
        while time.monotonic() < deadline and any(alive(p) for p in children):
            time.sleep(0.2)
        assert not [p for p in children if alive(p)]
    finally:
        for p in children:
            if alive(p):
                os.kill(p, signal.SIGKILL)
        parent.kill()
