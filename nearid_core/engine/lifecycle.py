"""Process lifecycle: signals become exceptions, children die with their parent.

A sweep's owner (the CLI ``sweep`` or the background runner) must leave the store true
however it ends: SIGINT/SIGTERM/SIGHUP become exceptions in the main thread, so the job's
``except`` path marks the sweep and its runs ``interrupted`` and shuts the pool down; a
SIGKILL cannot be caught, so every child asks the kernel to kill it when its parent dies
(``PR_SET_PDEATHSIG``) and the store judges liveness by the owner's heartbeat.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Interrupted(BaseException):
    """A termination signal arrived; like KeyboardInterrupt, not an ordinary error."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.signal_name = signal.Signals(signum).name
        super().__init__(f"interrupted by {self.signal_name}")


def exit_code(err: BaseException) -> int:
    """The shell's exit status for a process ended by this signal (128 + signum)."""
    if isinstance(err, Interrupted):
        return 128 + err.signum
    return 128 + signal.SIGINT


def reason_of(err: BaseException) -> str:
    """A store reason for an interruption: which signal ended the owner."""
    if isinstance(err, Interrupted):
        return f"interrupted by {err.signal_name}"
    return "interrupted by SIGINT (Ctrl-C)"


def _raise(signum: int, _frame) -> None:
    raise Interrupted(signum)


@contextmanager
def handle_signals() -> Iterator[None]:
    """Inside: SIGTERM and SIGHUP raise :class:`Interrupted` in the main thread; SIGINT
    raises KeyboardInterrupt (Python's default). Previous handlers are restored after.

    Outside the main thread (e.g. a Streamlit script thread) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, _raise) for s in (signal.SIGTERM, signal.SIGHUP)}
    old[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send ``sig`` to this process when its parent ends (Linux only).

    Closes the race where the parent died before the call by checking the parent pid.
    Elsewhere it does nothing; the worker then ends when its task queue breaks.
    """
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent or parent == 1:
        os.kill(os.getpid(), sig)
