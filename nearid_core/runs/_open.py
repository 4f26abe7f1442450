"""Opening a run store: every way a store folder can be unusable ends in one StoreError.

Nothing here is meant to be imported outside ``nearid_core.runs.store``.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from nearid_core.runs._sqlite import StoreError, check_version, connect, init_db, schema_version

DB_NAME = "nearid.sqlite"
ARTEFACTS = "artefacts"
_HOME = "the run store folder (NEARID_HOME)"


def prepare_home(home: Path) -> None:
    """Make sure ``home`` is a folder we can look into; create it if missing."""
    if home.exists() and not home.is_dir():
        raise StoreError(f"{_HOME} is a file, not a folder: point NEARID_HOME at a folder",
                         path=home)
    if not home.exists():
        try:
            home.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StoreError(f"{_HOME} cannot be created: part of its path is a file",
                             path=home) from None
        except OSError as exc:
            raise StoreError(f"{_HOME} cannot be created: {exc.strerror}", path=home) from None
    if not os.access(home, os.R_OK | os.X_OK):
        raise StoreError(f"{_HOME} cannot be read (permission denied)", path=home)


def _has_artefacts(home: Path) -> bool:
    art = home / ARTEFACTS
    try:
        return art.is_dir() and any(art.iterdir())
    except OSError:
        return False


def check_db_file(home: Path) -> None:
    """Refuse to (re)initialise a database next to existing artefacts: the artefacts would
    be orphaned. A missing or empty database is only created in an artefact-free folder."""
    db = home / DB_NAME
    if db.exists() and not db.is_file():
        raise StoreError(f"the store database {DB_NAME} is not a file", path=db)
    empty = not db.exists() or db.stat().st_size == 0
    if empty and _has_artefacts(home):
        state = "is empty (0 bytes)" if db.exists() else "is missing"
        raise StoreError(
            f"the store database {DB_NAME} {state} but the folder holds saved artefacts; "
            "nearid will not start a new store over them: restore the database from a "
            "backup, or move the artefacts folder away", path=db)


def writable(home: Path) -> bool:
    """Whether the store can be written here (read-only media and permissions; root
    bypasses permissions but not a read-only mount, which ``access`` reports)."""
    db = home / DB_NAME
    if not os.access(home, os.W_OK):
        return False
    return not db.exists() or os.access(db, os.W_OK)


def open_readonly(db: Path) -> tuple[bool, sqlite3.Connection]:
    """Open an existing store database read-only; returns (immutable, a probe connection).

    ``mode=ro`` reads a WAL database when its ``-shm`` file can be used; on media where it
    cannot, ``immutable=1`` reads the main file alone (complete after a clean close).
    """
    if not db.is_file():
        raise StoreError(f"there is no run store here and the folder is read-only "
                         f"({DB_NAME} missing)", path=db.parent)
    last: Exception | None = None
    for immutable in (False, True):
        conn = None
        try:
            conn = connect(db, readonly=not immutable, immutable=immutable)
            check_version(schema_version(conn))
            conn.execute("SELECT COUNT(*) FROM sweeps").fetchone()
            return immutable, conn
        except sqlite3.DatabaseError as exc:
            last = exc
            if conn is not None:
                conn.close()
    raise StoreError(f"the read-only run store cannot be read: {last}", path=db)


def open_store(home: Path, readonly: bool | None) -> tuple[bool, bool]:
    """Check or create the store at ``home``; returns (readonly, immutable)."""
    prepare_home(home)
    check_db_file(home)
    if readonly is None:
        readonly = not writable(home)
    if readonly:
        immutable, conn = open_readonly(home / DB_NAME)
        conn.close()
        return True, immutable
    try:
        init_db(home / DB_NAME)
    except StoreError as err:
        if _readonly_error(err):
            return open_store(home, True)
        raise
    return False, False


def _readonly_error(err: StoreError) -> bool:
    cause = str(err).lower()
    return "readonly" in cause or "read-only" in cause or os.strerror(errno.EROFS) in str(err)
