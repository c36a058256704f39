"""The latent pass of a training step (thoughts fed back through the KV cache; train.py's
docstring says why), the naive pass it is tested and timed against, and the losses.
"""

from __future__ import annotations

import contextlib
from typing import Dict, Optional

import torch
import torch.nn.functional as F

try:
    from .batch_layout import IGNORE, Batch
    from .model import GPT
except ImportError:  # pragma: no cover - script use
    from batch_layout import IGNORE, Batch
    from model import GPT


def amp_context(amp_dtype: Optional[torch.dtype]):
    """bf16 autocast on CUDA, nothing elsewhere (torch 1.13 cannot even build a disabled one
    without CUDA)."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=amp_dtype)


def embeds_in(x: torch.Tensor, dtype: Optional[torch.dtype]) -> torch.Tensor:
    # Under CUDA autocast the model builds its attention bias in the dtype of inputs_embeds; in
    # bf16 that bias matches the bf16 query SDPA sees and its finite minimum keeps left-padded
    # rows (which attend to nothing) free of NaN.
    return x if dtype is None else x.to(dtype)


def latent_forward(model: GPT, b: Batch, amp_dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """Logits of positions bot..T-1 ([B, T-bot, V]), thoughts filled in, with N+2 model calls."""
    emb = model.embed(b.ids)
    P0, N = b.bot, b.n_max
    out = model(embeds_in(emb[:, :P0 + 1], amp_dtype), b.pos[:, :P0 + 1], b.attn[:, :P0 + 1])
    logits = [out.logits[:, -1:]]
    past, h = out.presents, out.last_hidden_state[:, -1]
    for j in range(N):
        t = P0 + 1 + j
        x = torch.where(b.latent[:, j, None], h.to(emb.dtype), emb[:, t])
        out = model(embeds_in(x[:, None], amp_dtype), b.pos[:, t:t + 1], b.attn[:, :t + 1], past)
        logits.append(out.logits)
        past, h = out.presents, out.last_hidden_state[:, -1]
    t = P0 + 1 + N
    if t < b.ids.shape[1]:
        out = model(embeds_in(emb[:, t:], amp_dtype), b.pos[:, t:], b.attn, past)
        logits.append(out.logits)
    return torch.cat(logits, 1)


def latent_forward_naive(model: GPT, b: Batch, amp_dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """The same logits the slow way: one full forward over the prefix per thought, then a full
    forward over everything (what a straightforward Coconut loop does). For tests and timing."""
    x = model.embed(b.ids)
    P0, N = b.bot, b.n_max
    for j in range(N):
        t = P0 + 1 + j
        out = model(embeds_in(x[:, :t], amp_dtype), b.pos[:, :t], b.attn[:, :t])
        h = out.last_hidden_state[:, -1].to(x.dtype)
        col = torch.where(b.latent[:, j, None], h, x[:, t])
        x = torch.cat([x[:, :t], col[:, None], x[:, t + 1:]], 1)
    out = model(embeds_in(x, amp_dtype), b.pos, b.attn)
    return out.logits[:, P0:]


def losses(logits: torch.Tensor, b: Batch, bfs: dict) -> Dict[str, torch.Tensor]:
    """LM loss on the language after eot; optional frontier loss on the thoughts."""
    lg = logits.float()
    lm = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), b.labels[:, b.bot:].reshape(-1),
                         ignore_index=IGNORE)
    out = {"lm": lm, "loss": lm}
    if b.n_max > 0 and b.has_frontier:
        # logits[:, t-1] come from the position that produced thought t
        m = b.frontier_mask                                   # [B, N]
        mf = m.float()
        n = mf.sum()
        logp = F.log_softmax(lg[:, :b.n_max], -1)             # [B, N, V]
        # Thoughts without a frontier get an all-ones target so every row stays finite (no
        # all -inf logsumexp, no NaN gradient), then weight 0; no boolean indexing, so no
        # device-to-host sync.
        fr = torch.where(m[..., None], b.frontier, torch.ones_like(b.frontier))
        if bfs.get("kind", "mass") == "mass":
            # -log of the probability mass on the frontier: any split among its nodes is fine
            per = -torch.logsumexp(logp.masked_fill(fr <= 0, float("-inf")), -1)
        else:
            # cross-entropy to the uniform distribution over the frontier: an even split
            per = -(logp * fr).sum(-1) / fr.sum(-1)
        bfs_loss = (per * mf).sum() / n
        out["bfs"] = bfs_loss
        # share of the thought's distribution on its frontier (a monitor, not a loss)
        out["frontier_mass"] = ((logp.exp() * fr).sum(-1) * mf).sum().detach() / n
        if bfs.get("weight", 0) > 0:
            out["loss"] = lm + bfs["weight"] * bfs_loss
    return out
