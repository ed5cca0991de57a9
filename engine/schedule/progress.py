"""Where a run is: a task bar on a terminal, and in any terminal or log (``nohup``, CI, batch jobs) a line at
most every few seconds, to the console and ``run.log``::

    run: extract 3/5 · cluster 40/156 · metrics 0/52 · 1,840 words/s · 0:12:04 elapsed · ETA 0:02:10

``words/s``: words extracted so far per second of the run while extraction lasts. ``ETA``: the tasks left in
each stage times that stage's mean task time so far, over the workers; ``ETA >…`` while a stage with tasks
left has no finished task to time yet (its share is not counted). ``tasks.json`` in the run folder is
rewritten as tasks finish, so a running or killed run can be read.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from engine.files import write_text_atomic

log = logging.getLogger("engine.schedule.executor")

LOG_EVERY_S = 10.0  # without a bar: a progress line this often
LOG_EVERY_S_WITH_BAR = 60.0  # with a bar (which shows the same): this often, for run.log
JOURNAL_EVERY_S = 5.0  # tasks.json rewritten at most this often while tasks finish (and at the end)


def clock(seconds: float) -> str:
    """``h:mm:ss`` ("?" for NaN)."""
    if seconds != seconds:
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


class Progress:
    """Counts finished tasks per stage (``stages``: the stage of every task of the graph) and reports them:
    the bar when ``progress``, a log line every :data:`LOG_EVERY_S` seconds (from a timer, so also while a
    long task runs) and whenever a stage finishes. ``workers``: tasks that run at once, for the ETA."""

    def __init__(self, stages: list[str], progress: bool, workers: int = 1, run_dir: str | Path | None = None,
                 every: float | None = None):
        self.totals, self.done = Counter(stages), Counter()
        self.computed, self.seconds = Counter(), Counter()
        self.words = 0
        self.words_until: float | None = None
        self.workers = max(1, workers)
        self.bar = tqdm(total=len(stages), desc="run", unit="task", disable=not progress, leave=True)
        self.started = time.perf_counter()
        self.every = every if every is not None else (LOG_EVERY_S_WITH_BAR if progress else LOG_EVERY_S)
        self.journal = Path(run_dir) / "tasks.json" if run_dir is not None else None
        self.results: dict[str, dict[str, Any]] = {}
        self.journaled = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._tick, name="babelscope-progress", daemon=True)

    def __enter__(self) -> Progress:
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._timer.join()
        self.bar.close()
        self._write_journal(force=True)

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            log.info("%s", self.line())

    def counts(self) -> str:
        """``extract 3/5 · cluster 40/156 · …``"""
        with self._lock:
            return " · ".join(f"{s} {self.done[s]}/{self.totals[s]}" for s in self.totals)

    def eta(self) -> str:
        """The time left at each stage's pace so far (see the module docstring)."""
        with self._lock:
            left, unknown = 0.0, False
            for stage, total in self.totals.items():
                remaining = total - self.done[stage]
                if remaining <= 0:
                    continue
                if self.computed[stage]:
                    left += remaining * self.seconds[stage] / self.computed[stage]
                else:
                    unknown = True
        return f"ETA {'>' if unknown else ''}{clock(left / self.workers)}"

    def line(self) -> str:
        """The progress line (without the ``run:`` prefix of the log)."""
        now = time.perf_counter()
        parts = [f"run: {self.counts()}"]
        with self._lock:
            if self.words:
                span = (self.words_until or now) - self.started
                parts.append(f"{self.words / span:,.0f} words/s" if span > 0 else "")
        parts += [f"{clock(now - self.started)} elapsed", self.eta()]
        return " · ".join(p for p in parts if p)

    def step(self, stage: str, key: str | None = None, payload: dict[str, Any] | None = None) -> None:
        """One task of ``stage`` finished with ``payload`` (its summary)."""
        payload = payload or {}
        with self._lock:
            self.done[stage] += 1
            if payload.get("computed"):
                self.computed[stage] += 1
                self.seconds[stage] += float(payload.get("seconds", 0.0))
                if stage == "extract":
                    self.words += int(payload.get("words", 0))
            if stage == "extract" and self.done[stage] == self.totals[stage]:
                self.words_until = time.perf_counter()
            if key is not None:
                self.results[key] = payload
            finished_stage = self.done[stage] == self.totals[stage]
        self.bar.set_postfix_str(self.counts())
        self.bar.update()
        if finished_stage:
            log.info("%s", self.line())
        self._write_journal()

    def _write_journal(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.journal is None or not (force or now - self.journaled >= JOURNAL_EVERY_S):
            return
        self.journaled = now
        with self._lock:
            text = json.dumps(self.results, indent=1, default=str)
        try:
            write_text_atomic(self.journal, text)
        except OSError as exc:  # a progress record: never the reason a run fails
            log.warning("could not write %s: %s", self.journal, exc)
