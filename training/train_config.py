"""Training configs: the defaults, a JSON file and --set overrides on top of them (every key
checked), and what a config implies: the stage plan, the context left for text, the evaluation
settings and the provenance's line about the data.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

try:
    from . import prosqa_data as D
    from . import vocab as V
    from .model import GPTConfig
except ImportError:  # pragma: no cover - script use
    import prosqa_data as D
    import vocab as V
    from model import GPTConfig

DEFAULTS: Dict[str, Any] = {
    "name": "prosqa-coconut",
    "method": "coconut",          # coconut | cot | nocot
    "seed": 0,
    "model": {"n_layer": 5, "n_head": 8, "n_embd": 256, "n_positions": 512, "dropout": 0.0},
    "tokenizer": {"compact": False},  # compact: drop "Every" / "is a" (tokenizer.py normalizer)
    "data": {
        "source": "stream",       # stream: fresh generated records | file: cycle over train_file
        "train_file": None,
        "seed": 1,                # the generator stream (same seed = same records, for baselines)
        "workers": 0,             # generator processes (0: generate in the training process)
        "prefetch_chunks": 8,
        "gen": {},                # prosqa_data.GenConfig options of the main phase
        "curriculum": [],         # [{"until_examples": N, "gen": {...}}]: smaller graphs first
        "sortish_batches": 8,     # batches per length-sorted pool (less padding)
    },
    "c_thought": 1,
    "max_latent_stage": 6,
    "stage_examples": [2000, 500, 500, 500, 500, 500, 1000],   # coconut: stages 0..max
    "total_examples": 4000,       # cot / nocot: one stage
    "examples_scale": 1.0,        # multiplies stage_examples / total_examples (fit a time budget)
    "batch_size": 32,
    "mix_prob": 0.0,              # stage mixing: P(an example uses a random stage 0..s)
    "bfs_loss": {"weight": 0.0, "kind": "mass"},   # kind: mass | uniform
    "optim": {"lr": 1e-3, "weight_decay": 0.01, "betas": [0.9, 0.98], "eps": 1e-8,
              "warmup_steps": 50, "grad_clip": 1.0, "decay": "none",   # none | cosine
              "decay_stages": "last", "min_lr_frac": 0.1, "stage_lr": None},
    "eval": {"file": str(D.OFFICIAL_VALID), "every_examples": 0, "limit": 0, "batch_size": 100,
             "max_new_tokens": None, "thoughts": None, "reference_at_end": True,
             "gen_n": 0},                 # also score N held-out records of the current data phase
    "bf16": True,                 # autocast to bfloat16 on CUDA (ignored on CPU)
    "threads": 1,                 # torch CPU threads
    "checkpoint_every_s": 300,
    "log_every_steps": 20,
    "max_minutes": None,          # stop (after saving) when this wall time is exceeded
}


def deep_update(base: dict, upd: dict, path: str = "") -> dict:
    for k, v in upd.items():
        if k.startswith("_"):      # "_comment" keys document configs
            continue
        if k not in base and path not in ("data.gen.", "data.curriculum.", "model."):
            raise ValueError(f"unknown config key {path + k!r}; known: {sorted(base)}")
        if isinstance(v, dict) and isinstance(base.get(k), dict) and k not in ("gen",):
            deep_update(base[k], v, path + k + ".")
        else:
            base[k] = copy.deepcopy(v)
    return base


def load_config(path: Optional[str], sets: Sequence[str] = ()) -> dict:
    cfg = copy.deepcopy(DEFAULTS)
    if path:
        deep_update(cfg, json.loads(Path(path).read_text(encoding="utf-8")))
    for s in sets:
        if "=" not in s:
            raise ValueError(f"--set expects key.path=value, got {s!r}")
        key, raw = s.split("=", 1)
        try:
            val = json.loads(raw)
        except json.JSONDecodeError:
            val = raw
        node = cfg
        parts = key.split(".")
        for p in parts[:-1]:
            if not isinstance(node.get(p), dict):
                raise ValueError(f"--set {key}: {p!r} is not a config section")
            node = node[p]
        if parts[-1] not in node:
            raise ValueError(f"--set {key}: unknown key {parts[-1]!r}; known: {sorted(node)}")
        node[parts[-1]] = val
    if cfg["method"] not in ("coconut", "cot", "nocot"):
        raise ValueError(f"method must be coconut, cot or nocot, got {cfg['method']!r}")
    if cfg["method"] == "coconut" and len(cfg["stage_examples"]) != cfg["max_latent_stage"] + 1:
        raise ValueError(f"stage_examples needs {cfg['max_latent_stage'] + 1} entries "
                         f"(stages 0..{cfg['max_latent_stage']}), got {len(cfg['stage_examples'])}")
    if cfg["bfs_loss"]["kind"] not in ("mass", "uniform"):
        raise ValueError("bfs_loss.kind must be 'mass' or 'uniform'")
    GPTConfig.from_dict({**cfg["model"], "vocab_size": len(V.TOKENS)})   # names unknown fields
    D.GenConfig.from_dict(cfg["data"]["gen"])
    for ph in cfg["data"]["curriculum"]:
        D.GenConfig.from_dict(ph.get("gen"))
    return cfg


def max_len_of(cfg: dict) -> int:
    """Context left for question + steps + answer once the thoughts are placed."""
    return cfg["model"]["n_positions"] - cfg["max_latent_stage"] * cfg["c_thought"]


def stage_plan(cfg: dict) -> List[Tuple[int, int]]:
    """[(curriculum stage, examples)] in order."""
    f = float(cfg["examples_scale"])
    if cfg["method"] == "coconut":
        # a stage of 0 examples is skipped (e.g. every thought latent from the first step)
        return [(s, int(round(n * f))) for s, n in enumerate(cfg["stage_examples"]) if n > 0]
    return [(0, int(round(cfg["total_examples"] * f)))]


def eval_settings(cfg: dict) -> Tuple[int, int]:
    """(thoughts, max_new_tokens) of the evaluation that matches the method."""
    e = cfg["eval"]
    k = e["thoughts"]
    if k is None:
        k = cfg["max_latent_stage"] * cfg["c_thought"] if cfg["method"] == "coconut" else 0
    m = e["max_new_tokens"]
    if m is None:
        m = 64   # room for a full chain of thought (up to 6 steps + answer); eos ends it early
    return int(k), int(m)


def training_data_text(cfg: dict) -> str:
    d = cfg["data"]
    if d["source"] == "file":
        return f"ProsQA records from {d['train_file']} (training/prosqa_data.py), official valid questions excluded"
    cur = "; graph-size curriculum " + json.dumps(d["curriculum"]) if d["curriculum"] else ""
    return (f"ProsQA generated by training/prosqa_data.py, stream seed {d['seed']}, generator "
            f"options {json.dumps(d['gen'])}{cur}; official valid questions excluded")
