"""Writing output files whole or not at all, and naming the file when the disk says no.

A reader never sees a half-written table, report or cache entry: each file is written beside its final
name and renamed over it (atomic on POSIX) only once it is complete. A failed write (disk full, read-only
folder, no permission) leaves the previous file, if any, untouched and raises :class:`StoreError` naming
the path.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import StoreError

log = logging.getLogger(__name__)

#: temporary files a killed writer leaves: zarr's ``{name}.{uuid4 hex}.partial``, ours ``.{name}.{random}.tmp``
_DEBRIS = re.compile(r"(\.[0-9a-f]{32}\.partial|^\..+\.tmp)$")

#: errno values that mean "this location cannot take the write", as opposed to a bug
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG})


def _read_umask() -> int:
    """The process umask, read once at import (setting it to read it is not thread-safe later on)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def write_error(path: str | Path, exc: OSError) -> StoreError:
    """A :class:`StoreError` naming ``path`` and the system's reason (``No space left on device``, ...)."""
    reason = exc.strerror or type(exc).__name__
    return StoreError(f"cannot write {str(path)!r}: {reason} (errno {exc.errno}); nothing there is marked complete")


#: room kept for what a run writes besides the activations (selections, clusterings, tables, cache): a fixed
#: part and a share of the activations
SPACE_SLACK_BYTES, SPACE_SLACK_SHARE = 64 * 2**20, 0.05


def check_free_space(path: str | Path, required: int, what: str) -> None:
    """Refuse, before anything is written, when the disk holding ``path`` has less room than ``required`` bytes
    (plus :data:`SPACE_SLACK_BYTES` and :data:`SPACE_SLACK_SHARE`) for ``what``; the message gives both numbers."""
    folder = Path(path)
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    needed = int(required * (1.0 + SPACE_SLACK_SHARE)) + SPACE_SLACK_BYTES
    if needed > free:
        raise StoreError(f"not enough disk space for {what}: about {needed / 1e9:.1f} GB required, "
                         f"{free / 1e9:.1f} GB available on the disk of {str(path)!r}; free space, or set "
                         f"store.path to a larger disk")
    log.info("disk space for %s: %.1f GB required, %.1f GB available", what, needed / 1e9, free / 1e9)


@contextmanager
def disk_errors(where: str | Path) -> Iterator[None]:
    """Turn a refused write anywhere in the block (disk full, read-only, no permission) into a
    :class:`StoreError` naming the file (or ``where`` when the system did not say which file)."""
    try:
        yield
    except OSError as exc:
        if exc.errno in WRITE_ERRNOS:
            raise write_error(exc.filename or where, exc) from exc
        raise


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; once the block succeeds it replaces ``path`` atomically."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
    except OSError as exc:
        if exc.errno in WRITE_ERRNOS:
            raise write_error(path, exc) from exc
        raise
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the file the mode a plain open() would
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in WRITE_ERRNOS:
            raise write_error(path, exc) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` whole or not at all."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def remove_write_debris(folder: str | Path) -> int:
    """Delete the temporary files that writers killed mid-write left under ``folder``; returns how many.

    Only safe while no writer is active there: callers hold the store lock (see :mod:`engine.store.lock`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    removed = 0
    for path in folder.rglob("*"):
        if _DEBRIS.search(path.name) and path.is_file():
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("%s: removed %d temporary file(s) left by an interrupted write", folder, removed)
    return removed


def file_digest(path: str | Path) -> str:
    """The first 16 hex digits of a file's SHA-256 (what a cache key holds of an imported file's content)."""
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
