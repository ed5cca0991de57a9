"""FreeDict dictionaries in dictd format (Debian ``dict-freedict-*``: ``.index`` + ``.dict.dz``).

The index holds ``headword<TAB>offset<TAB>length`` lines, offset and length in dictd's base-64 digits
(``A-Z a-z 0-9 + /``); they address the uncompressed ``.dict`` text (``.dict.dz`` is dictzip, i.e. gzip).
An entry reads::

    God /ɡˈɒd/
    Gott <masc> [relig.]
          "if it pleases God"  - wenn es Gott gefällt
     see: {gods}

Line 1 is the headword (then pronunciation, part of speech); translation lines are the following lines
indented by at most one space, other than ``see:`` references; deeper-indented lines are examples, notes
and synonyms. From a translation line ``<…>``, ``[…]``, ``{…}`` and ``/ipa/`` are dropped; it is split on ``,``
``;`` and ``،``. Entries have no probability (NaN) and no count (0); ``rank`` is the order of a
headword's translations in the file (duplicates dropped). FreeDict data is GPL: it is read, never shipped.
"""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Collection
from pathlib import Path

import numpy as np

from engine.dictionary.types import Dictionary
from engine.errors import BackendUnavailableError, InputDataError

__all__ = ["FREEDICT_DIR", "freedict_paths", "read_freedict"]

log = logging.getLogger(__name__)

FREEDICT_DIR = Path("/usr/share/dictd")
_B64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
_DROP = re.compile(r"<[^>]*>|\[[^\]]*\]|\{[^}]*\}|(?:^|(?<=\s))/[^/\n]+/")
_SPLIT = re.compile(r"[,;،]")
_HEAD_END = re.compile(r"\s+(?:/|<|\()")


def _b64(text: str, line: int, origin: str) -> int:
    value = 0
    for ch in text:
        digit = _B64.get(ch)
        if digit is None:
            raise InputDataError(f"{origin}: line {line}: {text!r} is not a dictd base-64 number "
                                 f"(expected 'headword<TAB>offset<TAB>length')")
        value = value * 64 + digit
    return value


def freedict_paths(name_or_index: str | Path) -> tuple[Path, Path]:
    """(index, data) paths of a FreeDict name (``eng-deu``) or of an ``.index`` file path."""
    text = str(name_or_index)
    if text.endswith(".index") or "/" in text:
        index = Path(text)
    else:
        index = FREEDICT_DIR / f"freedict-{text}.index"
    stem = index.name.removesuffix(".index")
    for data in (index.with_name(stem + ".dict.dz"), index.with_name(stem + ".dict")):
        if data.is_file() and index.is_file():
            return index, data
    if not ("/" in text or text.endswith(".index")):
        raise BackendUnavailableError(f"FreeDict dictionary {text!r} is not installed ({index} and its .dict.dz "
                                      f"are missing); on Debian: apt-get install dict-freedict-{text}")
    raise InputDataError(f"dictd files {str(index)!r} and {stem}.dict.dz (or .dict) beside it do not exist")


def _translations(entry: str) -> tuple[str, list[str]]:
    lines = entry.split("\n")
    head = _HEAD_END.split(lines[0].strip(), maxsplit=1)[0].strip()
    found: list[str] = []
    for line in lines[1:]:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if not stripped or indent > 1 or stripped.startswith("see:"):
            continue
        for part in _SPLIT.split(_DROP.sub(" ", stripped)):
            word = " ".join(part.split())
            if word and word not in found:
                found.append(word)
    return head, found


def read_freedict(name_or_index: str | Path, *, headwords: Collection[str] | None = None,
                  lowercase: bool = False) -> Dictionary:
    """Read a FreeDict dictd dictionary (a name such as ``eng-deu`` or an ``.index`` path).

    ``headwords`` keeps only entries whose index headword (lowercase in FreeDict) or displayed headword is
    in it — much faster than reading all 464k entries of eng-deu. ``lowercase`` lowercases headwords and
    translations (running text is cased; FreeDict mostly is not).
    """
    index_path, data_path = freedict_paths(name_or_index)
    wanted = None if headwords is None else {w.lower() for w in headwords} | set(headwords)
    opener = gzip.open if data_path.suffix == ".dz" else open
    try:
        with opener(data_path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:
        raise InputDataError(f"{data_path}: cannot read dictd data ({exc})") from None
    entries: dict[str, list[str]] = {}
    origin = str(index_path)
    with index_path.open(encoding="utf-8", errors="strict") as handle:
        for number, raw in enumerate(handle, start=1):
            fields = raw.rstrip("\n").split("\t")
            if len(fields) < 3:
                raise InputDataError(f"{origin}: line {number}: expected 'headword<TAB>offset<TAB>length'; "
                                     f"got {raw.rstrip()!r}")
            key = fields[0].strip()
            if not key or key.startswith("00-database") or key.startswith("00database"):
                continue
            if wanted is not None and key not in wanted:
                continue
            start, length = _b64(fields[1], number, origin), _b64(fields[2], number, origin)
            if start + length > len(data):
                raise InputDataError(f"{origin}: line {number}: entry {key!r} at bytes {start}+{length} lies "
                                     f"beyond the {len(data)} bytes of {data_path.name}")
            head, words = _translations(data[start:start + length].decode("utf-8", errors="replace"))
            head = head or key
            if lowercase:
                head, words = head.lower(), [w.lower() for w in words]
            bucket = entries.setdefault(head, [])
            bucket.extend(w for w in words if w not in bucket)
    src = [h for h, words in entries.items() for _ in words]
    tgt = [w for words in entries.values() for w in words]
    rank = np.concatenate([np.arange(len(words), dtype=np.int32) for words in entries.values()]) if tgt \
        else np.zeros(0, np.int32)
    log.info("FreeDict %s: %d headwords, %d translations", index_path.name, len(entries), len(tgt))
    return Dictionary(src, tgt, np.full(len(src), np.nan), np.zeros(len(src), np.int64), rank,
                      {"source": str(index_path), "format": "freedict", "mode": "reference",
                       "lowercase": lowercase})
