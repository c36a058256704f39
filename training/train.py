"""Train a Coconut model on ProsQA from scratch (and the chain-of-thought / no-CoT baselines).

  python3 training/train.py --config training/configs/prosqa-h100.json --out-dir runs/prosqa [--resume]
  python3 training/train.py --config C --out-dir D --set optim.lr=5e-4 --set batch_size=64
  python3 training/train.py --config C --out-dir D --resume --stop-after-minutes 9   (device calls)
  python3 training/train.py bench --config C [--stage 6] --steps 5   (examples/s, efficient vs naive)

The curriculum (Hao et al. 2024): stage 0 is chain of thought; stage s replaces the first s steps
with s*c continuous thoughts; the last stage (max_latent_stage) has every step latent. Loss only on
the language after <eot> (never on the question or the thoughts); a fresh optimizer per stage.

Levers from ../shared/notes/coconut.md, all config options: an auxiliary BFS/frontier loss that
pushes thought t's next-token distribution onto the concepts at distance ceil(t/c) from the root
("Emergence of Superposition", Zhu et al. 2025), a graph-size curriculum (smaller graphs first),
stage mixing (with probability mix_prob an example of stage s uses a uniformly random stage 0..s)
and a longer stage 0 (stage_examples[0]).

The latent pass: n thoughts cost n+1 model calls (the prefix up to <bot> once, then one batched
single-position call per thought on the KV cache) plus one call for the rest, not n re-runs of the
whole sequence. Questions are left-padded so that <bot> is at the same index in every row.

Outputs in --out-dir: model.pt (export.py format; weights only, < 16 MiB for the full config;
rewritten at every stage end, so it is also a stage-boundary resume point), state.pt (latest full
training state: optimizer, step, stage, data position, RNG; for --resume), metrics.jsonl, summary.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import Optional, Sequence

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    from .train_bench import bench
    from .train_config import load_config, stage_plan
    from .trainer import Trainer
except ImportError:  # pragma: no cover - script use
    from train_bench import bench
    from train_config import load_config, stage_plan
    from trainer import Trainer


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        ap = argparse.ArgumentParser(description="training throughput: efficient vs naive latent pass")
        ap.add_argument("bench")
        ap.add_argument("--config", required=True)
        ap.add_argument("--set", action="append", default=[])
        ap.add_argument("--stage", type=int, action="append",
                        help="stage(s) to time (default: every stage of the plan, with a projection)")
        ap.add_argument("--target-minutes", type=float, default=22.0,
                        help="training minutes the projection fits examples_scale to")
        ap.add_argument("--steps", type=int, default=5)
        ap.add_argument("--no-naive", action="store_true")
        ap.add_argument("--json", help="write the results here")
        a = ap.parse_args(argv)
        cfg = load_config(a.config, a.set)
        plan = stage_plan(cfg)
        stages = a.stage or sorted({s for s, _ in plan})
        out = [bench(cfg, s, a.steps, naive=not a.no_naive) for s in stages]
        if not a.stage:
            speed = {r["stage"]: r["efficient"]["examples_per_s"] for r in out}
            minutes = sum(n / speed[s] for s, n in plan) / 60
            scale = cfg["examples_scale"] * a.target_minutes / minutes
            print(f"projected training time of this plan: {minutes:.1f} min (without evaluation); "
                  f"examples_scale={scale:.3f} would fit {a.target_minutes:.0f} min")
            out.append({"projected_minutes": minutes, "examples_scale_for_target": scale,
                        "target_minutes": a.target_minutes})
        if a.json:
            Path(a.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="JSON config (training/configs/*.json)")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--set", action="append", default=[], help="override, e.g. optim.lr=5e-4")
    ap.add_argument("--resume", nargs="?", const="", default=None,
                    help="continue from OUT_DIR/state.pt (or model.pt), or from the given file")
    ap.add_argument("--stop-after-minutes", type=float, default=None,
                    help="save state.pt and exit after this many minutes of this invocation")
    a = ap.parse_args(argv)
    cfg = load_config(a.config, a.set)
    out = Path(a.out_dir)
    if a.resume is None and ((out / "state.pt").exists() or (out / "model.pt").exists()):
        raise SystemExit(f"{out} already holds a run; pass --resume to continue it or choose "
                         "another --out-dir")
    tr = Trainer(cfg, out, log=lambda s: print(s, flush=True), stop_after_minutes=a.stop_after_minutes)

    def request_stop(signum, frame):
        tr.log(f"signal {signum}: stopping after this step and saving state.pt")
        tr.stop_requested = True
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    if a.resume is not None:
        tr.restore(Path(a.resume) if a.resume else None)
    tr.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
