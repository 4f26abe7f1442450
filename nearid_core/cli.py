"""Command-line plumbing: argument types that range-check at parse time, parsing into
configs, output-path checks, progress and tables.

The sweep's options are built from ``settings.SETTINGS``, the one definition of every sweep
setting that the app's forms use too (same names, limits and messages).

Kept apart from ``__main__`` so that the app and tests can reuse the parsers. Every check
here fails with one line (an ``argparse.ArgumentTypeError`` or a ``UsageError``) before
anything is trained or written.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from nearid_core.config import SweepConfig
from nearid_core.settings import BY_NAME, MIN_RADIUS, SETTINGS, Setting, build_config

__all__ = ["MIN_RADIUS", "Parser", "UsageError", "add_sweep_options", "sweep_config"]
MAX_NAME = 200
_ID_RE = re.compile(r"[0-9a-f]{1,12}")


class UsageError(Exception):
    """A user mistake on the command line: printed as one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a bad option ends in one line and exit code 2 (no usage dump)."""

    def error(self, message: str) -> NoReturn:
        print(f"nearid: error: {one_line(message)} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def one_line(text: str) -> str:
    """``text`` with line breaks folded, so that an error is always exactly one line."""
    return " ".join(str(text).splitlines()) or "(no message)"


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# ---------------------------------------------------------------- argument types


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number in ``[lo, hi]`` (for options that are not sweep
    settings, e.g. ``--workers``; the sweep's come from ``settings.SETTINGS``)."""
    return arg_type(Setting(f"[{lo}, {hi}]", "", "", "int", None, "", "", "", "", lo=lo,
                            hi=hi))


def arg_type(s: Setting) -> Callable[[str], object]:
    """An argparse type for a setting: its own parser, its message on one line."""
    def parse(text: str) -> object:
        try:
            return s.parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    parse.__name__ = s.name
    return parse


leak_list = arg_type(BY_NAME["leaks"])


def sweep_name(text: str) -> str:
    """An argparse type: a printable label of at most MAX_NAME characters."""
    if len(text) > MAX_NAME:
        raise argparse.ArgumentTypeError(
            f"must be at most {MAX_NAME} characters (got {len(text)})")
    if not text.isprintable():  # newlines, tabs, escapes, undecodable bytes
        raise argparse.ArgumentTypeError(
            f"must be printable text, without line breaks or control characters "
            f"(got {text[:40]!r})")
    return text


def sweep_ref(text: str) -> str:
    """An argparse type: a sweep id or a unique prefix of one (1-12 hex digits)."""
    key = text.strip().lower()
    if not _ID_RE.fullmatch(key):
        raise argparse.ArgumentTypeError(
            f"a sweep id is 1-12 hex digits like 1c59, as `list` shows them (got {text[:40]!r})")
    return key


def size_arg(text: str) -> int:
    """An argparse type: a memory size like 2G or 512MB (see ``budget.parse_size``)."""
    from nearid_core.engine.budget import parse_size

    try:
        return parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(one_line(str(err))) from None


def check_output(path: str, suffix: str, *, option: str, force: bool) -> Path:
    """Check, before any work, that ``path`` can become a new ``suffix`` file.

    Refuses an empty name, a wrong suffix, a folder, a missing or unwritable parent folder,
    and an existing file unless ``force``. Returns the path.
    """
    if not path.strip():
        raise UsageError(f"{option} wants a file name ending in {suffix} (got an empty name)")
    out = Path(path)
    if out.suffix.lower() != suffix:
        raise UsageError(f"{option} must end in {suffix} (got {path!r})")
    if out.is_dir():
        raise UsageError(f"{option} {path!r} is a folder; give a file name ending in {suffix}")
    parent = out.parent
    if not parent.is_dir():
        what = "is not a folder" if parent.exists() else "does not exist"
        raise UsageError(f"the folder of {option}, {str(parent)!r}, {what}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write in the folder of {option}, {str(parent)!r}")
    if os.path.lexists(out):
        if not force:
            raise UsageError(f"{option} {path!r} already exists; add --force to overwrite it")
        if not out.is_file():
            raise UsageError(f"{option} {path!r} exists and is not a regular file")
    return out


def real_in(lo: float, hi: float, *, lo_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[lo, hi]`` (``(lo, hi]`` when ``lo_open``)."""
    return arg_type(Setting(f"[{lo}, {hi}]", "", "", "real", None, "", "", "", "", lo=lo,
                            hi=hi, lo_open=lo_open))


def boot_count(text: str) -> int:
    """An argparse type: 0 (no intervals) or 2-1000 re-drawn splits."""
    value = int_in(0, 1000)(text)
    if value == 1:
        raise argparse.ArgumentTypeError("wants 0 (no intervals) or 2-1000 re-drawn splits "
                                         "(got 1)")
    return value


def index_list(text: str) -> list[int]:
    """An argparse type: distinct model indices like ``0,3,5``."""
    parts = text.split(",")
    if not all(p.strip().isdigit() and len(p.strip()) < 7 for p in parts):
        raise argparse.ArgumentTypeError(f"wants model indices like 0,3,5 as `show` numbers "
                                         f"them (got {text[:40]!r})")
    values = [int(p) for p in parts]
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"lists a model twice (got {text[:40]!r})")
    return values


# ---------------------------------------------------------------- the sweep's options

GROUP_TITLES = {"data": "data (the ground truth u and observations x = g(u))",
                "model": "model (autoencoder x -> w -> w -> z -> w -> w -> x)",
                "train": "training (MSE, Adam)", "sweep": "grid"}
METAVARS = {"int": "N", "real": "X", "leaks": "A,B,..."}


def _help(s: Setting) -> str:
    where = f" (for --kind {', '.join(s.kinds)})" if s.kinds else ""
    limits = "" if s.kind == "choice" else f", {s.limits}"
    if s.kind == "leaks":
        default = ",".join(f"{a:g}" for a in s.default)
    else:
        default = "the master seed" if s.default is None else "%(default)s"
    return f"{s.help}{limits}{where} (default: {default})"


def add_sweep_options(p: argparse.ArgumentParser) -> None:
    """Every sweep setting of ``settings.SETTINGS`` as an option (``dest`` = its name),
    then the resource limits."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for s in SETTINGS:
        if s.part not in groups:
            groups[s.part] = p.add_argument_group(GROUP_TITLES[s.part])
        kw = ({"choices": list(s.choices)} if s.kind == "choice"
              else {"type": arg_type(s), "metavar": METAVARS[s.kind]})
        groups[s.part].add_argument(s.option, dest=s.name, default=s.default,
                                    help=_help(s), **kw)
    g = p.add_argument_group("resources (checked before anything is trained or saved)")
    n_cores = cores()
    g.add_argument("--workers", type=int_in(1, n_cores), default=None, metavar="N",
                   help=f"worker processes, each with one torch thread, 1-{n_cores} (the cores "
                        "here) (default: one per core, at most 4)")
    g.add_argument("--max-memory", type=size_arg, default=None, metavar="SIZE",
                   help="refuse a sweep whose estimated peak memory is larger, e.g. 2G or "
                        "512M (default: $NEARID_MAX_MEMORY, else half the available memory)")
    g.add_argument("--max-models", type=int_in(1), default=None, metavar="N",
                   help="refuse a grid of more models (leaks x seeds) than this")


def sweep_config(args: argparse.Namespace) -> SweepConfig:
    """Build and validate the SweepConfig; a bad value raises UsageError in one line."""
    try:
        return build_config({s.name: getattr(args, s.name) for s in SETTINGS})
    except ValueError as err:
        raise UsageError(str(err)) from None


# ---------------------------------------------------------------- output


class ProgressPrinter:
    """Progress on stderr: a redrawn bar on a terminal, a line per 10% otherwise."""

    def __init__(self, stream=None, quiet: bool = False) -> None:
        self.stream, self.quiet = stream or sys.stderr, quiet
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.last = -1

    def __call__(self, progress) -> None:
        if self.quiet:
            return
        pct = int(progress.fraction * 100)
        if self.tty:
            bar = "#" * (pct // 4) + "." * (25 - pct // 4)
            self.stream.write(f"\r[{bar}] {pct:3d}% {progress.message}")
            self.stream.flush()
        elif pct // 10 > self.last // 10:
            self.stream.write(f"{pct:3d}% {progress.message}\n")
        self.last = pct

    def end_line(self) -> None:
        """Finish a half-drawn bar, so that what follows starts on its own line."""
        if self.tty and self.last >= 0 and not self.quiet:
            self.stream.write("\n")
            self.last = -1

    def done(self, message: str) -> None:
        if not self.quiet:
            self.end_line()
            self.stream.write(message + "\n")


def format_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """Fixed-width text table; columns are (key, header, format spec)."""
    def cell(v, spec):
        if isinstance(v, float) and not math.isfinite(v):
            return "-"
        return format(v, spec) if spec else str(v)

    cells = [[cell(r.get(k, float("nan")), f) for k, _, f in columns] for r in rows]
    heads = [h for _, h, _ in columns]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(heads, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)

