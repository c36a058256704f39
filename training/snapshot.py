"""A model checkpoint (export.py's input) from a training run at any point, mid-stage included.

  python3 training/snapshot.py RUN_DIR OUT.pt [--no-eval]

train.py writes model.pt only at stage ends; a long stage (the CPU recipe has one) keeps its
progress in RUN_DIR/state.pt. This takes the weights from state.pt (else model.pt), scores them on
the official validation set with the batched evaluation (tested equal to the reference loop), and
writes a checkpoint whose provenance carries the training config, the CPU-minutes so far, the
segments and the evaluation history, so the exported coconut.json says how the model was made.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

try:
    from . import prosqa_data as D
    from .batched_eval import evaluate_batched
    from .checkpoint import save_checkpoint
    from .example_stream import encoder_for
    from .model import GPT, GPTConfig
    from .train_config import eval_settings, training_data_text
except ImportError:  # pragma: no cover - script use
    import prosqa_data as D
    from batched_eval import evaluate_batched
    from checkpoint import save_checkpoint
    from example_stream import encoder_for
    from model import GPT, GPTConfig
    from train_config import eval_settings, training_data_text


def load_run(run_dir: Path):
    """(model, training config, resume info) of a run directory."""
    state = run_dir / "state.pt"
    path = state if state.exists() else run_dir / "model.pt"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} has neither state.pt nor model.pt: not a train.py run")
    ck = torch.load(str(path), map_location="cpu")
    if "optimizer" in ck:
        cfg, weights, info = ck["config"], ck["model"], ck
    else:
        cfg, weights, info = ck["provenance"]["config"], ck["model"], ck["resume"]
    enc = encoder_for(cfg)
    model = GPT(GPTConfig.from_dict({**cfg["model"], "vocab_size": enc.vocab_size}))
    model.load_state_dict(weights)
    return model.eval(), cfg, info, enc


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run_dir")
    ap.add_argument("out")
    ap.add_argument("--no-eval", action="store_true", help="leave provenance.accuracy empty")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    model, cfg, info, enc = load_run(Path(a.run_dir))
    history = info.get("history", [])
    elapsed = float(info.get("elapsed", 0.0))
    examples = int(sum(v["examples"] for v in info.get("throughput", {}).values()))
    accuracy = []
    if not a.no_eval:
        recs = D.load_records(D.OFFICIAL_VALID)
        exs = [enc.encode(r) for r in recs]
        k, m = eval_settings(cfg)
        acc, _ = evaluate_batched(model, exs, k, m, enc, torch.device("cpu"), None, 100)
        accuracy = [{"dataset": "prosqa_valid", "thoughts": k, "value": round(acc, 4), "n": len(exs)}]
        print(f"official validation accuracy {acc:.4f} with {k} thoughts ({len(exs)} records)")
    provenance = {
        "training_data": training_data_text(cfg),
        "config": cfg,
        "accuracy": accuracy,
        "training_minutes": round(elapsed / 60, 2),
        "examples_seen": examples,
        "segments": info.get("segments", []),
        "history": history,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    save_checkpoint(a.out, model, enc.tok.json, json.loads(json.dumps(provenance)))
    print(f"wrote {a.out}: {provenance['parameters']:,} parameters, {elapsed / 60:.1f} training "
          f"minutes, {examples:,} examples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
