"""Where a run is: a task bar on a terminal, and in any terminal or log (``nohup``, CI, batch jobs) a line at
most every few seconds, to the console and ``run.log``::

    run: extract 3/5 · cluster 40/156 · metrics 0/52 · 1,840 words/s · 0:12:04 elapsed · ETA 0:02:10

``words/s``: words extracted so far per second of the run while extraction lasts, counted inside running
tasks too (each extraction task reports its words as it computes them: in process directly, from a Dask worker
as worker events on :data:`TOPIC`). ``ETA``: the words left to extract at that pace, plus the tasks left in
each other stage times that stage's mean task time so far, over the workers; ``ETA >…`` while a stage with
tasks left has no finished task to time yet (its share is not counted). On a terminal a second bar counts
the words of extraction. ``tasks.json`` in the run folder is rewritten as tasks finish, so a running or killed
run can be read.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from engine.files import write_text_atomic

log = logging.getLogger("engine.schedule.executor")

LOG_EVERY_S = 10.0  # without a bar: a progress line this often
LOG_EVERY_S_WITH_BAR = 60.0  # with a bar (which shows the same): this often, for run.log
JOURNAL_EVERY_S = 5.0  # tasks.json rewritten at most this often while tasks finish (and at the end)
REPORT_EVERY_S = 1.0  # a task on a Dask worker reports its words at most this often
TOPIC = "babelscope-progress"  # the worker events that carry them: {"key": task key, "words": words so far}

_LISTENERS: list[Callable[[str, int], None]] = []  # in process: who hears a running task's words


@contextmanager
def listening(receiver: Callable[[str, int], None]) -> Iterator[None]:
    """While in this block, tasks running in this process report ``receiver(key, words so far)``."""
    _LISTENERS.append(receiver)
    try:
        yield
    finally:
        _LISTENERS.remove(receiver)


def _dask_worker() -> Any:
    if "distributed" not in sys.modules:  # never imported: not in a worker
        return None
    from distributed import get_worker

    try:
        return get_worker()
    except ValueError:
        return None


def task_reporter(key: str) -> Callable[[int], None]:
    """For a task: ``report(n)`` adds ``n`` words done and passes the running total on to the run's
    :class:`Progress` (at most every :data:`REPORT_EVERY_S` from a Dask worker; at once in process)."""
    worker = _dask_worker()
    state = {"words": 0, "sent": 0.0}

    def report(n: int) -> None:
        state["words"] += n
        if worker is None:
            for receiver in _LISTENERS:
                receiver(key, state["words"])
            return
        now = time.monotonic()
        if now - state["sent"] >= REPORT_EVERY_S:
            state["sent"] = now
            worker.log_event(TOPIC, {"key": key, "words": state["words"]})

    return report


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
    long task runs) and whenever a stage finishes. ``workers``: tasks that run at once, for the ETA;
    ``words_total``: the words extraction tasks still have to compute (for the word bar and the ETA)."""

    def __init__(self, stages: list[str], progress: bool, workers: int = 1, run_dir: str | Path | None = None,
                 every: float | None = None, words_total: int = 0):
        self.totals, self.done = Counter(stages), Counter()
        self.computed, self.seconds = Counter(), Counter()
        self.words = 0  # of finished extraction tasks
        self.live: dict[str, int] = {}  # running extraction task -> words so far
        self.finished: set[str] = set()
        self.words_until: float | None = None
        self.workers = max(1, workers)
        self.words_total = words_total
        self.bar = tqdm(total=len(stages), desc="run", unit="task", disable=not progress, leave=True)
        self.word_bar = tqdm(total=words_total, desc="extract", unit="word", unit_scale=True, leave=False,
                             disable=not (progress and words_total), position=1)
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
        self.word_bar.close()
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
        now = time.perf_counter()
        with self._lock:
            left, extracting, unknown = 0.0, 0.0, False
            words, rate = self._words_and_rate(now)
            for stage, total in self.totals.items():
                remaining = total - self.done[stage]
                if remaining <= 0:
                    continue
                if stage == "extract" and self.words_total and rate > 0:  # at the pace of the words so far
                    extracting = max(0, self.words_total - words) / rate
                elif self.computed[stage]:
                    left += remaining * self.seconds[stage] / self.computed[stage]
                else:
                    unknown = True
        return f"ETA {'>' if unknown else ''}{clock(extracting + left / self.workers)}"

    def _words_and_rate(self, now: float) -> tuple[int, float]:
        """Words extracted so far (running tasks included) and their pace per second of the run."""
        words = self.words + sum(self.live.values())
        span = (self.words_until or now) - self.started
        return words, (words / span if span > 0 else 0.0)

    def line(self) -> str:
        """The progress line (without the ``run:`` prefix of the log)."""
        now = time.perf_counter()
        parts = [f"run: {self.counts()}"]
        with self._lock:
            words, rate = self._words_and_rate(now)
            if words and rate:
                parts.append(f"{rate:,.0f} words/s")
        parts += [f"{clock(now - self.started)} elapsed", self.eta()]
        return " · ".join(p for p in parts if p)

    def running(self, key: str, words: int) -> None:
        """Extraction task ``key`` (its cache key), still running, has computed ``words`` words."""
        with self._lock:
            if key in self.finished:  # a report that arrived after the task's result
                return
            self.live[key] = max(words, self.live.get(key, 0))
        self._update_word_bar()

    def _update_word_bar(self) -> None:
        with self._lock:
            shown = min(self.words + sum(self.live.values()), self.words_total)
        if shown > self.word_bar.n:
            self.word_bar.update(shown - self.word_bar.n)

    def step(self, stage: str, key: str | None = None, payload: dict[str, Any] | None = None) -> None:
        """One task of ``stage`` finished with ``payload`` (its summary)."""
        payload = payload or {}
        with self._lock:
            self.done[stage] += 1
            reporter = payload.get("key", key)  # the task's cache key, which its word reports carry
            if reporter is not None:
                self.finished.add(reporter)
                self.live.pop(reporter, None)
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
        if stage == "extract":
            self._update_word_bar()
            if finished_stage:
                self.word_bar.close()
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
