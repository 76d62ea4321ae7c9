"""The SQLite file kept private: the data folder 0700, the database and its -wal and
-shm files 0600, whatever the process's umask."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# SQLite's companions of the database file in WAL mode.
DB_SUFFIXES: tuple[str, ...] = ("", "-wal", "-shm")

log = logging.getLogger("bot.store")
# umask is process-wide: two stores opening at once must not restore each other's value.
_UMASK_LOCK = threading.Lock()


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """Files created inside are born 0600 (directories 0700); the previous umask comes back after."""
    with _UMASK_LOCK:
        previous = os.umask(0o077)
        try:
            yield
        finally:
            os.umask(previous)


def tighten(path: Path, mode: int) -> None:
    """chmod to `mode` when looser; a file of another user is left as it is, with a warning."""
    try:
        current = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if current & ~mode:
        try:
            path.chmod(mode)
        except PermissionError:
            log.warning("cannot make %s private (mode %o): it belongs to another user", path, current)


def tighten_database(path: str) -> None:
    for suffix in DB_SUFFIXES:
        tighten(Path(path + suffix), FILE_MODE)


def private_dir(path: str | Path) -> Path:
    """The data folder, created 0700, or tightened to 0700 when it exists and is ours."""
    folder = Path(path)
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        folder.chmod(DIR_MODE)  # mkdir's mode went through the umask
    elif hasattr(os, "getuid") and folder.stat().st_uid == os.getuid():
        tighten(folder, DIR_MODE)
    return folder
