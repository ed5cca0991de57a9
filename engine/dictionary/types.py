"""The :class:`Dictionary` value: parallel arrays of (source word, target word, probability, count, rank)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import BabelscopeError, param_message


@dataclass(frozen=True)
class Dictionary:
    """Entry i says ``src[i]`` translates to ``tgt[i]``.

    prob:  float64 [n]  p(tgt | src) (NaN when the source gives none)
    count: int64 [n]    link count (0 when the source gives none)
    rank:  int32 [n]    0-based rank of the entry among its source word's entries; top-N keeps rank < N.
                        Built dictionaries rank by probability; ``reference`` reading ranks by file order.
    """

    src: list[str]
    tgt: list[str]
    prob: np.ndarray
    count: np.ndarray
    rank: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)  # JSON-able: source file, mode, languages

    def __post_init__(self) -> None:
        n = len(self.src)
        for name in ("tgt", "prob", "count", "rank"):
            if len(getattr(self, name)) != n:
                raise BabelscopeError(
                    param_message(name, "Dictionary", f"of length {n} (one per entry)", len(getattr(self, name)))
                )

    def __len__(self) -> int:
        return len(self.src)

    def top(self, n: int) -> Dictionary:
        """The entries ranked below ``n`` for each source word."""
        if not isinstance(n, int) or n < 1:
            raise BabelscopeError(param_message("n", "Dictionary.top", "a positive integer", n))
        keep = np.nonzero(self.rank < n)[0]
        return Dictionary([self.src[i] for i in keep], [self.tgt[i] for i in keep], self.prob[keep],
                          self.count[keep], self.rank[keep], {**self.meta, "top_n": n})

    def type_pairs(self, src_index: dict[str, int], tgt_index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        """Entries as (src_type, tgt_type) int64 arrays over the given vocabularies; unknown words dropped."""
        pairs = [(src_index[s], tgt_index[t]) for s, t in zip(self.src, self.tgt, strict=True)
                 if s in src_index and t in tgt_index]
        if not pairs:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        arr = np.asarray(pairs, dtype=np.int64)
        return arr[:, 0], arr[:, 1]
