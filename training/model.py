"""GPT-2 in plain torch.nn, fed input embeddings, with a KV cache; training/onnx_graph.py writes
the same function as the engine's ONNX decoder.

Coconut feeds continuous thoughts (vectors, not token ids) back into the model, so the forward
takes `inputs_embeds`; `embed(ids)` gives token embeddings. The parameter layout is GPT-2's
(wte, wpe, h[i].{ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj}, ln_f) with
nn.Linear in place of GPT-2's Conv1D (whose weight is the transpose); `load_gpt2_state_dict`
converts a Hugging Face GPT-2 checkpoint.

Attention is causal over cache + new positions and masked by `attention_mask` [B, P+S].
On PyTorch 2.x the fast F.scaled_dot_product_attention path is used unless `model.use_sdpa` is False.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

_HAS_SDPA = hasattr(F, "scaled_dot_product_attention")

KV = Tuple[torch.Tensor, torch.Tensor]


@dataclass
class GPTConfig:
    vocab_size: int
    n_positions: int = 512
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 256
    layer_norm_epsilon: float = 1e-5
    dropout: float = 0.0
    # "learned": GPT-2's absolute position table wpe; "rotary": rotary position embeddings on
    # queries and keys (no wpe), so a head can attend by offset ("the word before me").
    positions: str = "learned"
    rotary_base: float = 10000.0
    # Smeared keys: each key mixes in the previous position's key (a learned per-channel gate).
    # A single head can then find "the fact whose subject is X" and read its object, the lookup
    # that from-scratch ProsQA models otherwise sit on a long plateau to learn. The KV cache keeps
    # the raw keys, so the decoder's inputs and outputs stay those of plain GPT-2.
    smear_keys: bool = False

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.vocab_size <= 0 or self.n_layer <= 0 or self.n_positions <= 0:
            raise ValueError(f"invalid GPTConfig: {self}")
        if self.positions not in ("learned", "rotary"):
            raise ValueError(f"positions must be 'learned' or 'rotary', got {self.positions!r}")
        if self.positions == "rotary" and (self.n_embd // self.n_head) % 2:
            raise ValueError("rotary positions need an even head size")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping) -> "GPTConfig":
        known = set(cls.__dataclass_fields__)
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown GPTConfig fields {sorted(unknown)}; known: {sorted(known)}")
        return cls(**dict(d))


class GPTOutput(NamedTuple):
    logits: torch.Tensor                       # [B, S, V]
    last_hidden_state: torch.Tensor            # [B, S, D], after ln_f
    hidden_states: Optional[Tuple[torch.Tensor, ...]]  # L+1 x [B, S, D], before ln_f
    presents: List[KV]                         # per layer (k, v), [B, H, P+S, Dh]


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    """GPT-2's GELU (tanh approximation), written out so every torch version and ONNX agree."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.n_embd = cfg.n_embd
        self.head_dim = cfg.n_embd // cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.dropout = cfg.dropout
        # sigmoid(smear) is the share of the previous position's key in each key channel
        self.smear = nn.Parameter(torch.zeros(cfg.n_head, 1, self.head_dim)) if cfg.smear_keys else None

    def forward(self, x: torch.Tensor, keep: Optional[torch.Tensor], past: Optional[KV],
                use_sdpa: bool, rope: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
                prev_real: Optional[torch.Tensor] = None,
                bias: Optional[torch.Tensor] = None) -> Tuple[torch.Tensor, KV]:
        """x [B,S,D]; keep: bool, broadcastable to [B,H,S,P+S], True = may attend; None means
        plain causal attention without a cache (SDPA path only). rope: (cos, sin) [B,1,S,Dh] of
        the new positions; prev_real: [B,1,P+S,1], 1 where the previous position is real (smeared
        keys skip padding); bias: keep as 0 / float32 min, added to the scores (non-SDPA path)."""
        qkv = self.c_attn(x).reshape(x.shape[0], x.shape[1], 3, self.n_head, self.head_dim).permute(2, 0, 3, 1, 4)
        if rope is not None:
            qk = apply_rotary(qkv[:2], *rope)
            q, k, v = qk[0], qk[1], qkv[2]
        else:
            q, k, v = qkv[0], qkv[1], qkv[2]
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        if self.smear is not None:
            k = smear_keys(k, torch.sigmoid(self.smear), prev_real)
        drop = self.dropout if self.training else 0.0
        if use_sdpa:
            sdpa_bias = None
            if keep is not None:
                # Additive bias in q's dtype (SDPA requires it under autocast). Half the dtype's
                # minimum: finite even after adding a score, so a row with nothing to attend to
                # (left padding) gives a uniform softmax instead of NaN.
                sdpa_bias = torch.zeros(keep.shape, dtype=q.dtype, device=q.device)
                sdpa_bias = sdpa_bias.masked_fill(~keep, torch.finfo(q.dtype).min / 2)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=sdpa_bias, dropout_p=drop,
                                               is_causal=keep is None)
        else:
            att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
            # Adding float32's minimum equals where(keep, att, min) exactly (a score is far below
            # its rounding step), and a row with nothing to attend to (left padding) stays finite.
            att = F.softmax(att + bias, dim=-1)
            if drop > 0:
                att = F.dropout(att, p=drop)
            y = torch.matmul(att, v)
        y = y.transpose(1, 2).reshape(x.shape[0], x.shape[1], self.n_embd)
        return self.c_proj(y), present


def rotary_tables(position_ids: torch.Tensor, inv_freq: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [B,1,S,Dh] for rotate-half rotary embeddings at `position_ids` [B,S]."""
    ang = position_ids.to(inv_freq.dtype)[..., None] * inv_freq          # [B,S,Dh/2]
    ang = torch.cat([ang, ang], dim=-1).unsqueeze(1)
    return torch.cos(ang), torch.sin(ang)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos + rot * sin


def smear_keys(k: torch.Tensor, gate: torch.Tensor, prev_real: Optional[torch.Tensor]) -> torch.Tensor:
    """k [B,H,T,Dh] -> (1 - gate) * k_t + gate * k_{t-1}; the first position, and a position
    after padding (prev_real [B,1,T,1] is 0 there), have no predecessor (zero)."""
    prev = F.pad(k, (0, 0, 1, 0))[:, :, :-1]
    if prev_real is not None:
        prev = prev * prev_real
    return k + gate * (prev - k)


def previous_is_real(real: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """real [B,T] (1 = real position) -> [B,1,T,1]: 1 where position t-1 exists and is real."""
    return F.pad(real, (1, 0))[:, :-1].to(dtype)[:, None, :, None]


def _causal_keep(s, total, device) -> torch.Tensor:
    """bool [1,1,S,T]: query i (absolute index T-S+i) may see key j iff j <= T-S+i."""
    q_idx = torch.arange(s, device=device) + (total - s)
    k_idx = torch.arange(total, device=device)
    return (k_idx.unsqueeze(0) <= q_idx.unsqueeze(1)).unsqueeze(0).unsqueeze(0)


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(gelu_tanh(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        self.mlp = MLP(cfg)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, keep, past, use_sdpa, rope=None, prev_real=None, bias=None):
        a, present = self.attn(self.ln_1(x), keep, past, use_sdpa, rope, prev_real, bias)
        x = x + self.drop(a)
        x = x + self.drop(self.mlp(self.ln_2(x)))
        return x, present


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.n_positions, cfg.n_embd) if cfg.positions == "learned" else None
        if cfg.positions == "rotary":
            hd = cfg.n_embd // cfg.n_head
            inv = 1.0 / (cfg.rotary_base ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
            self.register_buffer("inv_freq", inv, persistent=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.layer_norm_epsilon)
        # Fast fused attention on PyTorch 2.x.
        self.use_sdpa = _HAS_SDPA
        self.init_weights()

    def init_weights(self, std: float = 0.02) -> None:
        """GPT-2's initialisation: N(0, std) weights, zero biases, unit norms, and the residual
        output projections scaled by 1/sqrt(2 * n_layer)."""
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif ".ln_" in name or name.startswith("ln_f"):
                nn.init.ones_(p)
            elif name.endswith("attn.smear"):
                nn.init.zeros_(p)
            elif name == "wpe.weight":
                nn.init.normal_(p, 0.0, std / 2)
            elif name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, std / math.sqrt(2 * self.config.n_layer))
            else:
                nn.init.normal_(p, 0.0, std)

    @property
    def lm_head_weight(self) -> torch.Tensor:
        return self.wte.weight  # tied

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.wte(input_ids)

    def forward(self, inputs_embeds: torch.Tensor, position_ids: torch.Tensor,
                attention_mask: Optional[torch.Tensor] = None,
                past_key_values: Optional[Sequence[KV]] = None,
                output_hidden_states: bool = False) -> GPTOutput:
        """inputs_embeds [B,S,D]; position_ids [B,S] (int64); attention_mask [B,P+S] (1 = real,
        0 = padding) or None (all real); past_key_values: per layer (k, v) [B,H,P,Dh] or None."""
        if past_key_values is not None and len(past_key_values) != len(self.h):
            raise ValueError(f"past_key_values has {len(past_key_values)} layers, "
                             f"the model has {len(self.h)}")
        use_sdpa = self.use_sdpa and _HAS_SDPA
        if use_sdpa and attention_mask is None and past_key_values is None:
            keep = None  # SDPA's is_causal fast path (flash / memory-efficient kernels)
        else:
            keep = self._keep_mask(inputs_embeds, attention_mask, past_key_values)
        rope = None
        if self.wpe is not None:
            x = self.drop(inputs_embeds + self.wpe(position_ids))
        else:
            x = self.drop(inputs_embeds)
            rope = rotary_tables(position_ids, self.inv_freq)
        # Masks shared by every layer, built once.
        prev_real = None
        if self.config.smear_keys:
            real = attention_mask if attention_mask is not None else self._all_real(inputs_embeds, past_key_values)
            prev_real = previous_is_real(real, inputs_embeds.dtype)
        bias = None
        if not use_sdpa:
            # 0 where kept, the dtype's minimum where not: (keep - 1) * max is exact for 0/1.
            bias = (keep.to(inputs_embeds.dtype) - 1.0) * torch.finfo(inputs_embeds.dtype).max
        hidden: List[torch.Tensor] = [x]
        presents: List[KV] = []
        for i, block in enumerate(self.h):
            past = past_key_values[i] if past_key_values is not None else None
            x, present = block(x, keep, past, use_sdpa, rope, prev_real, bias)
            presents.append(present)
            if output_hidden_states:
                hidden.append(x)
        last = self.ln_f(x)
        logits = F.linear(last, self.wte.weight)
        return GPTOutput(logits, last, tuple(hidden) if output_hidden_states else None, presents)

    @staticmethod
    def _all_real(inputs_embeds, past_key_values) -> torch.Tensor:
        total = inputs_embeds.shape[1]
        if past_key_values is not None:
            total = total + past_key_values[0][0].shape[2]
        return torch.ones(inputs_embeds.shape[0], total, dtype=torch.long, device=inputs_embeds.device)

    @staticmethod
    def _keep_mask(inputs_embeds, attention_mask, past_key_values) -> torch.Tensor:
        s = inputs_embeds.shape[1]
        if past_key_values is not None:
            total = past_key_values[0][0].shape[2] + s
        else:
            total = s
        keep = _causal_keep(s, total, inputs_embeds.device)
        if attention_mask is not None:
            keep = keep & (attention_mask[:, None, None, :] > 0)
        return keep


# --- Hugging Face GPT-2 checkpoints -------------------------------------------------------------

_CONV1D_SUFFIXES = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
_IGNORED_SUFFIXES = (".attn.bias", ".attn.masked_bias")  # GPT-2's causal-mask buffers


def load_gpt2_state_dict(model: GPT, hf_state: Mapping[str, torch.Tensor],
                         strict: bool = True) -> Dict[str, List[str]]:
    """Copy a Hugging Face GPT-2 state dict (GPT2LMHeadModel or GPT2Model) into `model`.

    Key mapping: `transformer.` is dropped (GPT2Model keys have no prefix); `h.{i}.attn.c_attn`,
    `attn.c_proj`, `mlp.c_fc`, `mlp.c_proj` weights are Conv1D [in, out] and are transposed into
    nn.Linear [out, in]; biases, layer norms, wte, wpe and ln_f copy as they are. `attn.bias` and
    `attn.masked_bias` (mask buffers) are skipped; `lm_head.weight` is tied to wte and only checked.
    If the model has more vocabulary rows than the checkpoint (Coconut appends its 3 special
    tokens), the checkpoint rows are copied into the first rows and the rest keep their current
    values (callers usually initialise them, e.g. from an existing token's embedding).
    Returns {"loaded": [...], "skipped": [...]}; with strict=True a missing or unexpected key, or a
    shape that does not fit, raises ValueError naming the key.
    """
    ours = model.state_dict()
    loaded, skipped, problems = [], [], []
    lm_head = None
    for key, value in hf_state.items():
        name = key[len("transformer."):] if key.startswith("transformer.") else key
        if name == "lm_head.weight":
            lm_head = value
            skipped.append(key)
            continue
        if name.endswith(_IGNORED_SUFFIXES):
            skipped.append(key)
            continue
        if name not in ours:
            problems.append(f"unexpected key {key!r}")
            continue
        value = value.detach().to(torch.float32)
        if name.endswith(_CONV1D_SUFFIXES):
            value = value.t()
        target = ours[name]
        if name == "wte.weight" and value.shape[0] < target.shape[0] and value.shape[1] == target.shape[1]:
            with torch.no_grad():
                target[: value.shape[0]].copy_(value)
            loaded.append(name)
            continue
        if tuple(value.shape) != tuple(target.shape):
            problems.append(f"{key!r}: checkpoint shape {tuple(value.shape)} (after transposing "
                            f"Conv1D weights) does not fit {name!r} {tuple(target.shape)}")
            continue
        with torch.no_grad():
            target.copy_(value)
        loaded.append(name)
    missing = sorted(set(ours) - set(loaded))
    if missing:
        problems.append(f"missing keys {missing}")
    wte = hf_state.get("transformer.wte.weight", hf_state.get("wte.weight"))
    if lm_head is not None and wte is not None and not torch.equal(lm_head, wte):
        problems.append("lm_head.weight differs from wte.weight: this model ties them, so an "
                        "untied checkpoint cannot be loaded")
    if problems and strict:
        raise ValueError("cannot load the GPT-2 state dict: " + "; ".join(problems))
    return {"loaded": loaded, "skipped": skipped, "problems": problems}


def config_from_gpt2_state_dict(hf_state: Mapping[str, torch.Tensor], n_head: int,
                                extra_tokens: int = 0) -> GPTConfig:
    """The GPTConfig matching a GPT-2 state dict (n_head is not recoverable from shapes)."""
    def get(name):
        for k in (f"transformer.{name}", name):
            if k in hf_state:
                return hf_state[k]
        raise ValueError(f"state dict has no {name!r} (nor transformer.{name})")
    wte, wpe = get("wte.weight"), get("wpe.weight")
    layers = set()
    for k in hf_state:
        parts = k.split(".")
        if "h" in parts:
            layers.add(int(parts[parts.index("h") + 1]))
    return GPTConfig(vocab_size=wte.shape[0] + extra_tokens, n_positions=wpe.shape[0],
                     n_layer=len(layers), n_head=n_head, n_embd=wte.shape[1])
