"""One writer run per store: a lock file naming its holder (pid, host, start time, command).

``store_lock(path)`` is taken by every command that writes a store (``run``, ``extract``, ``align``,
``select``, ``info --repair``). A second run on the same store is refused with a message naming the
holder. A lock left by a process that no longer exists on this host (killed, crashed, machine rebooted)
is stale: it is detected, logged and replaced. A lock held from another host cannot be checked from
here and is always refused; remove the file by hand once that run is known to be gone.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
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
        return {}  # unreadable: written by a process that died while writing it


def _describe(holder: dict[str, Any]) -> str:
    return (f"pid {holder.get('pid')} on host {holder.get('host')!r} since {holder.get('since')} "
            f"({holder.get('command')})")


def _try_create(path: Path, holder: dict[str, Any]) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(holder, fh)
    return True


def acquire_lock(store: str | Path, command: str | None = None) -> dict[str, Any]:
    """Take the lock of ``store`` or raise :class:`StoreError` naming the live holder; returns our record."""
    path = lock_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    holder = {"pid": pid, "host": socket.gethostname(), "pid_start": _process_start(pid),
              "since": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": command or " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:])}
    for _ in range(3):
        if _try_create(path, holder):
            return holder
        held = read_lock(store)
        if held is None:
            continue  # released meanwhile
        if held and held.get("host") != holder["host"]:
            raise StoreError(f"store {str(store)!r} is locked by {_describe(held)}, which cannot be checked from "
                             f"host {holder['host']!r}; once that run is gone, remove {str(path)!r}")
        if held and _alive(int(held.get("pid", -1)), held.get("pid_start")):
            raise StoreError(f"store {str(store)!r} is in use by {_describe(held)}; wait for it to finish "
                             f"(lock {str(path)!r})")
        log.warning("store %s: clearing a stale lock left by %s (that process is gone)", store,
                    _describe(held) if held else "an unreadable lock file")
        path.unlink(missing_ok=True)
    raise StoreError(f"store {str(store)!r}: could not take the lock {str(path)!r} (another run keeps taking it)")


def release_lock(store: str | Path, holder: dict[str, Any]) -> None:
    """Remove the lock if it is still ours."""
    held = read_lock(store)
    if held and held.get("pid") == holder["pid"] and held.get("since") == holder["since"]:
        lock_path(store).unlink(missing_ok=True)


@contextmanager
def store_lock(store: str | Path, command: str | None = None) -> Iterator[dict[str, Any]]:
    """Hold the lock of ``store`` for the duration of the block."""
    holder = acquire_lock(store, command)
    try:
        yield holder
    finally:
        release_lock(store, holder)
