"""Run every ``benchmarks/bench_*.py`` in turn and gather their tables into ``results/summary.md``.

    python benchmarks/run.py            # full sizes (make bench)
    python benchmarks/run.py --smoke    # tiny sizes, only to keep the scripts working (the test suite does this)
    python benchmarks/run.py --only extract cluster
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.common import RESULTS, machine_info  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the babelscope benchmarks.")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--only", nargs="*", default=None, help="names, e.g. extract cluster metrics")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    sections = [f"# babelscope benchmarks{' (smoke)' if args.smoke else ''}\n",
                "Machine: " + ", ".join(f"{k}={v}" for k, v in machine_info().items() if k != "blas") + "\n"]
    failed = []
    for script in scripts:
        command = [sys.executable, str(script), "--out", str(args.out)] + (["--smoke"] if args.smoke else [])
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        sys.stderr.write(done.stderr[-4000:])
        sys.stdout.write(done.stdout)
        status = "ok" if done.returncode == 0 else f"FAILED (exit {done.returncode})"
        if done.returncode:
            failed.append(script.name)
        sections.append(f"## {script.stem} — {status}, {seconds:.0f} s\n\n{done.stdout.strip()}\n")
    (args.out / "summary.md").write_text("\n".join(sections), encoding="utf-8")
    print(f"summary: {args.out / 'summary.md'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
