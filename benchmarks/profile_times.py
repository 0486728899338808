"""How long each notebook's ``quick`` profile takes on this machine, measured offline. Run by hand.

    python benchmarks/profile_times.py                          # every available notebook, quick
    python benchmarks/profile_times.py --notebooks 03,05        # some of them
    python benchmarks/profile_times.py --write                  # also update benchmarks/quick_times.json

Each notebook runs start to end in a fresh kernel (as ``make html`` runs it), with
``TLCOURSE_PROFILE=<profile>`` and ``TLCOURSE_OFFLINE_TIMING=1`` (``tlcourse.settings.offline_timing``):
the profile's real image sizes, epochs, grids and example counts, but ``weights=None``, mock data with
``TIMING_MOCK_EXAMPLES`` examples and KerasHub models built from arguments at their presets' real
sizes. The compute of a forward or backward pass does not depend on the weights' values, so the wall
time is the profile's; downloads are excluded (``python -m tlcourse prefetch`` does them once), and so
is decoding real JPEGs (mock images are small). Results, feature caches and records go to a temporary
folder: every notebook starts cold, like a learner's first run, and no meaningless record lands in
``results/``. The accuracies of a timing run mean nothing.

Each notebook's *core cells* are the cells before its "## Deep dives (optional)" heading (nbclient's
per-cell timing); the sum over the core lessons (``tlcourse.course.core_path``) is the quick compute of
the beginner's core path, printed at the end. ``--write`` stores the times in ``benchmarks/quick_times.json``; ``python tools/nbtidy.py format``
copies them into README's course table and each notebook's "Time per profile" line, and a test checks
they agree. Close other programs first: the machine's load average is printed before and after.
Last line: ``slowest quick notebook: NN_name M.M min``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from render_html import find_notebooks, render  # noqa: E402  (tools/render_html.py)

from tlcourse.course import COURSE_MAP, core_path  # noqa: E402
from tlcourse.settings import OFFLINE_TIMING_ENV  # noqa: E402

TIMES_FILE = ROOT / "benchmarks" / "quick_times.json"
BUDGET_MINUTES = {"quick": 5.0, "full": None}  # the course's aim per notebook on 2 CPU cores (conventions.md)
CORE_PATH_COMPUTE_MINUTES = 15.0  # the whole core path's quick compute on 2 CPU cores, deep dives excluded


def load_times(path: Path = TIMES_FILE) -> dict:
    """The stored measurements: ``{"machine": ..., "notebooks": {"03_how_...": minutes, ...}}``."""
    if not path.exists():
        return {"notebooks": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("quick", "full"), default="quick")
    parser.add_argument("--notebooks", default="", help="comma-separated numbers, e.g. 03,05 (default: all available)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    parser.add_argument("--core-only", action="store_true",
                        help="run only each notebook's core cells (before its deep dives); not with --write")
    parser.add_argument("--whole", default="", help="with --core-only: comma-separated numbers to run whole anyway")
    parser.add_argument("--write", action="store_true", help=f"store the times in {TIMES_FILE.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    available = {f"{lesson.number:02d}" for lesson in COURSE_MAP if lesson.available}
    numbers = [n.strip().zfill(2) for n in args.notebooks.split(",") if n.strip()] or sorted(available)
    paths = [p for p in find_notebooks(ROOT / "notebooks", numbers) if p.name[:2] in available]
    if args.write and args.profile != "quick":
        parser.error("--write stores quick times only")
    if args.write and args.core_only:
        parser.error("--write stores whole-notebook times: leave out --core-only")
    whole = {n.strip().zfill(2) for n in args.whole.split(",") if n.strip()}

    scratch = Path(tempfile.mkdtemp(prefix="tlcourse-times-"))
    os.environ.update({OFFLINE_TIMING_ENV: "1", "TLCOURSE_RESULTS_DIR": str(scratch / "results"),
                       "TLCOURSE_DATA_DIR": str(scratch / "data"), "TLCOURSE_PROFILE": args.profile})
    cores = os.cpu_count()
    print(f"{args.profile} profile, offline timing run on {cores} CPU cores ({platform.processor() or platform.machine()}), "
          f"load average before: {os.getloadavg()[0]:.1f}; scratch folder {scratch}")
    rows, core = [], {}
    for i, path in enumerate(paths, start=1):
        result = render(path, scratch / "html", args.profile, args.timeout,
                        core_only=args.core_only and path.name[:2] not in whole)
        minutes = result.seconds / 60
        rows.append((path.stem, minutes, result.ok, result.error))
        core[path.stem] = (result.core_seconds or 0.0) / 60
        print(f"[{i}/{len(paths)}] {path.stem:<42} {minutes:5.1f} min (core cells {core[path.stem]:4.1f} min)  "
              f"{'ok' if result.ok else 'FAILED: ' + result.error}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}; notebooks with outputs: {scratch / 'html'}")

    budget = BUDGET_MINUTES[args.profile]
    print(f"\n| notebook | {args.profile} (min) | within {budget} min |" if budget else f"\n| notebook | {args.profile} (min) |")
    print("|---|---|---|" if budget else "|---|---|")
    for stem, minutes, ok, _ in rows:
        verdict = ("yes" if minutes <= budget else "NO") if budget else ""
        print(f"| {stem} | {minutes:.1f}{'' if ok else ' (failed)'} |" + (f" {verdict} |" if budget else ""))
    failed = [stem for stem, _, ok, _ in rows if not ok]
    if args.write and len(failed) < len(rows):  # a failed notebook keeps its old time (or none)
        stored = load_times()
        stored["notebooks"].update({stem: round(minutes, 1) for stem, minutes, ok, _ in rows if ok})
        stored.setdefault("core_cells", {}).update({stem: round(core[stem], 2) for stem, _, ok, _ in rows if ok})
        stored["machine"] = f"{cores} CPU cores, {platform.machine()}"
        stored["measured"] = datetime.date.today().isoformat()
        TIMES_FILE.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"stored in {TIMES_FILE.relative_to(ROOT)}; run `python tools/nbtidy.py format` to update README and notebooks")
    if args.write and failed:
        print(f"not stored: {', '.join(failed)} failed")
    on_path = {lesson.filename[:-len(".ipynb")] for lesson in core_path()}
    measured = {stem: minutes for stem, minutes in core.items() if stem in on_path}
    if measured:
        total = sum(measured.values())
        print(f"core path: the cells before each core lesson's deep dives took {total:.1f} min in all "
              f"({len(measured)} of {len(on_path)} core lessons measured; aim: at most {CORE_PATH_COMPUTE_MINUTES} min)")
    if rows:
        stem, minutes, _, _ = max(rows, key=lambda row: row[1])
        print(f"slowest {args.profile} notebook: {stem} {minutes:.1f} min")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
