"""Train a run through a learning-rate schedule given in training minutes, in resumable segments.

  python3 training/schedule.py --config C --out-dir D --phases-from REF_RUN [--minutes M]
  python3 training/schedule.py --config C --out-dir D --phases 142:1e-3,150:3e-4,180:1e-4,263:3e-5

Each phase is "until minute T, lr X", minutes counted as the run's own log counts them
(`elapsed_min` in D/metrics.jsonl, over all segments). `--phases-from` copies the phases of another
run's log (training/model_card.py `lr_phases`): how the baselines get the schedule the shipped
Coconut model was trained with, at the same minutes. The script resumes D (train.py --resume) once
per phase with that phase's lr, and stops after M minutes of its own (default: the whole schedule),
so it can run in the background and be continued by the same command in a later session.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

HERE = Path(__file__).resolve().parent
try:
    from .model_card import lr_phases, read_metrics
except ImportError:  # pragma: no cover - script use
    sys.path.insert(0, str(HERE))
    from model_card import lr_phases, read_metrics

Phase = Tuple[float, float]  # (until minute, lr)


def parse_phases(text: str) -> List[Phase]:
    out: List[Phase] = []
    for part in text.split(","):
        until, lr = part.split(":")
        out.append((float(until), float(lr)))
    if not out or any(b[0] <= a[0] for a, b in zip(out, out[1:])):
        raise ValueError(f"phases must be UNTIL:LR with increasing minutes, got {text!r}")
    return out


def phases_of(run: Path) -> List[Phase]:
    """The lr phases of a finished run, as (until minute, lr)."""
    phases = [(round(to, 2), lr) for lr, _frm, to in lr_phases(read_metrics(run))]
    if not phases:
        raise SystemExit(f"error: {run}/metrics.jsonl logs no learning rate")
    return phases


def minutes_done(run: Path) -> float:
    """Minutes trained so far: from state.pt (exact, written when a segment stops), else the log."""
    if (run / "state.pt").exists():
        import torch

        return float(torch.load(str(run / "state.pt"), map_location="cpu")["elapsed"]) / 60
    rows = read_metrics(run)
    return max((r.get("elapsed_min", 0.0) for r in rows), default=0.0)


# A segment may stop a few seconds short of its phase's end (its limit counts from when the
# process started training, the run's minutes from its first step). What is left of a phase below
# this is skipped: a segment of ~0 minutes would only pay a restart.
MIN_SEGMENT = 0.25


def next_segment(phases: Sequence[Phase], done: float) -> Optional[Phase]:
    """(minutes to train now, lr) for a run `done` minutes in, or None when the schedule is over."""
    for until, lr in phases:
        if until - done >= MIN_SEGMENT:
            return (until - done, lr)
    return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--out-dir", required=True)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--phases", help="UNTIL:LR,UNTIL:LR,... in training minutes")
    src.add_argument("--phases-from", help="a run directory whose logged lr phases to copy")
    ap.add_argument("--minutes", type=float, default=None, help="stop after this many minutes of this script")
    ap.add_argument("--dry-run", action="store_true", help="print the segments it would run")
    a = ap.parse_args(argv)
    phases = parse_phases(a.phases) if a.phases else phases_of(Path(a.phases_from))
    out = Path(a.out_dir)
    t0 = time.time()
    print(f"schedule {', '.join(f'lr {lr:g} until {u:g} min' for u, lr in phases)}", flush=True)
    while True:
        done = minutes_done(out)
        seg = next_segment(phases, done)
        left = None if a.minutes is None else a.minutes - (time.time() - t0) / 60
        if seg is None or (left is not None and left < 0.5):
            print(f"{out}: {done:.1f} min trained; " + ("schedule complete" if seg is None else "time is up"), flush=True)
            return 0
        minutes, lr = seg
        if left is not None:
            minutes = min(minutes, left)
        cmd = [sys.executable, str(HERE / "train.py"), "--config", a.config, "--out-dir", str(out),
               "--stop-after-minutes", f"{minutes:.2f}", "--set", f"optim.lr={lr:g}"]
        if (out / "state.pt").exists() or (out / "model.pt").exists():
            cmd.append("--resume")
        print(f"{out}: at {done:.1f} min, {minutes:.1f} min at lr {lr:g}: {' '.join(cmd)}", flush=True)
        if a.dry_run:
            return 0
        if subprocess.run(cmd).returncode != 0:
            print(f"error: train.py failed; {out} keeps its last state.pt", file=sys.stderr)
            return 1
        if minutes_done(out) <= done:
            print(f"error: the segment did not advance {out}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
