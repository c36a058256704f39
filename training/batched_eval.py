"""Greedy evaluation of many records at once (tested equal to training/coconut.py's batch-1 loop),
and that reference loop's accuracy for the final score.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch

try:
    from .coconut import answer_of
    from .example_stream import Encoder, Example
    from .latent_pass import amp_context, embeds_in
    from .model import GPT
except ImportError:  # pragma: no cover - script use
    from coconut import answer_of
    from example_stream import Encoder, Example
    from latent_pass import amp_context, embeds_in
    from model import GPT


@torch.no_grad()
def generate(model: GPT, qs: Sequence[List[int]], k: int, max_new_tokens: int, enc: Encoder,
             device, amp_dtype: Optional[torch.dtype] = None) -> List[List[int]]:
    """Greedy continuations after `q + bot + k thoughts + eot`, batched (left padding). Tokens up
    to, not including, eos. Same loop as coconut.run_coconut, many records at once."""
    model.eval()
    with amp_context(amp_dtype):
        return _generate(model, qs, k, max_new_tokens, enc, device, amp_dtype)


def _generate(model, qs, k, max_new_tokens, enc, device, amp_dtype):
    B = len(qs)
    P0 = max(len(q) for q in qs)
    total = P0 + 1 + k + 1 + max_new_tokens
    ids = torch.full((B, P0 + 1), enc.eos, dtype=torch.long)
    attn = torch.zeros((B, total), dtype=torch.long)
    pos = torch.zeros((B, P0 + 1), dtype=torch.long)
    for i, q in enumerate(qs):
        pad = P0 - len(q)
        ids[i, pad:P0] = torch.tensor(q)
        ids[i, P0] = enc.bot
        attn[i, pad:] = 1
        pos[i, pad:] = torch.arange(len(q) + 1)
    ids, attn, pos = ids.to(device), attn.to(device), pos.to(device)
    nxt = pos[:, -1:] + 1                              # next position of each row
    out = model(embeds_in(model.embed(ids), amp_dtype), pos, attn[:, :P0 + 1])
    t = P0 + 1
    for _ in range(k):
        h = out.last_hidden_state[:, -1:]
        out = model(embeds_in(h, amp_dtype), nxt, attn[:, :t + 1], out.presents)
        nxt, t = nxt + 1, t + 1
    tok = torch.full((B, 1), enc.eot, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    gen: List[torch.Tensor] = []
    for _ in range(max_new_tokens):
        out = model(embeds_in(model.embed(tok), amp_dtype), nxt, attn[:, :t + 1], out.presents)
        nxt, t = nxt + 1, t + 1
        tok = out.logits[:, -1].argmax(-1, keepdim=True)
        gen.append(torch.where(done[:, None], torch.full_like(tok, enc.eos), tok))
        done |= tok[:, 0] == enc.eos
        if bool(done.all()):
            break
    seqs = torch.cat(gen, 1).cpu().tolist()
    res = []
    for s in seqs:
        res.append(s[:s.index(enc.eos)] if enc.eos in s else s)
    return res


def evaluate_batched(model: GPT, exs: Sequence[Example], k: int, max_new_tokens: int, enc: Encoder,
                     device, amp_dtype=None, batch_size: int = 100) -> Tuple[float, List[str]]:
    order = sorted(range(len(exs)), key=lambda i: len(exs[i].q))
    preds: List[str] = [""] * len(exs)
    for s in range(0, len(order), batch_size):
        idx = order[s:s + batch_size]
        outs = generate(model, [exs[i].q for i in idx], k, max_new_tokens, enc, device, amp_dtype)
        for i, o in zip(idx, outs):
            preds[i] = enc.tok.decode(o)
    correct = sum(answer_of(p) == e.answer for p, e in zip(preds, exs))
    return correct / max(1, len(exs)), preds


def reference_accuracy(model: GPT, exs: Sequence[Example], k: int, max_new_tokens: int,
                       enc: Encoder, device) -> float:
    """Accuracy with training/coconut.py's batch-1 loop (the reference the engine reproduces)."""
    try:
        from .coconut import run_coconut
    except ImportError:  # pragma: no cover - script use
        from coconut import run_coconut
    model.eval()
    ok = 0
    for e in exs:
        run = run_coconut(model, e.q + [enc.bot], k, enc.eot, enc.eos, max_new_tokens)
        ids = [t for t in run.answer_ids if t != enc.eos]
        ok += answer_of(enc.tok.decode(ids)) == e.answer
    model.train()
    return ok / max(1, len(exs))
