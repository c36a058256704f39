"""The optimizer of a curriculum stage (AdamW, weight decay on matrices only) and its learning
rate at each step.
"""

from __future__ import annotations

import math

import torch

try:
    from .model import GPT
except ImportError:  # pragma: no cover - script use
    from model import GPT


def make_optimizer(model: GPT, cfg: dict, lr: float) -> torch.optim.Optimizer:
    o = cfg["optim"]
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": o["weight_decay"]},
              {"params": no_decay, "weight_decay": 0.0}]
    kw = {}
    if torch.cuda.is_available() and next(model.parameters()).is_cuda:
        kw["fused"] = True
    try:
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(o["betas"]), eps=o["eps"], **kw)
    except TypeError:  # torch without fused AdamW
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(o["betas"]), eps=o["eps"])


def lr_at(step: int, steps: int, base: float, o: dict, decays: bool) -> float:
    w = o["warmup_steps"]
    if step < w:
        return base * (step + 1) / w
    if not decays or o["decay"] == "none":
        return base
    frac = (step - w) / max(1, steps - w)
    lo = base * o["min_lr_frac"]
    return lo + 0.5 * (base - lo) * (1 + math.cos(math.pi * min(1.0, frac)))
