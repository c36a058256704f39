"""Build the tiny random parity fixture: test/fixtures/tiny-model/ (+ golden.json) and its checkpoint.

  python3 training/make_fixture.py                 # rewrite the committed fixture and checkpoint
  python3 training/make_fixture.py --out DIR       # re-export into DIR (model files + golden.json)
  python3 training/make_fixture.py --variant rotary-smear-compact [--out DIR]
      # the shipped model's architecture: rotary positions, smeared keys, compact tokenizer
      # (test/fixtures/tiny-model-rsc/; no checkpoint file, the seed rebuilds it)

The weights come from numpy's legacy RandomState(SEED), whose stream is fixed across numpy and
torch versions, so every run - on any machine - rebuilds the same float32 weights; the script
refuses to continue if they differ from the committed checkpoint. The init is deliberately
larger than GPT-2's so that distributions are peaked: top-k orders and greedy answers are then
separated by margins far above float32 noise (MIN_LOGIT_GAP, checked at every compared position).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

try:
    from .checkpoint import load_checkpoint, save_checkpoint
    from .export import export_model
    from .model import GPT, GPTConfig
    from .reference import golden, parse_cases, write_golden, DEFAULT_DATASET
    from .tokenizer import build_tokenizer_json
    from . import vocab as _vocab
except ImportError:  # pragma: no cover - script use
    from checkpoint import load_checkpoint, save_checkpoint
    from export import export_model
    from model import GPT, GPTConfig
    from reference import golden, parse_cases, write_golden, DEFAULT_DATASET
    from tokenizer import build_tokenizer_json
    import vocab as _vocab

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURE_DIR = REPO_ROOT / "test" / "fixtures" / "tiny-model"
# variant -> (GPTConfig options beyond the plain fixture, compact tokenizer, default directory,
# seed offset: the first offset whose weights give margins above MIN_LOGIT_GAP / MIN_COSINE_GAP)
VARIANTS = {
    "plain": ({}, False, FIXTURE_DIR, 0),
    "rotary-smear-compact": ({"positions": "rotary", "smear_keys": True}, True,
                             REPO_ROOT / "test" / "fixtures" / "tiny-model-rsc", 6),
}
CHECKPOINT = REPO_ROOT / "test" / "fixtures" / "tiny-checkpoint.pt"

SEED = 20261208
NAME = "tiny-random"
THOUGHTS_DEFAULT, THOUGHTS_MAX, MAX_NEW_TOKENS = 3, 8, 8
CASES = ["0:0,3,6", "1:0,3,6"]          # official ProsQA validation records 0 and 1
MIN_LOGIT_GAP = 1e-3                     # between neighbours of every compared top-k (+1) list
MIN_COSINE_GAP = 1e-4
CREATED = "2026-11-25T00:00:00Z"         # fixed so the manifest is byte-identical every time
# Stored in the checkpoint too, so `export.py --checkpoint` on it rebuilds the same coconut.json.
PROVENANCE = {
    "created": CREATED,
    "training_data": f"none: random weights from numpy RandomState({SEED}), for parity tests",
    "config": {"seed": SEED, "init": "wte N(0,0.3), wpe N(0,0.1), norms 1+N(0,0.1), biases "
               "N(0,0.05), linear N(0,1/sqrt(fan_in))"},
    "accuracy": [],
}


def fixture_config(variant: str = "plain") -> GPTConfig:
    return GPTConfig(vocab_size=len(_vocab.TOKENS), n_positions=256, n_layer=2, n_head=2, n_embd=32,
                     **VARIANTS[variant][0])


def fixture_model(seed: int = SEED, variant: str = "plain") -> GPT:
    """The tiny model with weights drawn in a fixed order from RandomState(seed)."""
    cfg = fixture_config(variant)
    model = GPT(cfg)
    rng = np.random.RandomState(seed)
    state = {}
    for name, p in sorted(model.state_dict().items()):
        shape = tuple(p.shape)
        if name == "wte.weight":
            w = rng.normal(0.0, 0.3, shape)
        elif name == "wpe.weight":
            w = rng.normal(0.0, 0.1, shape)
        elif ("ln_" in name) and name.endswith("weight"):
            w = 1.0 + rng.normal(0.0, 0.1, shape)
        elif name.endswith("bias"):
            w = rng.normal(0.0, 0.05, shape)
        elif name.endswith("attn.smear"):   # gate logits: shares from ~0.1 to ~0.9
            w = rng.normal(0.0, 1.0, shape)
        else:  # Linear [out, in]: unit-gain init so every block moves the residual stream
            w = rng.normal(0.0, 1.0 / np.sqrt(shape[1]), shape)
        state[name] = torch.from_numpy(w.astype(np.float32))
    model.load_state_dict(state)
    return model.eval()


def _log_gaps(p: Sequence[float]) -> List[float]:
    lp = np.log(np.asarray(p, dtype=np.float64))
    return list(lp[:-1] - lp[1:])


def margins(model: GPT, data: Dict) -> Dict[str, float]:
    """Smallest separations in the golden data: neighbouring logits within the top-k+1 of every
    thought/answer position and lens cell, and neighbouring cosines of the nearest lists."""
    k1 = data["top_k"] + 1
    logit_gap, cos_gap = np.inf, np.inf
    wte = model.wte.weight.detach().double()
    for c in data["cases"]:
        vectors = [np.asarray(t["logits"]) for t in c["thoughts"]] + \
                  [np.asarray(l) for l in c["answer_logits"]]
        for v in vectors:
            top = np.sort(v)[::-1][:k1]
            logit_gap = min(logit_gap, float(np.min(top[:-1] - top[1:])))
        for t in c["thoughts"]:
            h = torch.tensor(t["vector"], dtype=torch.float64)
            cos = ((wte @ h) / (wte.norm(dim=1) * h.norm())).numpy()
            top = np.sort(cos)[::-1][:k1]
            cos_gap = min(cos_gap, float(np.min(top[:-1] - top[1:])))
            for cell in t["lens"]:
                logit_gap = min(logit_gap, min(_log_gaps([e["p"] for e in cell["top"]])))
    return {"logit_gap": logit_gap, "cosine_gap": cos_gap}


def build(out: Path, model: GPT, dataset: Path, compact: bool = False) -> Dict:
    export_model(model, build_tokenizer_json(compact=compact), out, NAME, PROVENANCE,
                 thoughts_default=THOUGHTS_DEFAULT, thoughts_max=THOUGHTS_MAX, per_step=1,
                 max_new_tokens=MAX_NEW_TOKENS)
    data = golden(model, out, parse_cases(CASES, dataset, None))
    write_golden(data, out / "golden.json")
    return data


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=None, help=f"directory to write (default {FIXTURE_DIR}; "
                    "the checkpoint is only rewritten in the default location)")
    ap.add_argument("--dataset", default=str(DEFAULT_DATASET))
    ap.add_argument("--variant", default="plain", choices=sorted(VARIANTS))
    args = ap.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    _, compact, default_dir, offset = VARIANTS[args.variant]
    model = fixture_model(SEED + offset, args.variant)
    if args.variant == "plain" and CHECKPOINT.is_file():
        committed, _, _ = load_checkpoint(CHECKPOINT)
        for name, p in committed.state_dict().items():
            if not torch.equal(p, model.state_dict()[name]):
                print(f"error: weights rebuilt from seed {SEED} differ from {CHECKPOINT} at {name}; "
                      "numpy's RandomState stream changed or the checkpoint was edited", file=sys.stderr)
                return 1
    out = Path(args.out) if args.out else default_dir
    data = build(out, model, Path(args.dataset), compact)
    m = margins(model, data)
    if m["logit_gap"] < MIN_LOGIT_GAP or m["cosine_gap"] < MIN_COSINE_GAP:
        print(f"error: fixture margins too small for stable top-k comparisons: {m}", file=sys.stderr)
        return 1
    if args.out is None and args.variant == "plain":
        save_checkpoint(CHECKPOINT, model, build_tokenizer_json(), PROVENANCE)
    for c in data["cases"]:
        print(f"k={c['k']}: answer {c['answer_ids']} {c['answer_text']!r} ({c['stopped_by']})")
    print(f"margins: {m}; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
