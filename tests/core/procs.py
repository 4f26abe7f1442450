"""Process helpers for tests on real processes (Linux ``/proc``)."""

from __future__ import annotations

from pathlib import Path


def ppid(pid: int) -> int | None:
    """The parent of ``pid``, or None when it is gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``: children first, then theirs."""
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    children = [p for p in pids if ppid(p) == pid]
    return children + [d for c in children for d in descendants(c)]
