"""One writer run per store (and per run folder): a lock file naming its holder (pid, host, start time, command).

``store_lock(path)`` is taken by every command that writes a store (``run``, ``extract``, ``align``,
``select``, ``info --repair``). The holder keeps an exclusive ``flock`` on the file for as long as it runs,
and the kernel drops it when the holder dies, however it dies: a second run is refused with a message
naming the live holder, and a file left by a dead process (killed, crashed, machine rebooted) is a stale
lock, logged and taken over, with no race between two runs that meet on it. A record written from another
host is always refused (a network file system may not carry flocks between hosts); remove the file by hand
once that run is known to be gone.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.errors import StoreError

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".lock"


def lock_path(store: str | Path) -> Path:
    """Where the lock of ``store`` lives: ``{store}.lock`` beside the store folder (which may not exist yet,
    and which ``--overwrite`` may remove)."""
    store = Path(store)
    return store.parent / f"{store.name}{LOCK_SUFFIX}"


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), so a reused pid is not taken for the holder."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    now = _process_start(pid)
    return started is None or now is None or now == started


def read_lock(store: str | Path) -> dict[str, Any] | None:
    """The holder recorded in the lock of ``store``, or None when unlocked."""
    try:
        return json.loads(lock_path(store).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: being written, or written by a process that died while writing it


def _describe(holder: dict[str, Any]) -> str:
    return (f"pid {holder.get('pid')} on host {holder.get('host')!r} since {holder.get('since')} "
            f"({holder.get('command')})")


_HELD: dict[str, int] = {}  # lock path -> open descriptor holding its flock, for as long as we hold it


def _open_locked(path: Path) -> int | None:
    """A descriptor of ``path`` holding an exclusive flock, or None while another process holds it.

    The kernel drops a flock when its holder dies however it dies, so taking it over a lock file left
    behind needs no guessing, and two runs meeting on a stale lock cannot both win."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder released (unlinked) it between our open and our flock: try the new file


def _record(fd: int) -> dict[str, Any]:
    """The holder written in a lock file ({} when it is empty or half written)."""
    os.lseek(fd, 0, os.SEEK_SET)
    raw = b""
    while chunk := os.read(fd, 65536):
        raw += chunk
    try:
        held = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return held if isinstance(held, dict) else {}


def _folder_expected(folder: Path, what: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"{what} {str(folder)!r} is a file, not a folder; remove it or choose another path")


def acquire_lock(store: str | Path, command: str | None = None, what: str = "store") -> dict[str, Any]:
    """Take the lock of ``store`` (a folder: a store, or a run folder when ``what`` says so) or raise
    :class:`StoreError` naming the live holder; returns our record."""
    _folder_expected(Path(store), what)
    path = lock_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    holder = {"pid": pid, "host": socket.gethostname(), "pid_start": _process_start(pid),
              "since": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": command or " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])}
    for _ in range(100):
        fd = _open_locked(path)
        if fd is None:  # a live holder; its record may be a moment from being written
            held = read_lock(store)
            if held:
                raise StoreError(f"{what} {str(store)!r} is in use by {_describe(held)}; wait for it to finish "
                                 f"(lock {str(path)!r})")
            time.sleep(0.05)
            continue
        held = _record(fd)
        refusal = None
        if held and held.get("host") != holder["host"]:  # its flock may not reach us over a network file system
            refusal = (f"{what} {str(store)!r} is locked by {_describe(held)}, which cannot be checked from host "
                       f"{holder['host']!r}; once that run is gone, remove {str(path)!r}")
        elif held and held.get("pid") != pid and _alive(int(held.get("pid", -1)), held.get("pid_start")):
            refusal = (f"{what} {str(store)!r} is in use by {_describe(held)}; wait for it to finish "
                       f"(lock {str(path)!r})")
        if refusal:
            os.close(fd)
            raise StoreError(refusal)
        if os.fstat(fd).st_size:
            log.warning("%s %s: clearing a stale lock left by %s (that process is gone)", what, store,
                        _describe(held) if held else "an unreadable lock file")
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(holder).encode("utf-8"))
        _HELD[str(path)] = fd
        return holder
    raise StoreError(f"{what} {str(store)!r}: could not take the lock {str(path)!r} (its holder never wrote itself)")


def release_lock(store: str | Path, holder: dict[str, Any]) -> None:
    """Remove the lock if this process holds it (unlinked while still locked, then the flock is dropped)."""
    path = lock_path(store)
    fd = _HELD.pop(str(path), None)
    if fd is None:
        return
    held = read_lock(store)
    if held and held.get("pid") == holder["pid"] and held.get("since") == holder["since"]:
        path.unlink(missing_ok=True)
    os.close(fd)


@contextmanager
def store_lock(store: str | Path, command: str | None = None, what: str = "store") -> Iterator[dict[str, Any]]:
    """Hold the lock of ``store`` (or of a run folder, ``what="run folder"``) for the duration of the block."""
    holder = acquire_lock(store, command, what)
    try:
        yield holder
    finally:
        release_lock(store, holder)
