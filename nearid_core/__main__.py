"""``python -m nearid_core``: headless sweeps and exports.

Exit codes: 0 done; 1 a sweep was cancelled; 2 a user mistake (one line on stderr, nothing
changed); 128 + signal number when a signal ended it (130 for Ctrl-C, 143 for SIGTERM);
141 when whoever read stdout went away (``show ID | head``), quietly.
"""

from __future__ import annotations

import atexit
import os
import signal
import sqlite3
import sys

from nearid_core.cli import (
    Parser,
    UsageError,
    add_sweep_options,
    one_line,
    real_in,
    sweep_name,
    sweep_ref,
)
from nearid_core.commands import COMMANDS
from nearid_core.commands.options import add_study_commands
from nearid_core.engine.lifecycle import Interrupted, exit_code
from nearid_core.runs.store import StoreError, default_home

ID_HELP = "sweep id (a unique prefix is enough; see `list`)"


def build_parser() -> Parser:
    p = Parser(prog="python -m nearid_core",
               description="nearid: measure near-identifiability of autoencoder latents. "
                           "Results are kept in the run store at $NEARID_HOME (default "
                           "./.nearid), created on the first sweep.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser,
                           metavar="COMMAND")
    s = sub.add_parser("sweep", help="train a leak x seed grid of autoencoders, measure and "
                       "analyse it, and save it in the store", description="Train a leak x "
                       "seed grid of small autoencoders on synthetic data, then print per "
                       "leak: held-out reconstruction, the decoder's bi-Lipschitz estimates "
                       "B(z), the l2 identifiability errors between seeds for each alignment "
                       "group, and disentanglement before and after ICA. Every option is "
                       "checked, and the run's memory and time estimated, before anything "
                       "is trained or saved.")
    add_sweep_options(s)
    s.add_argument("--scheduler", metavar="tcp://HOST:8786", default=None,
                   help="run the training and analysis tasks on the Dask cluster whose "
                        "scheduler listens here (default: $NEARID_SCHEDULER, else this "
                        "machine's cores); results are identical to a local run")
    g = s.add_argument_group("output")
    g.add_argument("--name", type=sweep_name, default="", help="a label for the sweep in the "
                   "store, at most 200 printable characters")
    g.add_argument("--json", metavar="FILE.json", help="write every per-model number, the "
                   "analysis and the settings to this JSON file")
    g.add_argument("--report", metavar="FILE.html", help="write a self-contained HTML report "
                   "of figures")
    g.add_argument("--force", action="store_true", help="overwrite existing --json and "
                   "--report files")
    g.add_argument("--quiet", action="store_true", help="no estimate and no progress on "
                   "stderr")
    sub.add_parser("list", help="list the sweeps (and why any ended early), the studies and "
                   "the saved comparisons in the store")
    for name, text in (("show", "print a stored sweep's, study's or saved comparison's "
                                "status and tables"),
                       ("delete", "delete an ended sweep or study, or a saved comparison, "
                                  "and its files from the store"),
                       ("cancel", "stop a queued or running sweep or study (what it "
                                  "finished stays saved)")):
        sub.add_parser(name, help=text).add_argument("sweep", type=sweep_ref,
                                                     metavar="SWEEP", help=ID_HELP)
    add_study_commands(sub)  # compare, realdata
    for name, suffix, text in (
            ("export", "npz", "write everything needed to recompute a sweep's numbers "
                              "(per model: leak, seed, status, latents, ICA latents and "
                              "unmixing, B(z), weights; the fit/eval split, configs and "
                              "analysis) to one .npz file (loads with allow_pickle=False; "
                              "read it with nearid_core.runs.export.load); a study's "
                              "result document goes to a .json file instead"),
            ("report", "html", "write the self-contained HTML report of an analysed sweep "
                               "or a finished study")):
        c = sub.add_parser(name, help=text)
        c.add_argument("sweep", type=sweep_ref, metavar="SWEEP", help=ID_HELP)
        c.add_argument("--out", required=True, metavar=f"FILE.{suffix}", help="output file; "
                       "its folder must exist" + ("; FILE.json for a study" if suffix == "npz"
                                                   else ""))
        c.add_argument("--force", action="store_true", help="overwrite an existing --out")
    r = sub.add_parser("runner", help="(used by the app) run queued sweeps in the background "
                       "until none is left")
    r.add_argument("--stay", type=real_in(0.0, 86400.0), metavar="SECONDS", default=0.0,
                   help="keep the worker pool warm and wait this long for new sweeps once "
                        "the queue is empty (the app's runner; 0 = leave at once)")
    return p


def _error(message: object) -> int:
    print(f"nearid: error: {one_line(str(message))}", file=sys.stderr)
    return 2


def _out_of_memory(err: BaseException) -> bool:
    # torch reports a failed CPU allocation as RuntimeError, numpy as MemoryError.
    text = str(err)
    return isinstance(err, MemoryError) or (
        isinstance(err, RuntimeError) and ("can't allocate memory" in text
                                           or "out of memory" in text.lower()))


def _run(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a parse error, already printed (2)
        return exc.code if isinstance(exc.code, int) else 0
    try:
        return COMMANDS[args.command](args)
    except (UsageError, StoreError) as err:
        return _error(err)
    except sqlite3.DatabaseError as err:  # a store damaged in a way the store did not catch
        return _error(f"the run store at {str(default_home())!r} cannot be used: {err}")
    except (MemoryError, RuntimeError) as err:
        if not _out_of_memory(err):
            raise
        return _error("out of memory; try a smaller --n, --d-x or --width, fewer --seeds or "
                      "--workers, or see the estimate with a lower --max-memory")
    except Interrupted as err:
        print(f"nearid: {err}", file=sys.stderr)
        return exit_code(err)
    except KeyboardInterrupt as err:
        print("nearid: interrupted by SIGINT", file=sys.stderr)
        return exit_code(err)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the final flush cannot raise again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured (tests): nothing to silence
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def main(argv: list[str] | None = None) -> int:
    """Run one command; return its exit code (never raises SystemExit itself)."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except BrokenPipeError:  # `show ID | head`: the reader has all it wanted
        _silence_stdout()
        return 128 + signal.SIGPIPE


def _exit(code: int) -> None:
    """Exit with ``code`` as a normal exit does (output flushed, atexit handlers run: the
    pool's fork server stopped, its temporary folder removed), without the interpreter's
    teardown of torch, scikit-learn and their modules: 0.8 s after a sweep, measured.
    Under a profiler or tracer (``python -m cProfile -m nearid_core ...``), which writes
    its results once this returns, it exits normally."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # flushed in main(); a reader gone meanwhile
            pass
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    _exit(main())
