"""The single-file report: embedded data and plots, no external URL, and (with Chromium) a page that loads,
renders every concept space without a script error, and a screenshot to look at.

Set BABELSCOPE_SCREENSHOTS=DIR to keep the screenshots (report-top.png, report-concepts.png) in DIR.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from engine.errors import BabelscopeError
from engine.report import build_concepts, render_report, write_run_tables
from engine.report.browser import browser_data
from engine.report.tables import read_run_tables
from tests.report.helpers import MODEL, SIDE, K, crafted_store, curves_frame, results_frame

STATE = f"model={MODEL}|{SIDE}&k={K}&layer=1&lang=en&other=de"


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("report")
    store, results = crafted_store(folder)
    concepts = pd.concat([build_concepts(store, model=MODEL, side=SIDE, layer=layer, k=K,
                                         calign={("en", "de"): results[layer]}, joint=[("en", "de")])
                          for layer in (0, 1)])
    run = folder / "run"
    write_run_tables(run, results_frame(models=(MODEL, "org/other")), curves_frame(), concepts,
                     meta={"config": {"cluster": {"k": K}}, "seconds": 12.5})
    return render_report(run, store), store


def embedded(html: str) -> dict:
    match = re.search(r'<script type="application/json" id="concept-data">(.*?)</script>', html, re.S)
    assert match, "no concept data element"
    return json.loads(match.group(1))


def test_report_embeds_plots_table_and_concepts(report):
    path, store = report
    html = path.read_text(encoding="utf-8")
    tables = read_run_tables(path.parent)
    assert embedded(html) == json.loads(json.dumps(browser_data(tables.concepts)))
    data = embedded(html)
    assert len(data["spaces"]) == 6 and set(data["languages"]) == {"en", "de"}
    space = next(s for s in data["spaces"] if s["id"] == f"{MODEL}|{SIDE}|1|{K}|en|de")
    assert space["clusters"]["0"]["words"] == [["God", 10, "en"]] and space["align"]["de"]["0"] == [0, 1.0, True, [0]]
    images = re.findall(r'<img src="([^"]*)"', html)
    assert len(images) == len(list((path.parent / "plots").glob("*.png"))) == 16  # 4 excess, layers, degenerate;
    # 2 heatmaps, 2 curves
    assert all(src.startswith("data:image/png;base64,") for src in images)
    table = html.split('id="results-table"')[1].split("</table>")[0]
    assert table.count("<tr><td>") == len(tables.results)
    summary = html.split('id="summary"')[1].split("</table>")[0]
    assert summary.count("<tr><td>") == 4  # model × pair
    # the headline: eligible-only CALIGN minus its floor, peaking at layer 3 (the floor rises at layer 4), raw
    # CALIGN last and labelled, peaking at layer 4
    header = re.findall(r"<th>(.*?)</th>", summary)
    assert header[4:] == ["peak CALIGN above chance (eligible-only − floor)", "peak COLAP",
                          "peak raw CALIGN (all concepts)"]
    assert ("<td><b>+0.300</b> ± 0.020 at layer 3 (eligible-only 0.600, floor 0.300, p = 0.05 of 20 repeats)</td>"
            "<td>0.500 at layer 4 (ceiling 0.900, p = 1 of 20 repeats)</td>"
            "<td>0.675 at layer 4 (floor 0.100, p = 0.05 of 20 repeats)</td>") in summary.replace("\n", "").replace(
        "          ", "")
    assert "Null models of this run: CALIGN floor: shuffled dictionary (target types relabelled); COLAP ceiling: " \
           "permuted languages." in html
    assert html.index('id="plots-excess"') < html.index('id="plots-layers"') < html.index('id="plots-degenerate"')
    assert html.count("A single-type CALIGN concept (one word type) passes the alignment test") == 2
    assert f"store <code>{store}</code>: 10 sentences, languages en, de" in html
    assert "&#34;seconds&#34;: 12.5" in html  # results.json, escaped in <pre>


def test_report_is_self_contained_and_escapes_corpus_text(report):
    html = report[0].read_text(encoding="utf-8")
    assert not re.search(r"(https?|ftp|wss?)://", html)
    assert not re.search(r'(src|href)="(?!data:|#)', html) and "url(" not in html and "@import" not in html
    assert "<script>alert" not in html and "<b>bold</b>" not in html  # verse 10 is text, not markup
    assert html.count("</script>") == 3  # error hook, data, browser script
    assert "\\u003cscript\\u003ealert" in html


def test_report_without_concepts(tmp_path):
    write_run_tables(tmp_path, results_frame(layers=[0, 1]))
    html = render_report(tmp_path).read_text(encoding="utf-8")
    assert embedded(html) == {"languages": {}, "spaces": []}
    assert "This run has no concepts table" in html and "store <code>" not in html


def test_empty_results_are_refused(tmp_path):
    write_run_tables(tmp_path, results_frame().iloc[:0])
    with pytest.raises(BabelscopeError, match="has an empty results table; nothing to report"):
        render_report(tmp_path)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def chromium(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_report_loads_in_chromium_without_errors(report, tmp_path):
    path = report[0]
    url = f"{path.as_uri()}#{STATE}&selftest=1"
    done = chromium(tmp_path, url, "--window-size=1400,1000", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    status = re.search(r'<div id="status" data-status="([^"]*)"[^>]*>([^<]*)</div>', done.stdout)
    assert status, done.stdout[:2000]
    assert status.group(1) == "ok", status.group(2)
    assert console_lines(done.stderr) == []
    cards = int(re.search(r"selftest rendered (\d+) cards", status.group(2)).group(1))
    assert cards > 100  # every space, filter and sort rendered
    assert done.stdout.count('class="card') == 8  # back to the hash's state: en, layer 1, all 8 concepts
    assert "<mark>God</mark>" in done.stdout and "&lt;script&gt;alert" not in done.stdout.split('id="cards"')[1]
    facts = dict(re.findall(r'data-(concepts-top|page-height)="(\d+)"', done.stdout))
    top, height = int(facts["concepts-top"]), int(facts["page-height"])
    assert 0 < top < height

    shot = tmp_path / "page.png"
    done = chromium(tmp_path, f"{path.as_uri()}#{STATE}", f"--window-size=1400,{min(height, 12000)}",
                    f"--screenshot={shot}")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    assert console_lines(done.stderr) == []
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1400, min(height, 12000))
        crops = {"report-top.png": image.crop((0, 0, 1400, min(top, 1600))),
                 "report-concepts.png": image.crop((0, top, 1400, min(height, top + 1800)))}
        for name, crop in crops.items():
            assert len(crop.getcolors(1 << 16) or range(1 << 16)) > 50  # not a blank page
            crop.save(tmp_path / name)
    keep = os.environ.get("BABELSCOPE_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in crops:
            shutil.copy(tmp_path / name, Path(keep) / name)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_report_without_concepts_loads_in_chromium(tmp_path):
    write_run_tables(tmp_path / "run", results_frame(layers=[0, 1]))
    path = render_report(tmp_path / "run")
    done = chromium(tmp_path, path.as_uri(), "--dump-dom")
    assert '<div id="status" data-status="ok"' in done.stdout and "ok: no concepts" in done.stdout
    assert console_lines(done.stderr) == []


def test_the_run_folder_holds_every_aligned_target_in_the_reference_format(report):
    path, _ = report
    tables = read_run_tables(path.parent)
    files = sorted((path.parent / "alignments").glob("*.txt"))
    assert [f.name for f in files] == [f"{MODEL}_{SIDE}_layer{layer}_k{K}_{a}-{b}.txt" for layer in (0, 1)
                                       for a, b in (("de", "en"), ("en", "de"))]
    concepts = tables.concepts
    for layer in (0, 1):
        rows = concepts[(concepts["layer"] == layer) & (concepts["lang"] == "en") & (concepts["other"] == "de")]
        want = [f"Source Cluster {c} is aligned to Target Clusters: {', '.join(map(str, set(t)))}"
                for c, t in sorted(zip(rows["cluster"], rows["aligned_targets"], strict=True)) if t]
        got = (path.parent / "alignments" / f"{MODEL}_{SIDE}_layer{layer}_k{K}_en-de.txt").read_text().splitlines()
        assert got == want and (layer == 0 or got), layer  # layer 1 clusters by concept: aligned


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_the_browser_lists_every_aligned_target(tmp_path):
    """An en concept aligned to two de concepts: its card names both, each with its top words."""
    def concept(lang, cluster, words, other="", aligned_to=-1, targets=()):
        return {"model": MODEL, "side": SIDE, "layer": 0, "lang": lang, "k": 2, "cluster": cluster, "n_tokens": 4,
                "n_types": len(words), "top_words": [[w, 2] for w in words], "aligned_to": aligned_to,
                "match_share": 1.0 if targets else 0.0, "aligned": bool(targets), "aligned_targets": list(targets),
                "other": other, "examples": []}

    concepts = pd.DataFrame([concept("en", 0, ["the"], "de", 1, (0, 1)), concept("en", 1, ["God"], "de", -1),
                             concept("de", 0, ["die", "das"], "en", -1), concept("de", 1, ["der"], "en", -1)])
    write_run_tables(tmp_path, results_frame(layers=[0, 1]), curves_frame(), concepts)
    path = render_report(tmp_path)
    done = chromium(tmp_path, f"{path.as_uri()}#model={MODEL}|{SIDE}&k=2&layer=0&lang=en&other=de", "--dump-dom")
    assert done.returncode == 0 and console_lines(done.stderr) == [], done.stderr[-2000:]
    assert 'class="targets">aligned to 2 concepts of de: <span class="target">0 (die, das)</span>' \
           '<span class="target"> · 1 (der)</span></div>' in done.stdout
    assert (tmp_path / "alignments" / f"{MODEL}_{SIDE}_layer0_k2_en-de.txt").read_text() == \
        "Source Cluster 0 is aligned to Target Clusters: 0, 1\n"


def _concept(lang, cluster, words, other="", aligned_to=-1, targets=()):
    return {"model": MODEL, "side": SIDE, "layer": 0, "lang": lang, "k": 2, "cluster": cluster, "n_tokens": 4,
            "n_types": len(words), "top_words": [[w, 2] for w in words], "aligned_to": aligned_to,
            "match_share": 1.0 if targets else 0.0, "aligned": bool(targets), "aligned_targets": list(targets),
            "other": other, "examples": []}


# en measured against de and against fr: each pair has its own CALIGN selection, so its own en clustering
TWO_PAIRS = pd.DataFrame([
    _concept("en", 0, ["the"], "de", 1, (1,)), _concept("en", 1, ["God"], "de"),
    _concept("de", 0, ["Gott"], "en"), _concept("de", 1, ["der"], "en", 0, (0,)),
    _concept("en", 0, ["house"], "fr", 0, (0,)), _concept("en", 1, ["said"], "fr"),
    _concept("fr", 0, ["maison"], "en", 0, (0,)), _concept("fr", 1, ["dit"], "en"),
])


def test_each_pair_keeps_its_own_clustering_of_a_shared_language():
    """Two pairs sharing English: two en spaces, each with its own concepts and its own alignment."""
    spaces = {s["id"]: s for s in browser_data(TWO_PAIRS)["spaces"]}
    assert sorted(spaces) == sorted(f"{MODEL}|{SIDE}|0|2|{lang}|{partner}" for lang, partner in
                                    (("en", "de"), ("de", "en"), ("en", "fr"), ("fr", "en")))
    with_de, with_fr = spaces[f"{MODEL}|{SIDE}|0|2|en|de"], spaces[f"{MODEL}|{SIDE}|0|2|en|fr"]
    assert with_de["clusters"]["0"]["words"] == [["the", 2, "en"]] and list(with_de["align"]) == ["de"]
    assert with_fr["clusters"]["0"]["words"] == [["house", 2, "en"]] and list(with_fr["align"]) == ["fr"]
    assert with_fr["align"]["fr"]["0"] == [0, 1.0, True, [0]]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_the_browser_shows_the_clustering_of_the_chosen_pair(tmp_path):
    """Choosing the other language picks that pair's en clustering, and the match is found in its partner."""
    write_run_tables(tmp_path, results_frame(layers=[0, 1]), curves_frame(), TWO_PAIRS)
    path = render_report(tmp_path)
    for other, left, right in (("fr", "house", "maison"), ("de", "the", "der")):
        done = chromium(tmp_path, f"{path.as_uri()}#model={MODEL}|{SIDE}&k=2&layer=0&lang=en&other={other}"
                                  "&selftest=1", "--dump-dom")
        assert done.returncode == 0 and console_lines(done.stderr) == [], done.stderr[-2000:]
        assert re.search(r'data-status="ok"[^>]*>ok: 4 concept spaces; selftest rendered \d+ cards', done.stdout)
        cards = done.stdout.split('id="cards"')[1]
        first = cards.split('class="card')[1]  # the aligned concept 0, its match on the right
        assert f'class="word">{left}<' in first and f'class="word">{right}<' in first, first[:1500]
        assert ">God<" not in cards if other == "fr" else ">house<" not in cards
