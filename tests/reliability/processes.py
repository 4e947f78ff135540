"""Helpers for the kill, concurrency and corruption trials of the reliability suite.

``run`` is started as a real process (``python -m benefitshare.cli``), killed with SIGKILL at a
chosen moment or run alongside others writing to the same ``--out``, and the output folder is then
checked: every visible run folder must be complete (each file its manifest lists is there with
its SHA-256). Used by ``tests/reliability/test_processes.py`` (fast) and
``benchmarks/reliability_slow.py`` (slow).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from benefitshare.io.files import file_sha256
from reliability.corpus import prepare


def run_argv(scn: Path, out: Path, name: str, rate: float, *, charts: bool = False) -> list[str]:
    """``run`` arguments for the tiny scenario whose manifest records ``rate`` (to tell runs apart)."""
    argv = ["run", str(scn / "tiny.toml"), "--out", str(out), "--name", name, "--quiet"]
    argv += ["--set", f"model.discount_rate={rate}"]
    return argv + ([] if charts else ["--no-charts"])


class Writer:
    """A ``run`` in its own process: a fresh interpreter (``fork=False``), or a fork of this one,
    which has the package imported already, so the run starts at once (``fork=True``)."""

    def __init__(self, argv: list[str], *, fork: bool, err: Path) -> None:
        self.err = err
        if not fork:
            cmd = [sys.executable, "-m", "benefitshare.cli", *argv]
            with open(err, "wb") as f:
                self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=f)
            self.pid = self.proc.pid
            return
        self.proc = None
        self.pid = os.fork()
        if self.pid == 0:  # the child: run, then leave without running the parent's exit hooks
            status = 70
            try:
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115
                sys.stderr = open(err, "w")  # noqa: SIM115
                from benefitshare import cli

                status = cli.main(argv)
                sys.stderr.flush()
            finally:
                os._exit(status)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)

    def wait(self) -> int:
        if self.proc is not None:
            return self.proc.wait()
        if not hasattr(self, "status"):
            self.status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.status

    def stderr(self) -> str:
        try:
            return self.err.read_text(errors="replace")
        except OSError:
            return ""


def warm_up(root: Path) -> None:
    """Import everything a run needs into this process (so forked writers start at once)."""
    from benefitshare import cli

    scn, out = prepare(root)
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(run_argv(scn, out, "warm", 0.05)) == 0


def complete_rate(folder: Path) -> float | None:
    """The discount rate of the complete run in ``folder``; None if it is missing or incomplete."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        for name, sha in manifest["outputs_sha256"].items():
            if file_sha256(folder / name) != sha:
                return None
        return float(manifest["overrides"]["model.discount_rate"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def hidden(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.name.startswith("."))


def timed_run(scn: Path, out: Path, name: str, rate: float, *, charts: bool, fork: bool) -> float:
    """Seconds one uninterrupted run takes (it must succeed)."""
    t0 = time.perf_counter()
    writer = Writer(run_argv(scn, out, name, rate, charts=charts), fork=fork, err=out.parent / "e")
    assert writer.wait() == 0, writer.stderr()
    return time.perf_counter() - t0


def kill_trials(
    root: Path, kills: int, *, seed: int = 0, charts: bool = False, fork: bool = True
) -> dict:
    """Kill ``run`` ``kills`` times at random moments while it replaces a complete run folder.

    After each kill the folder must hold the old or the new complete run; when the kill fell
    between the two renames, the old run is complete under a hidden name and the next run puts it
    back (it is counted as survived if so). Returns counts: kills, survived (old, new, recovered),
    lost, kills that fell while a folder was being written (mid_write), runs that stopped on
    their own with an error before the kill (refused, with the first kill after which one did),
    and what the final run left (its exit status, whether its folder is complete, leftovers).
    """
    rng = random.Random(seed)
    if fork:
        warm_up(root / "warm")
    scn, out = prepare(root / "trial")
    duration = min(timed_run(scn, out, "r", 0.01, charts=charts, fork=fork) for _ in range(3))
    previous = 0.01
    counts = {
        "kills": 0,
        "old": 0,
        "new": 0,
        "recovered": 0,
        "lost": 0,
        "finished": 0,
        "refused": 0,
        "mid_write": 0,
    }
    lost = []
    for i in range(kills):
        rate = round(0.02 + 0.4 * (i + 1) / (kills + 1), 6)
        before = set(hidden(out))
        writer = Writer(run_argv(scn, out, "r", rate, charts=charts), fork=fork, err=root / "e")
        time.sleep(rng.uniform(0.3, 1.1) * duration)
        writer.kill()
        status = writer.wait()
        if status == 0:
            counts["finished"] += 1
        elif status > 0:  # it stopped on its own with an error (refused the folder, say)
            counts["refused"] += 1
            counts.setdefault("first_refused_at_kill", i)
            counts.setdefault("refusals", []).append(writer.stderr().strip()[-300:])
        counts["kills"] += 1
        counts["mid_write"] += bool(set(hidden(out)) - before)  # a new hidden folder left
        found = complete_rate(out / "r")
        if found == previous:
            counts["old"] += 1
        elif found == rate:
            counts["new"] += 1
            previous = rate
        elif found is None and not (out / "r").exists():
            olds = [out / h for h in hidden(out) if h.startswith(".r.old")]
            if any(complete_rate(o) == previous for o in olds):
                counts["recovered"] += 1
                continue
            counts["lost"] += 1
            lost.append((i, rate, hidden(out)))
        else:
            counts["lost"] += 1
            lost.append((i, rate, found))
    # the next run cleans up after the killed ones and puts back an old run left hidden
    final = Writer(run_argv(scn, out, "r", 0.45, charts=charts), fork=fork, err=root / "e")
    counts["final_exit"] = final.wait()
    counts["final_stderr"] = final.stderr()
    counts["final_complete"] = complete_rate(out / "r") == 0.45
    counts["leftovers"] = hidden(out)
    counts["lost_details"] = lost
    counts["duration_s"] = round(duration, 2)
    return counts


def concurrent_writers(
    root: Path, names: list[str], *, charts: bool = False, fork: bool = True
) -> dict:
    """Start one ``run`` per name at once, all into the same ``--out``; check what is left.

    Returns the exit statuses, the names whose folder is missing or incomplete (lost), and for
    each name shared by several writers whether its folder holds one of their complete runs.
    """
    if fork:
        warm_up(root / "warm")
    scn, out = prepare(root / "trial")
    out.mkdir()
    rates = [round(0.01 + 0.4 * i / len(names), 6) for i in range(len(names))]
    writers = [
        Writer(run_argv(scn, out, n, r, charts=charts), fork=fork, err=root / f"e{i}")
        for i, (n, r) in enumerate(zip(names, rates, strict=True))
    ]
    statuses = [w.wait() for w in writers]
    lost, mixed = [], []
    for name in sorted(set(names)):
        found = complete_rate(out / name)
        mine = {r for n, r in zip(names, rates, strict=True) if n == name}
        if found is None:
            lost.append(name)
        elif found not in mine:
            mixed.append(name)
    visible = [p.name for p in out.iterdir() if not p.name.startswith(".")]
    return {
        "statuses": statuses,
        "errors": [w.stderr() for w, s in zip(writers, statuses, strict=True) if s != 0],
        "lost": lost,
        "mixed": mixed,
        "visible": sorted(visible),
        "incomplete": [v for v in visible if complete_rate(out / v) is None],
        "leftovers": hidden(out),
    }


def local_sweep(folder: Path) -> Path:
    """The sweep file of ``sweep_helpers`` with its scenario and the tiny files side by side.

    ``sweep_helpers.write_scenario`` names ``tests/data/tiny.toml`` as its base by absolute path;
    here the base is a copy in the same folder, so no input is read from outside it.
    """
    from sweep_helpers import DATA, write_scenario, write_sweep_file

    scenario = write_scenario(folder)
    for name in ("tiny.toml", "tiny_projects.csv"):
        (folder / name).write_bytes((DATA / name).read_bytes())
    text = scenario.read_text(encoding="utf-8")
    scenario.write_text(text.replace((DATA / "tiny.toml").as_posix(), "tiny.toml"), "utf-8")
    return write_sweep_file(folder, scenario, draws=3)


def flip(data: bytes, positions: list[int], mask: int = 0xFF) -> bytes:
    out = bytearray(data)
    for i in positions:
        out[i] ^= mask
    return bytes(out)
