"""The Coconut inference loop in PyTorch: the reference the engine's ONNX loop must reproduce.

For a question and k thoughts (models/README.md, "How a run uses it"):
  1. ids = encode(question + "\\n") + [bot]; prefill them. The last position's last_hidden_state
     (after ln_f) is thought 1; that position's logits decode it.
  2. For j = 1..k: feed thought j as inputs_embeds at the next position (one position, KV cache);
     its last_hidden_state is thought j+1 (the last one, j = k, is computed but not used).
  3. Feed eot; then greedy decoding: argmax of the logits, fed back, until eos or max_new_tokens.
That is k+1 forward passes for the thoughts (prefill + k single positions), then the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence

import torch
import torch.nn.functional as F

try:
    from .model import GPT
except ImportError:  # pragma: no cover - script use
    from model import GPT


def answer_of(text: str) -> str:
    """The reference scoring: the text after the last '#', stripped (the engine's answer_marker)."""
    return text.split("#")[-1].strip()


@dataclass
class Thought:
    index: int                 # 1-based
    logits: torch.Tensor       # [V], logits of the position that produced the thought
    vector: torch.Tensor       # [D], the thought (last_hidden_state after ln_f)
    lens: torch.Tensor         # [L, V], softmax(wte · ln_f(hidden_states[l])) for l = 1..L


@dataclass
class CoconutRun:
    input_ids: List[int]                    # the prompt, ending with bot
    thoughts: List[Thought] = field(default_factory=list)
    answer_ids: List[int] = field(default_factory=list)     # includes eos when it was generated
    answer_logits: List[torch.Tensor] = field(default_factory=list)  # [V] per answer_ids entry
    stopped_by: str = "max_new_tokens"     # "eos" | "max_new_tokens"


def logit_lens(model: GPT, hidden_states: Sequence[torch.Tensor]) -> torch.Tensor:
    """[L, V] probabilities for hidden_states[1..L] (vectors [D]): softmax(wte · ln_f(h))."""
    h = torch.stack(list(hidden_states[1:]), 0)
    return F.softmax(F.linear(model.ln_f(h), model.wte.weight), dim=-1)


@torch.no_grad()
def run_coconut(model: GPT, input_ids: Sequence[int], k: int, eot_id: int, eos_id: int,
                max_new_tokens: int) -> CoconutRun:
    """Run the loop for a prompt that already ends with bot. Batch 1, CPU or GPU."""
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    n = len(input_ids)
    if n + k + 1 + max_new_tokens > model.config.n_positions:
        raise ValueError(f"prompt ({n} tokens) + {k} thoughts + eot + {max_new_tokens} new tokens "
                         f"exceeds the context of {model.config.n_positions} positions")
    model = model.eval()
    device = model.wte.weight.device
    run = CoconutRun(input_ids=[int(i) for i in input_ids])
    ids = torch.tensor([run.input_ids], dtype=torch.long, device=device)
    pos = 0

    def step(embeds: torch.Tensor, past):
        nonlocal pos
        s = embeds.shape[1]
        position_ids = torch.arange(pos, pos + s, device=device).unsqueeze(0)
        mask = torch.ones(1, pos + s, dtype=torch.long, device=device)
        out = model(embeds, position_ids, mask, past, output_hidden_states=True)
        pos += s
        return out

    out = step(model.embed(ids), None)
    for j in range(1, k + 1):
        thought = out.last_hidden_state[0, -1]
        lens = logit_lens(model, [h[0, -1] for h in out.hidden_states])
        run.thoughts.append(Thought(j, out.logits[0, -1].clone(), thought.clone(), lens))
        out = step(thought.view(1, 1, -1), out.presents)
    out = step(model.embed(torch.tensor([[eot_id]], device=device)), out.presents)
    for i in range(max_new_tokens):
        logits = out.logits[0, -1]
        tok = int(torch.argmax(logits))
        run.answer_ids.append(tok)
        run.answer_logits.append(logits.clone())
        if tok == eos_id:
            run.stopped_by = "eos"
            break
        if i + 1 < max_new_tokens:
            out = step(model.embed(torch.tensor([[tok]], device=device)), out.presents)
    return run
