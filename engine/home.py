"""Where babelscope keeps prepared material (converted models, tokenizers)."""

from __future__ import annotations

import os
from pathlib import Path


def babelscope_home() -> Path:
    """Cache folder: ``$BABELSCOPE_HOME`` or ``~/.cache/babelscope`` (created on demand)."""
    root = os.environ.get("BABELSCOPE_HOME")
    path = Path(root).expanduser() if root else Path.home() / ".cache" / "babelscope"
    path.mkdir(parents=True, exist_ok=True)
    return path
