"""The word tokenizer ``babelscope-punct-v1``: a Unicode-aware whitespace + punctuation split.

Rules, applied in this order (the same for every language and script):

1. Invisible characters are removed: format characters (Unicode category ``Cf``: bidi marks such as
   U+200E/U+200F, zero-width (non-)joiners U+200C/U+200D, soft hyphen U+00AD, BOM U+FEFF) and control
   characters (``Cc``) that are not whitespace. The zero-width space U+200B is a word break (it becomes a
   space), as in Thai or Khmer text.
2. The text is NFC-normalised (canonical composition only: "e" + U+0301 becomes "é"; compatibility forms
   such as ligatures, full-width letters or Arabic presentation forms are kept as written, so tokens stay
   faithful to the source; model tokenizers apply their own NFKC later).
3. The text is split on whitespace (``str.split()``, i.e. every Unicode whitespace character).
4. Each chunk is cut into *clusters*: a base character followed by its combining marks (``M*``), so a mark
   always stays with its base, also when the base is punctuation. A mark with no base starts a word cluster.
5. Clusters whose base is punctuation or a symbol (``P*`` or ``S*``) become tokens of their own; a run
   of the *same* punctuation cluster stays one token ("...", "--", "!!"); different ones split
   ("?!" -> "?", "!").
   Everything else (letters, digits, marks, other characters such as CJK ideographs, private-use or
   unassigned code points) forms word runs that are kept together ("abc123", "東京", "الله").
6. Exceptions that keep a punctuation character inside a word:
   - an apostrophe (' U+0027, ’ U+2019) or hyphen (- U+002D, ‐ U+2010, ‑ U+2011) with a *letter* on both
     sides: "don't", "can't", "l'homme", "aujourd'hui", "well-known", "Enseigne-moi", "weiß-rötlich" are one
     token each (French elisions are therefore not split: consistent across languages, no per-language lists);
     "Enos'" -> "Enos", "'"; "Feuer-" -> "Feuer", "-"; "COVID-19" -> "COVID", "-", "19".
   - a decimal or group separator ("." "," U+066B, U+066C) with a *decimal digit* on both sides:
     "3.14", "1,000", "1.000.000", "٣٫١٤" stay whole; "7:26" -> "7", ":", "26".

Guarantees (tested with hypothesis): tokens are never empty and never contain whitespace; the output is a
deterministic function of the input; and ``"".join(word_tokenize(t)) == "".join(normalize_text(t).split())``
— tokenization only removes whitespace and the invisible characters of rule 1, it never drops or reorders
visible text.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from itertools import chain

__all__ = ["WORD_TOKENIZER", "invisible_words", "is_invisible_word", "normalize_text", "word_tokenize"]

WORD_TOKENIZER = "babelscope-punct-v1"

_JOINERS = frozenset("'\u2019-\u2010\u2011")
_NUMBER_SEPARATORS = frozenset(".,\u066b\u066c")
_ZWSP = "\u200b"

# Cluster kinds.
_LETTER = 0
_DIGIT = 1
_OTHER_WORD = 2
_PUNCT = 3


def _is_invisible(ch: str) -> bool:
    """True for characters removed before tokenizing: ``Cf``, and ``Cc`` that is not whitespace."""
    cat = unicodedata.category(ch)
    return cat == "Cf" or (cat == "Cc" and not ch.isspace())


def normalize_text(text: str) -> str:
    """U+200B -> space; drop invisible characters (``Cf``, non-whitespace ``Cc``); NFC-normalise."""
    if not text.isprintable():  # printable text has no Cc/Cf characters: skip the scan
        text = "".join(ch for ch in text.replace(_ZWSP, " ") if not _is_invisible(ch))
    return unicodedata.normalize("NFC", text)


def is_invisible_word(word: str) -> bool:
    """True for a non-empty word made only of invisible characters (rule 1), which no model can see."""
    return bool(word) and all(_is_invisible(ch) or ch == _ZWSP for ch in word)


def invisible_words(text: str) -> int:
    """How many whitespace-separated chunks of ``text`` are made only of invisible characters (rule 1 removes
    them, so they are no words of the tokenized text)."""
    if text.isprintable():
        return 0
    return sum(is_invisible_word(chunk) for chunk in text.split())


def _clusters(chunk: str) -> list[tuple[str, int]]:
    """Cut a whitespace-free chunk into (base + combining marks, kind) clusters."""
    out: list[tuple[str, int]] = []
    for ch in chunk:
        cat = unicodedata.category(ch)
        if cat[0] == "M" and out:
            text, kind = out[-1]
            out[-1] = (text + ch, kind)
            continue
        if cat[0] == "L":
            kind = _LETTER
        elif cat == "Nd":
            kind = _DIGIT
        elif cat[0] in "PS":
            kind = _PUNCT
        else:
            kind = _OTHER_WORD
        out.append((ch, kind))
    return out


@lru_cache(maxsize=1 << 17)
def _split_chunk(chunk: str) -> tuple[str, ...]:
    """Tokenize one whitespace-free, normalised chunk (rules 4-6 of the module docstring)."""
    if chunk.isalpha() or chunk.isdecimal():
        return (chunk,)
    clusters = _clusters(chunk)
    tokens: list[str] = []
    current: list[str] = []
    current_is_word = False
    run_cluster = ""  # the repeated cluster of a punctuation run
    last = len(clusters) - 1
    for i, (text, kind) in enumerate(clusters):
        if kind == _PUNCT:
            base = text[0]
            if current_is_word and 0 < i < last:
                prev_kind, next_kind = clusters[i - 1][1], clusters[i + 1][1]
                joins = (base in _JOINERS and prev_kind == _LETTER and next_kind == _LETTER) or (
                    base in _NUMBER_SEPARATORS and prev_kind == _DIGIT and next_kind == _DIGIT
                )
                if joins:
                    current.append(text)
                    continue
            if current and not current_is_word and text == run_cluster:
                current.append(text)
                continue
            if current:
                tokens.append("".join(current))
            current, current_is_word, run_cluster = [text], False, text
        else:
            if current and not current_is_word:
                tokens.append("".join(current))
                current = []
            current.append(text)
            current_is_word = True
    if current:
        tokens.append("".join(current))
    return tuple(tokens)


def word_tokenize(text: str) -> list[str]:
    """Split ``text`` into words and punctuation tokens (rules in the module docstring).

    >>> word_tokenize("Well-known, isn't it? Pi is 3.14...")
    ['Well-known', ',', "isn't", 'it', '?', 'Pi', 'is', '3.14', '...']
    """
    return list(chain.from_iterable(map(_split_chunk, normalize_text(text).split())))
