"""Artefact files of the run store: atomic writes, ``.npz`` arrays, damage detection.

Nothing here is meant to be imported outside ``nearid_core.runs.store``.
"""

from __future__ import annotations

import os
import pickle
import secrets
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from nearid_core.engine import faults
from nearid_core.runs._sqlite import StoreError, pid_alive

TEMP_PREFIX = ".tmp-"  # loaders and listings skip names starting with this
_RESERVED_KEYS = ("file", "allow_pickle")  # clash with np.savez's own parameters
_NAME_CHARS = "1-100 characters from [A-Za-z0-9_.-], not starting with '.' or '-'"
# What a truncated, garbled or foreign file raises from np.load / torch.load.
_DAMAGE = (zipfile.BadZipFile, zlib.error, ValueError, EOFError, OSError, KeyError,
           RuntimeError, pickle.UnpicklingError, IndexError, TypeError)


class DamagedArtefact(StoreError):
    """An artefact file that exists but cannot be read (truncated, garbled, foreign)."""


def check_name(name: str, what: str = "artefact name") -> str:
    """Artefact names become file names: letters, digits, ``_.-``, not starting with ``.``."""
    import re

    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}", name):
        raise ValueError(f"{what} must be {_NAME_CHARS}; got {name!r}")
    return name


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` via a temp file in the same directory, fsync, then ``os.replace``.

    Readers see either the old file or the complete new one, never a partial one. The temp
    name carries the writer's pid so that ``remove_stale_temp_files`` knows when it is safe.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TEMP_PREFIX}{os.getpid()}-{secrets.token_hex(4)}-{path.name}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        faults.checkpoint("artefact")  # test hook: a kill between write and rename
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def remove_stale_temp_files(root: Path) -> int:
    """Delete temp files under ``root`` whose writer process has ended; return how many."""
    removed = 0
    for tmp in root.rglob(f"{TEMP_PREFIX}*"):
        pid_text = tmp.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if pid_text.isdigit() and pid_alive(int(pid_text)):
            continue
        tmp.unlink(missing_ok=True)
        removed += 1
    return removed


def save_npz(directory: Path, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Atomically write ``directory/<name>.npz``; no object arrays (loading refuses pickle)."""
    bad = [k for k in arrays if not isinstance(k, str) or k in _RESERVED_KEYS]
    if bad:
        raise ValueError(f"array names must be strings other than {_RESERVED_KEYS}; got {bad}")
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    if any(a.dtype == object for a in arrays.values()):
        raise ValueError("object arrays cannot be stored (they would need pickle)")
    path = directory / f"{check_name(name)}.npz"
    atomic_write(path, lambda f: np.savez(f, allow_pickle=False, **arrays))


def load_npz(directory: Path, name: str, owner: str) -> dict[str, np.ndarray]:
    """Load ``directory/<name>.npz`` fully into memory.

    StoreError if missing; DamagedArtefact if it cannot be read back.
    """
    path = directory / f"{check_name(name)}.npz"
    if not path.exists():
        raise StoreError(f"{owner} has no saved arrays named {name!r}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except _DAMAGE as exc:
        raise DamagedArtefact(f"{owner}'s saved arrays {name!r} are damaged and cannot be "
                              f"read ({type(exc).__name__})", path=path) from None


def load_torch(path: Path, owner: str) -> dict[str, Any]:
    """A ``state_dict`` saved by ``torch.save``, loaded without pickled code onto the CPU."""
    import torch  # lazy: the store is used by processes that never touch torch

    if not path.exists():
        raise StoreError(f"{owner} has no saved state_dict")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except _DAMAGE as exc:
        raise DamagedArtefact(f"{owner}'s saved weights are damaged and cannot be read "
                              f"({type(exc).__name__})", path=path) from None


def list_npz(directory: Path) -> list[str]:
    """Names of the complete ``.npz`` files in ``directory`` (temp files skipped)."""
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.npz") if not p.name.startswith(TEMP_PREFIX))
