"""Serve the app in a subprocess on 127.0.0.1 (browser tests, screenshots, benchmarks)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _server_dies_with_parent() -> None:
    from nearid_core.engine.lifecycle import die_with_parent

    die_with_parent(signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"the app did not answer at {url} within {timeout:.0f} s")


@contextmanager
def serve_app(home: str | os.PathLike, *, port: int | None = None, timeout: float = 60,
              env: dict | None = None, log_path: str | os.PathLike | None = None
              ) -> Iterator[str]:
    """Run ``streamlit run app.py`` with ``NEARID_HOME=home``; yield its base URL."""
    port = port or free_port()
    full_env = dict(os.environ, NEARID_HOME=str(home), OMP_NUM_THREADS="1",
                    PYTHONPATH=str(ROOT), **(env or {}))
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
           "--server.address", "127.0.0.1", "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    # SIGTERM to the server when this process ends, however it ends (a killed test or
    # benchmark leaves no server behind; the server's own runner follows the server).
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=log, stderr=log,
                            preexec_fn=_server_dies_with_parent)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, timeout)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if log is not subprocess.DEVNULL:
            log.close()


def launch_chromium(playwright):
    """Debian's Chromium through Playwright (``playwright install`` is not needed)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
