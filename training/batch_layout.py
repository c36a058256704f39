"""A training batch: each example laid out for its curriculum stage (question, <bot>, thoughts,
<eot>, the steps still in language, answer), left-padded so that <bot> has the same index in
every row, with the targets of the LM loss and of the frontier loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
import torch

try:
    from .example_stream import Encoder, Example
except ImportError:  # pragma: no cover - script use
    from example_stream import Encoder, Example

IGNORE = -100


@dataclass
class Batch:
    ids: torch.Tensor          # [B, T]
    attn: torch.Tensor         # [B, T] 1 = real
    pos: torch.Tensor          # [B, T]
    labels: torch.Tensor       # [B, T] next-token targets, IGNORE where unsupervised
    latent: torch.Tensor       # [B, N] bool: position bot+1+j holds a thought
    frontier: torch.Tensor     # [B, N, V] multi-hot frontier targets of thought j+1
    frontier_mask: torch.Tensor  # [B, N] bool
    bot: int                   # index of <bot> (same in every row)
    n_max: int                 # N
    n_tokens: int              # supervised tokens
    has_frontier: bool = False  # some thought has a frontier target (known on the host)

    def to(self, device) -> "Batch":
        cuda = torch.device(device).type == "cuda"
        # pinned memory lets the copy run without waiting for the previous step's kernels
        f = {k: ((v.pin_memory() if cuda else v).to(device, non_blocking=True) if torch.is_tensor(v) else v)
             for k, v in self.__dict__.items()}
        return Batch(**f)


def layout(ex: Example, stage: int, method: str, c: int, max_stage: int, enc: Encoder) -> Tuple[int, List[int]]:
    """(number of thoughts, tokens after the thoughts: eot, kept steps, answer, eos)."""
    if method == "nocot":
        return 0, [enc.eot] + ex.ans
    if method == "cot":
        stage = 0
    n = stage * c
    kept = [] if stage >= max_stage else ex.steps[stage:]
    return n, [enc.eot] + [t for s in kept for t in s] + ex.ans


def make_batch(exs: Sequence[Example], stages: Sequence[int], method: str, c: int, max_stage: int,
               enc: Encoder, n_positions: int) -> Batch:
    parts = [layout(e, s, method, c, max_stage, enc) for e, s in zip(exs, stages)]
    B = len(exs)
    P0 = max(len(e.q) for e in exs)
    N = max(n for n, _ in parts)
    A = max(n + len(tail) for n, tail in parts)
    T = P0 + 1 + A
    V_ = enc.vocab_size
    ids = np.full((B, T), enc.eos, dtype=np.int64)
    attn = np.zeros((B, T), dtype=np.int64)
    pos = np.zeros((B, T), dtype=np.int64)
    labels = np.full((B, T), IGNORE, dtype=np.int64)
    latent = np.zeros((B, N), dtype=bool)
    fr = np.zeros((B, N, V_), dtype=np.float32)
    frm = np.zeros((B, N), dtype=bool)
    for i, (e, (n, tail)) in enumerate(zip(exs, parts)):
        pad = P0 - len(e.q)
        end = P0 + 1 + n + len(tail)
        if end - pad > n_positions:
            raise ValueError(f"an example needs {end - pad} positions but the model has "
                             f"{n_positions}; raise model.n_positions or use smaller graphs")
        ids[i, pad:P0] = e.q
        ids[i, P0] = enc.bot
        ids[i, P0 + 1:P0 + 1 + n] = enc.latent
        ids[i, P0 + 1 + n:end] = tail
        attn[i, pad:end] = 1
        pos[i, pad:end] = np.arange(end - pad)
        # The first supervised target is the token after eot, predicted at the eot position.
        labels[i, P0 + 1 + n:end - 1] = tail[1:]
        latent[i, :n] = True
        for t in range(1, n + 1):            # thought t answers frontier ceil(t / c)
            d = -(-t // c)
            if d <= len(e.frontier):
                fr[i, t - 1, e.frontier[d - 1]] = 1.0
                frm[i, t - 1] = True
    return Batch(torch.from_numpy(ids), torch.from_numpy(attn), torch.from_numpy(pos),
                 torch.from_numpy(labels), torch.from_numpy(latent), torch.from_numpy(fr),
                 torch.from_numpy(frm), P0, N, int((labels != IGNORE).sum()), bool(frm.any()))
