"""The command line's commands: each takes the parsed arguments and returns an exit code.

A user mistake raises ``UsageError`` (or the store's ``StoreError``), which ``__main__``
prints as one line with exit code 2. Every check that can fail runs before anything is
trained or written, so a refused command leaves the store as it was.

The sweep and store commands live in ``sweeps`` (shared helpers in ``common``); the study commands in ``compare``, ``realdata``,
``disentangle`` and ``batch`` (loaded on use), their options in ``options`` (joined to the parser by ``cli.Parser``) and
their printed tables in ``output``.
"""
from __future__ import annotations

from nearid_core.commands.sweeps import (
    cmd_cancel,
    cmd_delete,
    cmd_export,
    cmd_list,
    cmd_report,
    cmd_runner,
    cmd_show,
    cmd_sweep,
)


def cmd_compare(args) -> int:
    from nearid_core.commands.compare import cmd_compare as run  # numpy-heavy: load on use

    return run(args)


def cmd_realdata(args) -> int:
    from nearid_core.commands.realdata import cmd_realdata as run  # torch: load on use

    return run(args)


def cmd_disentangle(args) -> int:
    from nearid_core.commands.disentangle import cmd_disentangle as run  # torch: load on use

    return run(args)


def cmd_batch(args) -> int:
    from nearid_core.commands.batch import cmd_batch as run  # scikit-learn: load on use

    return run(args)


def cmd_compare_sweeps(args) -> int:
    from nearid_core.commands.compare_sweeps import cmd_compare_sweeps as run  # plotly: on use

    return run(args)


COMMANDS = {"sweep": cmd_sweep, "list": cmd_list, "show": cmd_show, "delete": cmd_delete,
            "cancel": cmd_cancel, "export": cmd_export, "report": cmd_report,
            "runner": cmd_runner, "compare": cmd_compare, "realdata": cmd_realdata,
            "disentangle": cmd_disentangle, "batch": cmd_batch,
            "compare-sweeps": cmd_compare_sweeps}
