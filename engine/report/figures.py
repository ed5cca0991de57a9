"""What every plot module of the report shares: the figure, its PNG, the direction styles and names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engine.files import atomic_path

__all__ = ["DIRECTION_STYLE", "DPI", "Plot", "arrow", "figure", "save", "slug"]

DPI = 100
DIRECTION_STYLE = {"forward": ("--", 1.2, "o"), "backward": (":", 1.2, "s"), "mean": ("-", 2.2, "o"),
                   "joint": ("-", 2.2, "D")}


@dataclass(frozen=True)
class Plot:
    """A written PNG and what it shows (``kind``: excess | layers | degenerate | heatmap | curves | seeds)."""

    path: Path
    kind: str
    title: str
    model: str
    side: str
    pair: str = ""


def slug(*parts: object) -> str:
    """A file-name-safe join of ``parts`` ("intfloat/me5-small" -> "intfloat_me5-small")."""
    return "_".join(re.sub(r"[^A-Za-z0-9.=-]+", "-", str(p)).strip("-") for p in parts)


def figure(width: float, height: float):
    """A matplotlib figure of ``width`` × ``height`` inches, not registered with pyplot."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save(fig, path: Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (atomically, no software URL in it); return the path."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png", metadata={"Software": None},  # no URL inside the PNG
                    bbox_inches="tight", pad_inches=0.1)  # a long legend widens the image rather than being cut
    return path


def arrow(direction: str, src: str, tgt: str) -> str:
    """A direction in words (``forward`` of en, de: "en→de")."""
    return {"forward": f"{src}→{tgt}", "backward": f"{tgt}→{src}", "mean": "mean of both directions",
            "joint": f"joint {src}+{tgt}"}[direction]
