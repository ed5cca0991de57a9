"""Content-addressed task cache in the run folder: ``cache/{stage}/{key}.json``, written atomically.

A task's key hashes its own settings and its inputs' keys, so a changed setting invalidates exactly the
tasks downstream of it. A cached payload is trusted only if the artefact it describes is still complete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.files import write_text_atomic


class TaskCache:
    """JSON payloads of finished tasks, by stage and key."""

    def __init__(self, run_dir: str | Path):
        self.root = Path(run_dir) / "cache"

    def _path(self, stage: str, key: str) -> Path:
        return self.root / stage / f"{key}.json"

    def get(self, stage: str, key: str) -> dict[str, Any] | None:
        """The cached payload, or None."""
        try:
            return json.loads(self._path(stage, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def put(self, stage: str, key: str, payload: dict[str, Any]) -> None:
        """Store ``payload`` (temp file + rename: a crash never leaves a half-written entry)."""
        write_text_atomic(self._path(stage, key), json.dumps(payload, default=str))
