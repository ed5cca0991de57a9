"""The progress line of a run (any terminal or log), its ETA, and tasks.json written as tasks finish."""

from __future__ import annotations

import json
import logging
import re
import time

from engine.config import validate_config
from engine.schedule import progress as progress_module
from engine.schedule import run_pipeline
from engine.schedule.progress import Progress, clock
from tests.reliability.helpers import config_data

LINE = re.compile(r"run: extract \d+/\d+ · extract_done \d+/\d+ · align \d+/\d+ · select \d+/\d+ · cluster \d+/\d+ · "
                  r"metrics \d+/\d+( · [\d,]+ words/s)? · \d+:\d\d:\d\d elapsed · ETA >?\d+:\d\d:\d\d")


def test_eta_is_each_stage_left_at_its_own_pace_over_the_workers(tmp_path):
    stages = ["extract"] * 4 + ["cluster"] * 3
    with Progress(stages, progress=False, workers=2, run_dir=tmp_path, every=3600) as bar:
        assert bar.eta() == "ETA >0:00:00"  # nothing timed yet
        bar.step("extract", "e0", {"computed": True, "seconds": 10.0, "words": 500})
        bar.step("extract", "e1", {"computed": False})  # cached: counts as done, not in the pace
        assert bar.eta() == "ETA >0:00:10"  # 2 extractions x 10 s / 2 workers; cluster not timed yet
        bar.step("cluster", "c0", {"computed": True, "seconds": 100.0})
        assert bar.eta() == f"ETA {clock((2 * 10 + 2 * 100) / 2)}"
        assert bar.counts() == "extract 2/4 · cluster 1/3"
        assert " words/s · " in bar.line()
    journal = json.loads((tmp_path / "tasks.json").read_text())
    assert list(journal) == ["e0", "e1", "c0"] and journal["c0"]["seconds"] == 100.0


def test_words_of_running_extraction_tasks_count_before_they_finish(tmp_path):
    with Progress(["extract"] * 2 + ["cluster"], progress=False, run_dir=tmp_path, every=3600,
                  words_total=1000) as bar:
        bar.started -= 10.0  # the run began 10 s ago
        bar.running("e0", 100)
        bar.running("e1", 150)
        assert bar.counts() == "extract 0/2 · cluster 0/1"
        assert " · 25 words/s · " in bar.line()  # 250 words in 10 s, though no task has finished
        assert bar.eta() == "ETA >0:00:30"  # 750 words left at 25 words/s; cluster not timed yet
        bar.step("extract", "extract-e0", {"key": "e0", "computed": True, "seconds": 9.0, "words": 400})
        bar.running("e0", 120)  # a report that arrives after its task's result is not counted again
        assert bar.words + sum(bar.live.values()) == 550


def test_a_dask_worker_reports_a_running_tasks_words_to_the_client():
    """The words of a task on a worker process reach the client as events while the task still runs."""
    from distributed import Client, Event, LocalCluster

    from engine.schedule.progress import TOPIC, task_reporter

    def task(key):
        report = task_reporter(key)
        report(40)
        Event("reported").wait(60)  # still running when the client hears of it
        report(2)
        return 42

    heard = []
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        client.subscribe_topic(TOPIC, lambda event: heard.append(event[1]))
        future = client.submit(task, "extract-0", pure=False)
        deadline = time.monotonic() + 60
        while not heard and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not future.done()
        Event("reported", client=client).set()
        assert future.result() == 42
    assert heard[0]["key"] == "extract-0" and heard[0]["words"] == 40


def test_tasks_json_is_written_while_tasks_finish(tmp_path, monkeypatch):
    monkeypatch.setattr(progress_module, "JOURNAL_EVERY_S", 0.0)
    with Progress(["a", "a"], progress=False, run_dir=tmp_path, every=3600) as bar:
        bar.step("a", "a0", {"computed": True, "seconds": 1.0})
        assert list(json.loads((tmp_path / "tasks.json").read_text())) == ["a0"]  # before the run ends


def test_the_line_comes_from_a_timer_while_a_long_task_runs(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="engine.schedule.executor"):
        with Progress(["extract"], progress=False, every=0.05):
            time.sleep(0.3)  # no task finishes
    lines = [m for m in caplog.messages if m.startswith("run: extract 0/1")]
    assert len(lines) >= 2 and lines[0].endswith(" elapsed · ETA >0:00:00")


def test_a_run_without_a_terminal_logs_progress_lines(tiny_models, bible_links, tmp_path, monkeypatch):
    monkeypatch.setattr(progress_module, "LOG_EVERY_S", 0.5)
    heard: dict[str, list[int]] = {}
    running = Progress.running

    def spy(self, key, words):
        heard.setdefault(key, []).append(words)
        running(self, key, words)

    monkeypatch.setattr(Progress, "running", spy)
    data = config_data(tiny_models["bert"], bible_links, tmp_path, "r")
    data["extract"]["layers"] = [2]
    run_pipeline(validate_config(data), progress=False)
    journal = json.loads((tmp_path / "r" / "tasks.json").read_text())
    # in process, every batch of an extraction task is heard of as it is computed, up to the task's words
    extracted = {p["key"]: p["words"] for p in journal.values() if p["stage"] == "extract" and p["words"]}
    assert extracted and set(heard) == set(extracted)
    assert all(counts == sorted(counts) and counts[-1] == extracted[key] for key, counts in heard.items())
    lines = [line.split(": ", 1)[1] for line in (tmp_path / "r" / "run.log").read_text().splitlines()
             if " engine.schedule.executor: run: " in line]
    assert len(lines) >= 6 and all(LINE.fullmatch(line) for line in lines), lines  # one per stage at least
    assert re.search(r" · [\d,]+ words/s · ", lines[-1])
    assert lines[-1].startswith("run: extract 23/23 · extract_done 2/2 · align 1/1 · select 1/1 · cluster 3/3 · "
                                "metrics 1/1") and lines[-1].endswith(" · ETA 0:00:00")
    assert len(json.loads((tmp_path / "r" / "tasks.json").read_text())) == 31
