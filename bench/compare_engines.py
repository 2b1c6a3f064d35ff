#!/usr/bin/env python3
"""Per-step overhead of aiv against Snakemake and doit on synthetic workflows.

Three shapes, each step a near no-op that writes one tiny file:

  chain-100      100 steps, each needing the one before it
  fanout-1000    1,000 independent steps, then one step needing all of them
  layers-10x100  10 layers of 100 steps; step i of layer k>0 needs steps i and
                 (i+1) mod 100 of layer k-1

For every tool and shape it measures a cold run (fresh folder: no state, no
outputs) and then an up-to-date re-run of the same folder with nothing changed
(aiv: same --state-dir and --run-dir; then once more into a new --run-dir, its
default), and the time a plain loop takes to write the same files (the floor).
Every measurement is repeated and the
median kept. All tools get the same parallelism (--jobs, default 2). At the end
it prints Markdown tables: wall time and time per step for each tool, aiv's
ratio to each peer, and whether the target "aiv's per-step overhead at most a
tenth of the faster peer's, cold and cached" is met.

Standard library only; the peers are installed into a virtualenv
(--python-venv, created with pip if missing).

  swift build -c release --static-swift-stdlib --product aiv && python3 bench/compare_engines.py
  python3 bench/compare_engines.py --tools snakemake,doit --snakemake-repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

TOOLS = ("aiv", "snakemake", "doit")
TARGET_FACTOR = 10  # aiv's per-step overhead must be at most 1/10 of the faster peer's


# --------------------------------------------------------------------------- shapes

@dataclass
class Shape:
    name: str
    steps: list[tuple[str, list[str]]]  # (id, ids it needs), in a valid topological order

    @property
    def sinks(self) -> list[str]:
        """Steps nothing depends on: what the peers are asked to build."""
        needed = {dep for _, needs in self.steps for dep in needs}
        return [sid for sid, _ in self.steps if sid not in needed]


def chain(n: int = 100) -> Shape:
    return Shape(f"chain-{n}", [(f"s{i}", [f"s{i - 1}"] if i else []) for i in range(n)])


def fanout(n: int = 1000) -> Shape:
    leaves = [(f"s{i}", []) for i in range(n)]
    return Shape(f"fanout-{n}", leaves + [("join", [sid for sid, _ in leaves])])


def layers(depth: int = 10, width: int = 100) -> Shape:
    steps = []
    for k in range(depth):
        for i in range(width):
            needs = [f"l{k - 1}_{i}", f"l{k - 1}_{(i + 1) % width}"] if k else []
            steps.append((f"l{k}_{i}", needs))
    return Shape(f"layers-{depth}x{width}", steps)


SHAPES = {s.name: s for s in (chain(), fanout(), layers())}
# A workflow of one step, measured for every tool beside the shapes: its time is the tool's fixed
# cost (start-up, reading its state), which the per-step figures "beyond start-up" take away.
SINGLE = chain(1)


def out_path(sid: str) -> str:
    return f"out/{sid}.txt"


# --------------------------------------------------------------------------- tool adapters
#
# Each adapter writes its workflow into a fresh folder, then runs it cold and
# again up to date. run() returns (seconds, note); note is "" when the run did
# what was expected and a short warning otherwise. A non-zero exit status or a
# missing output raises BenchError.

class BenchError(RuntimeError):
    pass


def timed(cmd: list[str], cwd: Path, log: Path, timeout: float) -> tuple[float, int]:
    """Run cmd with its output going to log; return (wall seconds, exit status)."""
    # Not subprocess.run(timeout=...): waiting with a timeout polls with sleeps of
    # up to 50 ms, which would add up to 50 ms to every measurement. A blocking
    # wait returns as soon as the process exits; a timer kills it if it hangs.
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            status = proc.wait()
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
    if seconds >= timeout:
        raise BenchError(f"{' '.join(cmd[:2])} killed after {timeout:.0f} s (log: {log})")
    return seconds, status


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


def mtimes(folder: Path, shape: Shape) -> dict[str, int]:
    return {sid: (folder / out_path(sid)).stat().st_mtime_ns for sid, _ in shape.steps}


def check_outputs(tool: str, folder: Path, shape: Shape) -> None:
    missing = [sid for sid, _ in shape.steps if not (folder / out_path(sid)).is_file()]
    if missing:
        raise BenchError(f"{tool} {shape.name}: cold run exited 0 but {len(missing)} outputs are missing "
                         f"under {folder} (first: {out_path(missing[0])})")


class Aiv:
    name = "aiv"

    def __init__(self, binary: Path, jobs: int, timeout: float):
        self.binary, self.jobs, self.timeout = binary, jobs, timeout

    def version(self) -> str:
        r = subprocess.run([str(self.binary), "--version"], capture_output=True, text=True)
        return r.stdout.strip() or r.stderr.strip()

    def prepare(self, folder: Path, shape: Shape) -> None:
        lines = [f"name: {shape.name}", "steps:"]
        for sid, needs in shape.steps:
            lines.append(f"  - id: {sid}")
            lines.append("    uses: file.write")
            if needs:
                lines.append(f"    needs: [{', '.join(needs)}]")
            lines.append(f'    with: {{path: {out_path(sid)}, content: "{sid}"}}')
        (folder / "workflow.yaml").write_text("\n".join(lines) + "\n")

    def run(self, folder: Path, shape: Shape, cold: bool, new_folder: bool = False) -> tuple[float, str]:
        # Up to date means the same run folder again, as the peers re-run where their outputs
        # are; new_folder is aiv's default of a new run folder, where every file is put back.
        label = "cold" if cold else ("fresh" if new_folder else "cached")
        run_dir = folder / ("run-fresh" if new_folder else "run-cold")
        log = folder / f"aiv-{label}.log"
        cmd = [str(self.binary), "run", "workflow.yaml", "--max-parallel", str(self.jobs),
               "--state-dir", "state", "--run-dir", str(run_dir), "--json"]
        seconds, status = timed(cmd, folder, log, self.timeout)
        statuses: dict[str, str] = {}
        errors: list[str] = []
        run_status = None
        for line in log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "step_finished":
                statuses[event.get("step")] = event.get("status")
                if event.get("status") == "failed":
                    errors.append(f"  {event.get('step')}: {event.get('error')}")
            elif event.get("event") == "run_finished":
                run_status = event.get("status")
        if status != 0:
            detail = "failed steps:\n" + "\n".join(errors[:5]) if errors else f"its last lines:\n{tail(log)}"
            raise BenchError(f"aiv run ({shape.name}, {label}) exited with status {status} (log: {log}); {detail}")
        if run_status != "succeeded":
            raise BenchError(f"aiv run ({shape.name}, {label}) exited 0 but reported run status {run_status!r} ({log})")
        n = len(shape.steps)
        if len(statuses) != n:
            return seconds, f"aiv reported {len(statuses)}/{n} steps"
        if cold:
            check_outputs("aiv", run_dir, shape)
            ran = sum(1 for s in statuses.values() if s == "succeeded")
            return seconds, "" if ran == n else f"cold: {n - ran}/{n} steps not run"
        cached = sum(1 for s in statuses.values() if s == "cached")
        return seconds, "" if cached == n else f"re-run: only {cached}/{n} steps cached"


class Snakemake:
    # Each rule uses `shell:` rather than `run:`. With --cores > 1 Snakemake
    # starts a whole new Snakemake process for every `run:` job; measured here at
    # about 2 s per job (58 s for a 30-step chain) against a few tens of ms per
    # job for `shell: "echo ... > {output}"`, so shell is by far the cheaper choice.
    name = "snakemake"

    def __init__(self, venv: Path, jobs: int, timeout: float):
        self.exe, self.jobs, self.timeout = venv / "bin" / "snakemake", jobs, timeout

    def version(self) -> str:
        return subprocess.run([str(self.exe), "--version"], capture_output=True, text=True).stdout.strip()

    def prepare(self, folder: Path, shape: Shape) -> None:
        parts = [f"rule all:\n    input: {[out_path(s) for s in shape.sinks]!r}\n"]
        for sid, needs in shape.steps:
            rule = [f"rule {sid}:"]
            if needs:
                rule.append(f"    input: {[out_path(d) for d in needs]!r}")
            rule.append(f"    output: {out_path(sid)!r}")
            rule.append(f'    shell: "echo {sid} > {{output}}"')
            parts.append("\n".join(rule) + "\n")
        (folder / "Snakefile").write_text("\n".join(parts))

    def run(self, folder: Path, shape: Shape, cold: bool) -> tuple[float, str]:
        label = "cold" if cold else "cached"
        log = folder / f"snakemake-{label}.log"
        before = None if cold else mtimes(folder, shape)
        seconds, status = timed([str(self.exe), "--cores", str(self.jobs)], folder, log, self.timeout)
        if status != 0:
            raise BenchError(f"snakemake ({shape.name}, {label}) exited with status {status}; its last lines ({log}):\n{tail(log)}")
        if cold:
            check_outputs("snakemake", folder, shape)
            return seconds, ""
        changed = sum(1 for sid, t in mtimes(folder, shape).items() if before[sid] != t)
        if changed or "Nothing to be done" not in log.read_text(errors="replace"):
            return seconds, f"re-run rewrote {changed} outputs"
        return seconds, ""


class Doit:
    # One doit task per step (sub-tasks of one generator, as doit users write it):
    # `targets` its file, `file_dep` the files of the steps it needs, a Python
    # callable as its action. Steps needing nothing get `uptodate: [True]`, or
    # doit would rerun them every time (a task with no dependencies is never up
    # to date). `-n 2` runs two worker processes (doit's default -P process).
    name = "doit"

    def __init__(self, venv: Path, jobs: int, timeout: float, backend: str):
        self.exe, self.jobs, self.timeout, self.backend = venv / "bin" / "doit", jobs, timeout, backend

    def version(self) -> str:
        v = subprocess.run([str(self.exe), "--version"], capture_output=True, text=True).stdout.splitlines()
        return (v[0] if v else "?") + f" (backend {self.backend})"

    def prepare(self, folder: Path, shape: Shape) -> None:
        steps = [(sid, out_path(sid), [out_path(d) for d in needs]) for sid, needs in shape.steps]
        (folder / "out").mkdir(exist_ok=True)
        (folder / "dodo.py").write_text(f'''\
DOIT_CONFIG = {{"default_tasks": ["step"], "backend": {self.backend!r}, "dep_file": ".doit.db"}}

STEPS = {steps!r}


def write(path, text):
    with open(path, "w") as f:
        f.write(text + "\\n")


def task_step():
    for sid, target, deps in STEPS:
        task = {{"name": sid, "actions": [(write, [target, sid])], "targets": [target], "file_dep": deps}}
        if not deps:
            task["uptodate"] = [True]
        yield task
''')

    def run(self, folder: Path, shape: Shape, cold: bool) -> tuple[float, str]:
        label = "cold" if cold else "cached"
        log = folder / f"doit-{label}.log"
        before = None if cold else mtimes(folder, shape)
        seconds, status = timed([str(self.exe), "run", "-n", str(self.jobs)], folder, log, self.timeout)
        if status != 0:
            raise BenchError(f"doit ({shape.name}, {label}) exited with status {status}; its last lines ({log}):\n{tail(log)}")
        if cold:
            check_outputs("doit", folder, shape)
            return seconds, ""
        lines = log.read_text(errors="replace").splitlines()
        executed = sum(1 for line in lines if line.startswith(". "))
        changed = sum(1 for sid, t in mtimes(folder, shape).items() if before[sid] != t)
        if executed or changed:
            return seconds, f"re-run executed {executed} tasks, rewrote {changed} outputs"
        return seconds, ""


# --------------------------------------------------------------------------- set-up

def ensure_venv(venv: Path) -> None:
    if (venv / "bin" / "snakemake").exists() and (venv / "bin" / "doit").exists():
        return
    print(f"setting up {venv} (pip install snakemake doit)…", file=sys.stderr, flush=True)
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "snakemake", "doit"], check=True)


# --------------------------------------------------------------------------- measuring

def write_floor(folder: Path, shape: Shape) -> float:
    """Seconds to write the shape's output files, each to a temporary name then renamed, from one
    loop and nothing else: what a cold run costs any tool on this disk before its own overhead."""
    (folder / "out").mkdir(parents=True)
    start = time.perf_counter()
    for sid, _ in shape.steps:
        target = folder / out_path(sid)
        temporary = target.with_name(f".{target.name}.partial")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, sid.encode())
        os.close(fd)
        os.rename(temporary, target)
    return time.perf_counter() - start


@dataclass
class Result:
    cold: list[float] = field(default_factory=list)
    cached: list[float] = field(default_factory=list)
    fresh: list[float] = field(default_factory=list)  # aiv only: up to date into a new run folder
    floor: list[float] = field(default_factory=list)  # writing the shape's files, and nothing else
    notes: list[str] = field(default_factory=list)

    def median(self, which: str) -> float | None:
        values = getattr(self, which)
        return statistics.median(values) if values else None


def measure(tools, shapes, repeats: dict[str, int], root: Path, keep: bool) -> dict[tuple[str, str], Result]:
    results: dict[tuple[str, str], Result] = {}
    for shape in shapes:
        # Interleave the tools rep by rep, so a slow patch of the machine hits all of them alike.
        for rep in range(max(repeats[t.name] for t in tools)):
            for tool in tools:
                if rep >= repeats[tool.name]:
                    continue
                folder = root / shape.name / tool.name / f"rep{rep + 1}"
                folder.mkdir(parents=True)
                tool.prepare(folder, shape)
                result = results.setdefault((shape.name, tool.name), Result())
                result.floor.append(write_floor(folder / "floor", shape))
                for cold in (True, False):
                    seconds, note = tool.run(folder, shape, cold)
                    (result.cold if cold else result.cached).append(seconds)
                    if note:
                        result.notes.append(note)
                        print(f"  WARNING {tool.name} {shape.name}: {note}", file=sys.stderr)
                fresh = ""
                if isinstance(tool, Aiv):
                    seconds, note = tool.run(folder, shape, cold=False, new_folder=True)
                    result.fresh.append(seconds)
                    fresh = f"   new run folder {seconds:8.3f} s"
                    if note:
                        result.notes.append(note)
                print(f"{shape.name:14} {tool.name:9} rep {rep + 1}: cold {result.cold[-1]:8.3f} s   "
                      f"up-to-date {result.cached[-1]:8.3f} s{fresh}   (writing the files alone {result.floor[-1]:.3f} s)",
                      file=sys.stderr, flush=True)
                if not keep:
                    shutil.rmtree(folder, ignore_errors=True)
    return results


# --------------------------------------------------------------------------- report

def fmt_s(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def fmt_ms(v: float | None, steps: int) -> str:
    return "—" if v is None else f"{v / steps * 1000:.2f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a / b:.3f}"


def above_floor(r: Result) -> float | None:
    """A tool's cold time less the time writing its files alone took: its own overhead."""
    cold, floor = r.median("cold"), r.median("floor")
    return None if cold is None or floor is None else max(cold - floor, 0.0)


def report(results, tools, shapes, jobs: int) -> str:
    names = [t.name for t in tools]
    out = [f"### Wall time and per-step overhead (median; {jobs} parallel jobs for every tool)", "",
           "Cold less floor: the cold run less the time a plain loop takes to write the same files "
           "(each to a temporary name, then renamed) on the same disk in the same repetition.", "",
           "| shape | steps | tool | runs | cold (s) | cold per step (ms) | cold less floor per step (ms) "
           "| up-to-date (s) | up-to-date per step (ms) | notes |",
           "|---|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for shape in shapes:
        n = len(shape.steps)
        for name in names:
            r = results.get((shape.name, name))
            if r is None:
                continue
            notes = "; ".join(sorted(set(r.notes)))
            out.append(f"| {shape.name} | {n} | {name} | {len(r.cold)} | {fmt_s(r.median('cold'))} | {fmt_ms(r.median('cold'), n)} "
                       f"| {fmt_ms(above_floor(r), n)} | {fmt_s(r.median('cached'))} | {fmt_ms(r.median('cached'), n)} | {notes} |")
            if r.fresh:
                out.append(f"| {shape.name} | {n} | {name}, new run folder | {len(r.fresh)} | | | "
                           f"| {fmt_s(r.median('fresh'))} | {fmt_ms(r.median('fresh'), n)} | every file put back from the cache |")
        floor = [results[(shape.name, t)].median("floor") for t in names if (shape.name, t) in results]
        if floor:
            out.append(f"| {shape.name} | {n} | floor: writing the files alone | | {fmt_s(statistics.median(floor))} "
                       f"| {fmt_ms(statistics.median(floor), n)} | | | | |")
    out += ["", "### Per-step overhead beyond start-up (µs per step; median)", "",
            f"(time of the shape − time of a one-step workflow) / (steps − 1): what each further step costs, "
            f"with the tool's fixed cost (start-up, reading its state) taken away. The one-step workflow "
            f"took, cold / up to date: " + "; ".join(
                f"{name} {fmt_s(results[(SINGLE.name, name)].median('cold'))} / {fmt_s(results[(SINGLE.name, name)].median('cached'))} s"
                for name in names if (SINGLE.name, name) in results) + ".", "",
            "| shape | " + " | ".join(f"{name} cold | {name} up to date" for name in names) + " | target met? (aiv ≤ 1/10 of the faster peer) |",
            "|---|" + "---:|---:|" * len(names) + "---|"]
    for shape in shapes:
        cells, beyond = [shape.name], {}
        for name in names:
            r, single = results.get((shape.name, name)), results.get((SINGLE.name, name))
            for which in ("cold", "cached"):
                value = None
                if r and single and r.median(which) is not None and single.median(which) is not None:
                    value = max(r.median(which) - single.median(which), 0.0) / (len(shape.steps) - 1)
                beyond[(name, which)] = value
                cells.append("—" if value is None else f"{value * 1e6:.0f}")
        verdicts = []
        for which, label in (("cold", "cold"), ("cached", "up to date")):
            mine = beyond.get(("aiv", which))
            peer_values = [beyond[(p, which)] for p in names if p != "aiv" and beyond.get((p, which)) is not None]
            if mine is None or not peer_values:
                verdicts.append(f"{label} n/a")
            elif mine <= 0:
                # The shape took aiv no longer than one step did: the difference is noise, not a result.
                verdicts.append(f"{label} n/a (aiv's difference is below the noise)")
            else:
                fastest = min(peer_values)
                verdicts.append(f"{label} {'yes' if mine * TARGET_FACTOR <= fastest else 'NO'} (faster peer / aiv = {fastest / mine:.1f}×)")
        cells.append(", ".join(verdicts))
        out.append("| " + " | ".join(cells) + " |")

    peers = [p for p in names if p != "aiv"]
    if "aiv" in names and peers:
        out += ["", f"### aiv / peer time ratio (lower is better; target ≤ {1 / TARGET_FACTOR:.2f} of the faster peer, cold and up to date)", ""]
        header = (["shape"] + [f"aiv/{p} {w}" for p in peers for w in ("cold", "cold less floor", "up-to-date")]
                  + ["target met? (cold less floor, up to date)"])
        out += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 2) + "---|"]
        for shape in shapes:
            aiv = results.get((shape.name, "aiv"))
            if aiv is None:
                continue
            cells, verdicts = [shape.name], []
            for p in peers:
                r = results.get((shape.name, p))
                cells.append(fmt_ratio(aiv.median("cold"), r.median("cold") if r else None))
                cells.append(fmt_ratio(above_floor(aiv), above_floor(r) if r else None))
                cells.append(fmt_ratio(aiv.median("cached"), r.median("cached") if r else None))
            for label, measure in (("cold", above_floor), ("up-to-date", lambda r: r.median("cached"))):
                peer_times = [measure(results[(shape.name, p)]) for p in peers if (shape.name, p) in results]
                mine = measure(aiv)
                if not peer_times or mine is None:
                    verdicts.append(f"{label} n/a")
                    continue
                fastest = min(peer_times)
                ok = mine * TARGET_FACTOR <= fastest
                verdicts.append(f"{label} {'yes' if ok else 'NO'} (faster peer / aiv = {fastest / mine:.1f}×)" if mine > 0
                                else f"{label} yes")
            if aiv.notes:
                verdicts.append("aiv runs had warnings")
            cells.append(", ".join(verdicts))
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# --------------------------------------------------------------------------- main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Shapes: " + ", ".join(SHAPES))
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated shapes (default: all)")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated tools (default: aiv,snakemake,doit)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the median is reported (default 3)")
    parser.add_argument("--snakemake-repeat", type=int, help="runs for Snakemake alone, which is slow (default: --repeat)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel jobs for every tool (default 2)")
    parser.add_argument("--aiv", default="/work/main/.build/release/aiv", help="the aiv binary")
    parser.add_argument("--python-venv", default="/tmp/aiv-bench-venv", help="virtualenv holding snakemake and doit; created if missing")
    parser.add_argument("--doit-backend", default="json", choices=["json", "sqlite3", "dbm"],
                        help="doit's state backend (default json: doit's default dbm falls back to the slow dbm.dumb "
                             "when Python lacks gdbm)")
    parser.add_argument("--workdir", help="where to put the generated workflows (default: a new temporary folder)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed for one tool run (default 900)")
    parser.add_argument("--keep", action="store_true", help="keep the generated folders and logs")
    args = parser.parse_args()

    shape_names = [s.strip() for s in args.shapes.split(",") if s.strip()]
    tool_names = [t.strip() for t in args.tools.split(",") if t.strip()]
    for s in shape_names:
        if s not in SHAPES:
            parser.error(f"unknown shape {s!r}; choose from {', '.join(SHAPES)}")
    for t in tool_names:
        if t not in TOOLS:
            parser.error(f"unknown tool {t!r}; choose from {', '.join(TOOLS)}")
    if args.repeat < 1 or (args.snakemake_repeat is not None and args.snakemake_repeat < 1) or args.jobs < 1:
        parser.error("--repeat, --snakemake-repeat and --jobs must be at least 1")
    repeats = {t: args.repeat for t in TOOLS}
    if args.snakemake_repeat is not None:
        repeats["snakemake"] = args.snakemake_repeat

    tools = []
    for name in TOOLS:  # fixed order: aiv first
        if name not in tool_names:
            continue
        if name == "aiv":
            binary = Path(args.aiv).resolve()
            if not os.access(binary, os.X_OK):
                parser.error(f"no aiv binary at {binary}: build it with 'swift build -c release --static-swift-stdlib --product aiv', "
                             f"pass --aiv PATH, or leave aiv out with --tools snakemake,doit")
            tools.append(Aiv(binary, args.jobs, args.timeout))
        else:
            venv = Path(args.python_venv).resolve()
            ensure_venv(venv)
            tools.append(Snakemake(venv, args.jobs, args.timeout) if name == "snakemake"
                         else Doit(venv, args.jobs, args.timeout, args.doit_backend))
    shapes = [SHAPES[s] for s in shape_names]

    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="aiv-bench-", dir=args.workdir))
    else:
        root = Path(tempfile.mkdtemp(prefix="aiv-bench-"))
    print(f"working in {root}", file=sys.stderr)
    for tool in tools:
        print(f"{tool.name}: {tool.version()}  ({repeats[tool.name]} runs each)", file=sys.stderr)

    load_before = os.getloadavg()[0]
    if load_before > 0.5:
        print(f"note: load average is {load_before:.2f}; other work on the machine makes the numbers noisy", file=sys.stderr)
    try:
        results = measure(tools, shapes + [SINGLE], repeats, root, args.keep)
    except BenchError as err:
        print(f"\nFAILED: {err}", file=sys.stderr)
        print(f"(the folders are kept in {root})", file=sys.stderr)
        return 1
    except BaseException:
        print(f"(the folders are kept in {root})", file=sys.stderr)
        raise
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"folders and logs kept in {root}", file=sys.stderr)

    print()
    print(report(results, tools, shapes, args.jobs))
    versions = "; ".join(f"{t.name} {t.version()}" for t in tools)
    print(f"\n{versions}. {os.cpu_count()} cores; 1-minute load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
