"""Instructor's rendering: execute the course notebooks in one profile and write HTML with outputs.

    python tools/render_html.py                          # all notebooks, profile $TLCOURSE_PROFILE or quick
    python tools/render_html.py --profile smoke --notebooks 00,01
    python tools/render_html.py --profile full --out build/html --timeout 1800

`make html PROFILE=smoke NOTEBOOKS=00,01` runs the same. Each notebook runs in a fresh python3
kernel of this interpreter, in notebooks/ (as nbval does), with TLCOURSE_PROFILE=<profile> and
matplotlib's inline backend, so the figures are in the HTML (an inherited MPLBACKEND=Agg, as `make
test` sets, would replace it and leave the HTML without a single figure). A failing cell does not stop the notebook: the HTML shows the error and the run
counts as failed. Writes <out>/NN_name.html and <out>/index.html (status and time of each);
prints one line per notebook and a summary; exits 1 if any notebook failed.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PROFILES = ("smoke", "quick", "full")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


@dataclass
class Result:
    name: str  # notebook stem, e.g. "03_how_transfer_learning_works"
    ok: bool
    seconds: float
    error: str = ""  # "cell 12: ValueError: ..." when it failed
    core_seconds: float | None = None  # the cells before "## Deep dives (optional)": the core path's compute


DEEP_DIVES_HEADING = "## Deep dives (optional)"
"""A notebook's optional last section starts with this heading; the cells before it are the core path."""


def core_cell_seconds(nb) -> float:
    """Seconds the code cells before the ``DEEP_DIVES_HEADING`` took to run (nbclient's timing).

    Each executed cell carries ``metadata.execution`` with ISO timestamps; a cell's time is from
    ``iopub.execute_input`` to ``shell.execute_reply``.
    """
    from datetime import datetime

    total = 0.0
    for cell in nb["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if cell["cell_type"] == "markdown" and source.lstrip().startswith(DEEP_DIVES_HEADING):
            break
        timing = cell.get("metadata", {}).get("execution", {})
        if cell["cell_type"] == "code" and "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                          for key in ("iopub.execute_input", "shell.execute_reply"))
            total += (end - start).total_seconds()
    return total


def find_notebooks(folder: Path, numbers: list[str] | None = None) -> list[Path]:
    """The notebooks ``NN_*.ipynb`` in ``folder``, all or those whose number is in ``numbers``."""
    found = {p.name[:2]: p for p in sorted(folder.glob("[0-9][0-9]_*.ipynb"))}
    if not numbers:
        return list(found.values())
    wanted = [n.strip().zfill(2) for n in numbers if n.strip()]
    missing = [n for n in wanted if n not in found]
    if missing:
        there = ", ".join(found)
        raise ValueError(f"no notebook numbered {', '.join(missing)} in {folder}; there are {there}")
    return [found[n] for n in dict.fromkeys(wanted)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default=os.environ.get("TLCOURSE_PROFILE") or "quick",
        help="course profile (default: $TLCOURSE_PROFILE, else quick)",
    )
    parser.add_argument("--notebooks", default="", help="comma-separated numbers, e.g. 03,05 (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "html", help="output folder")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell (default 1800)")
    parser.add_argument("--notebook-dir", type=Path, default=NOTEBOOKS, help=argparse.SUPPRESS)  # for the tests
    args = parser.parse_args(argv)
    if args.profile not in PROFILES:  # only reachable through a bad $TLCOURSE_PROFILE default
        choices = ", ".join(PROFILES)
        parser.error(f"unknown profile {args.profile!r} (from TLCOURSE_PROFILE); choose one of {choices}")
    try:
        args.paths = find_notebooks(args.notebook_dir, args.notebooks.split(",") if args.notebooks else None)
    except ValueError as e:
        parser.error(str(e))
    return args


def first_error(nb) -> str:
    """``"cell N: Name: message"`` for the first error output (N counts all cells from 1), or ``""``."""
    for i, cell in enumerate(nb.cells, start=1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                message = (str(out.get("evalue", "")).strip().splitlines() or [""])[0]
                return f"cell {i}: {out.get('ename', 'Error')}" + (f": {message}" if message else "")
    return ""


def core_cells(nb) -> list:
    """The cells before the ``DEEP_DIVES_HEADING`` (all of them when there is none)."""
    for index, cell in enumerate(nb["cells"]):
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        if cell["cell_type"] == "markdown" and source.lstrip().startswith(DEEP_DIVES_HEADING):
            return nb["cells"][:index]
    return nb["cells"]


def render(path: Path, out_dir: Path, profile: str, timeout: int, *, core_only: bool = False) -> Result:
    """Execute one notebook (errors kept in its outputs) and write ``out_dir/<stem>.html``.

    ``core_only``: run only the cells before the notebook's deep dives (the core path).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.read(path, as_version=4)
    if core_only:
        nb.cells = core_cells(nb)
    # The kernel's inline backend puts each figure into the outputs as a PNG; Agg would draw them nowhere.
    env = dict(os.environ, TLCOURSE_PROFILE=profile, MPLBACKEND=INLINE_BACKEND)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    client = NotebookClient(
        nb,
        kernel_name="python3",  # jupyter_client runs its "python" with sys.executable: this interpreter
        timeout=timeout,
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},  # the kernel's working directory
    )
    start = time.perf_counter()
    try:
        client.execute(env=env)
        error = first_error(nb)
    except Exception as e:  # timeout, dead kernel: the outputs so far still go to the HTML
        error = first_error(nb) or f"{type(e).__name__}: {(str(e).strip().splitlines() or [''])[0]}"
    seconds = time.perf_counter() - start
    body, _ = HTMLExporter().from_notebook_node(nb)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{path.stem}.html").write_text(body, encoding="utf-8")
    return Result(path.stem, not error, seconds, error, core_cell_seconds(nb))


def write_index(results: list[Result], out_dir: Path, profile: str) -> None:
    rows = "\n".join(
        f'<tr><td><a href="{html.escape(r.name)}.html">{html.escape(r.name)}</a></td>'
        f"<td>{'ok' if r.ok else 'FAILED'}</td><td>{r.seconds:.1f} s</td><td>{html.escape(r.error)}</td></tr>"
        for r in results
    )
    (out_dir / "index.html").write_text(
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>Course notebooks ({profile})</title></head>\n"
        f"<body><h1>Course notebooks, profile <code>{profile}</code></h1>\n"
        f"<table border='1' cellpadding='4'><tr><th>notebook</th><th>status</th><th>time</th><th>error</th></tr>\n"
        f"{rows}\n</table></body></html>\n",
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = []
    for i, path in enumerate(args.paths, start=1):
        print(f"[{i}/{len(args.paths)}] {path.stem} …", end=" ", flush=True)
        r = render(path, args.out, args.profile, args.timeout)
        print(f"ok {r.seconds:.1f} s" if r.ok else f"FAILED ({r.error})", flush=True)
        results.append(r)
    write_index(results, args.out, args.profile)
    failed = [r for r in results if not r.ok]
    print(f"\n{len(results) - len(failed)} ok, {len(failed)} failed (profile {args.profile}); HTML in {args.out}")
    for r in failed:
        print(f"  FAILED {r.name}: {r.error}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
