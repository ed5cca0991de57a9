"""word_tokenize: hand cases in several scripts and hypothesis properties.

Invariant guaranteed by the rules (and checked here): tokens are non-empty, contain no whitespace, and
their concatenation equals the normalised input with whitespace removed:
``"".join(word_tokenize(t)) == "".join(normalize_text(t).split())``.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.corpus import WORD_TOKENIZER, word_tokenize
from engine.corpus.wordtok import normalize_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # English: contractions and hyphenated compounds stay whole, quotes split off.
        (
            "Don't stop, well-known 'quoted' words!",
            ["Don't", "stop", ",", "well-known", "'", "quoted", "'", "words", "!"],
        ),
        (
            "Enos' days (all of them) -- ended.",
            ["Enos", "'", "days", "(", "all", "of", "them", ")", "--", "ended", "."],
        ),
        ("Wait... what?!", ["Wait", "...", "what", "?", "!"]),
        ("God`s", ["God", "`", "s"]),
        # German: low-9 quotes, dangling hyphen of a shortened compound, ß and umlauts.
        ("„Es werde Licht!“, sprach er.", ["„", "Es", "werde", "Licht", "!", "“", ",", "sprach", "er", "."]),
        ("Feuer- und Wolkensäule, weiß-rötlich", ["Feuer", "-", "und", "Wolkensäule", ",", "weiß-rötlich"]),
        # French: elisions with ' or ’ stay one token (consistent with English contractions).
        (
            "l'homme d’aujourd’hui dit : Enseigne-moi !",
            ["l'homme", "d’aujourd’hui", "dit", ":", "Enseigne-moi", "!"],
        ),
        ("«Voici» [Ésaïe 7:14]", ["«", "Voici", "»", "[", "Ésaïe", "7", ":", "14", "]"]),
        # Spanish inverted marks.
        (
            "¿Conque Dios os ha dicho? ¡Cuán terrible!",
            ["¿", "Conque", "Dios", "os", "ha", "dicho", "?", "¡", "Cuán", "terrible", "!"],
        ),
        # Arabic: Arabic comma/question mark split; shadda (combining mark) stays on its letter.
        ("وقال الله، ليكن نور؟", ["وقال", "الله", "،", "ليكن", "نور", "؟"]),
        ("قد عظّم العمل؛ نعم.", ["قد", "عظّم", "العمل", "؛", "نعم", "."]),
        ("٣٫١٤ و ١٬٠٠٠", ["٣٫١٤", "و", "١٬٠٠٠"]),
        # Russian.
        (
            "И сказал Бог: да будет свет. «Господь там»",
            ["И", "сказал", "Бог", ":", "да", "будет", "свет", ".", "«", "Господь", "там", "»"],
        ),
        # Numbers: decimal/group separators between digits stay, other punctuation splits.
        (
            "Pi is 3.14, not 3; 1,000 or 1.000.000 sheep.",
            ["Pi", "is", "3.14", ",", "not", "3", ";", "1,000", "or", "1.000.000", "sheep", "."],
        ),
        ("7:26 -5 +3 $20 50% 2.", ["7", ":", "26", "-", "5", "+", "3", "$", "20", "50", "%", "2", "."]),
        ("COVID-19 abc123", ["COVID", "-", "19", "abc123"]),
        # CJK stays in word runs (no segmentation), CJK punctuation splits.
        ("東京は「日本」の首都。", ["東京は", "「", "日本", "」", "の首都", "。"]),
        # Whitespace of every kind, invisible characters.
        ("a\u00a0b\u3000c\td\ne", ["a", "b", "c", "d", "e"]),
        ("\u200eحينئذ\u200f.", ["حينئذ", "."]),
        ("soft\u00adhyphen zero\u200bwidth", ["softhyphen", "zero", "width"]),
        ("", []),
        ("   \t\n ", []),
    ],
)
def test_hand_cases(text: str, expected: list[str]) -> None:
    assert word_tokenize(text) == expected


def test_combining_marks_stay_with_their_base() -> None:
    # Decomposed é is composed (NFC); a mark without a precomposed form stays attached to its base, also
    # when the base is punctuation.
    assert word_tokenize("Cafe\u0301!") == ["Café", "!"]
    assert word_tokenize("a\u20dd-b") == ["a\u20dd-b"]
    assert word_tokenize("x !\u0301!\u0301 y") == ["x", "!\u0301!\u0301", "y"]
    assert word_tokenize("\u0301abc") == ["\u0301abc"]


def test_name() -> None:
    assert WORD_TOKENIZER == "babelscope-punct-v1"


_INTERESTING = st.sampled_from(
    list("aZéß'’-‐.,:;!?¿¡«»„“()[]*#`$%+=09٣٫٬،؟ـ")
    + [
        "\u0301",
        "\u0651",
        "\u20dd",
        "\u200b",
        "\u200c",
        "\u200e",
        "\u00ad",
        "\ufeff",
        "\x00",
        " ",
        "\t",
        "\n",
        "\u00a0",
        "\u3000",
        "\u2028",
        "東",
        "京",
        "И",
        "л",
        "ا",
        "ل",
        "가",
        "\u1100",
        "\u1161",
        "\U0001f600",
    ]
)
_TEXTS = st.one_of(st.text(), st.text(_INTERESTING, max_size=40), st.text(st.characters(), max_size=40))


@given(_TEXTS)
@settings(max_examples=600, deadline=None)
def test_properties(text: str) -> None:
    tokens = word_tokenize(text)
    for tok in tokens:
        assert tok, "empty token"
        assert not any(ch.isspace() for ch in tok), f"whitespace inside {tok!r}"
    assert "".join(tokens) == "".join(normalize_text(text).split())
    assert word_tokenize(text) == tokens  # deterministic
    # Tokens survive a round trip through space-joined text (what pretokenized files hold).
    assert word_tokenize(" ".join(tokens)) == tokens


@given(st.text(st.characters(categories=["Lu", "Ll", "Lo", "Nd"]), min_size=1, max_size=20))
def test_word_runs_are_one_token(word: str) -> None:
    assert word_tokenize(word) == [unicodedata.normalize("NFC", word)]


@given(st.text(st.characters(categories=["Po", "Ps", "Pe", "Sm", "Sc", "So"]), min_size=1, max_size=10))
def test_punctuation_never_merges_with_words(punct: str) -> None:
    tokens = word_tokenize(f"word{punct}word")
    if punct == "'":  # the one apostrophe/hyphen between letters joins
        assert tokens == ["word'word"]
    else:
        assert tokens[0] == "word" and tokens[-1] == "word"
        assert all(not any(ch.isalpha() for ch in tok) for tok in tokens[1:-1])


@given(st.integers(0, 10**9), st.integers(0, 10**6), st.sampled_from([".", ","]))
def test_numbers_with_separators_stay_whole(whole: int, frac: int, sep: str) -> None:
    assert word_tokenize(f"({whole}{sep}{frac}).") == ["(", f"{whole}{sep}{frac}", ")", "."]
