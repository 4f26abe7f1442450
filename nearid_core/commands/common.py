"""What every command shares: opening the store, refusing outputs, status words."""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from nearid_core.cli import (
    ProgressPrinter,
    UsageError,
    check_output,
    one_line,
)
from nearid_core.runs.store import DB_NAME, RunStore, default_home

# What a damaged artefact file raises when read (truncated, random bytes, not a zip).
DAMAGED = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile)
REASON_CHARS = 160


def open_store(*, create: bool) -> RunStore:
    """The store at ``$NEARID_HOME``. A missing one is created (with a note on stderr) only
    when ``create``; otherwise it is a UsageError, so that reading commands never make one."""
    home = default_home()
    new = _missing(home) or _empty_folder(home)
    if new and not create:
        raise UsageError(f"no run store at {str(home)!r} (NEARID_HOME): run "
                         "`python -m nearid_core sweep` first, or point NEARID_HOME at one")
    try:
        store = RunStore(home)
    except OSError as err:  # e.g. NEARID_HOME under a file, or unreadable
        raise UsageError(f"cannot open the run store at {str(home)!r}: "
                         f"{err.strerror or err}") from None
    if new:
        print(f"nearid: note: created a new run store at {store.home}", file=sys.stderr)
    return store


def _missing(home: Path) -> bool:
    """Whether the store folder does not exist yet; a UsageError when it never can."""
    if os.path.lexists(home):
        return False
    above = home.absolute().parent
    while not os.path.lexists(above):
        above = above.parent
    if not above.is_dir():
        raise UsageError(f"NEARID_HOME {str(home)!r} cannot be a folder: {str(above)!r} "
                         "is a file")
    return True


def _empty_folder(home: Path) -> bool:
    # A folder without a database or artefacts holds no store: reading must not make one.
    return home.is_dir() and not any(os.path.lexists(home / n) for n in (DB_NAME, "artefacts"))


def _reason(text: str | None) -> str:
    text = one_line(text or "")
    return text if len(text) <= REASON_CHARS else text[:REASON_CHARS - 3] + "..."


def _status_text(sweep: dict) -> str:
    return sweep["status"] + (f" ({_reason(sweep['reason'])})" if sweep.get("reason") else "")


def _why_no_results(sweep: dict) -> str:
    status = sweep["status"]
    if status == "queued":
        return "it is queued and has not started"
    if status == "running":
        return f"it is still running ({sweep['progress']:.0%} done)"
    if status == "done":
        return "it has no analysis"
    return f"it ended {_status_text(sweep)}"


def _write(path: str, write: Callable[[IO[bytes]], object], option: str) -> None:
    from nearid_core.runs._files import atomic_write  # temp file + rename: never half a file

    try:
        atomic_write(Path(path), write)
    except OSError as err:
        raise UsageError(f"cannot write {option} {path!r}: {err.strerror or err}") from None


def run_study(run: Callable, *, quiet: bool, what: str):
    """``run(on_progress)`` with progress on stderr and SIGINT/SIGTERM handled; a model whose
    training loss stopped being finite (a ValueError) ends in one line naming ``what``."""
    from nearid_core.engine.lifecycle import handle_signals

    printer = ProgressPrinter(quiet=quiet)
    with handle_signals():
        try:
            return run(printer)
        except ValueError as err:
            raise UsageError(f"the {what} stopped: {err}") from None
        finally:
            printer.end_line()


def write_json(path: str, doc: dict, what: str) -> None:
    """``doc`` as strict JSON (no NaN) at ``path``, atomically, and say so on stdout."""
    import json

    data = json.dumps(doc, indent=1, allow_nan=False).encode()
    _write(path, lambda fh: fh.write(data), "--json")
    print(f"{what} written to {path}")


# ---------------------------------------------------------------- sweep, runner


def _check_outputs(args) -> dict:
    """Refuse bad --json/--report paths now, not after minutes of training."""
    if args.json is not None:
        check_output(args.json, ".json", option="--json", force=args.force)
    if args.report is not None:
        check_output(args.report, ".html", option="--report", force=args.force)
    return {"workers": args.workers, "max_models": args.max_models,
            "max_memory": args.max_memory}
