"""A small checkpoint in exactly the layout facebookresearch/coconut saves, for import tests.

  python3 training/make_reference_fixture.py --out DIR [--n-layer 2] [--n-embd 64]
      [--seed 0] [--with-latents]

Writes (nothing is committed; tests build it in a temp folder):
  DIR/checkpoint_6     torch.save'd state dict of the reference `Coconut` module around a
                       GPT2LMHeadModel: `base_causallm.transformer.{wte,wpe}.weight`,
                       `base_causallm.transformer.h.{i}.{ln_1,attn.c_attn,attn.c_proj,ln_2,mlp.c_fc,
                       mlp.c_proj}.*` with Conv1D weights [in, out], the `attn.bias`/`attn.masked_bias`
                       buffers older transformers versions store, `base_causallm.transformer.ln_f.*`,
                       `base_causallm.lm_head.weight` and `embedding.weight` (both the wte tensor)
  DIR/tokenizer.json   a GPT-2-style byte-level BPE tokenizer: the 256 byte symbols, merges learnt
                       from ProsQA-like sentences, filler tokens up to id 50255, `<|endoftext|>` at
                       50256 - like GPT-2's own file, without the latent tokens (--with-latents
                       adds them at 50257..50259, as a tokenizer saved after add_tokens would)
  DIR/cases.json       [{"question", "k"}] for reference.py --cases-file

The vocabulary is GPT-2's 50257 + 3 Coconut tokens = 50260 rows, as in the paper's models; only
the depth and width are small. Weights are random (a larger init than GPT-2's so the distributions
are peaked and top-k orders are far from ties).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

try:
    from .bpe_tokenizer import BYTE_ENCODER, ByteLevelBPETokenizer, gpt2_pattern
except ImportError:  # pragma: no cover - script use
    from bpe_tokenizer import BYTE_ENCODER, ByteLevelBPETokenizer, gpt2_pattern

GPT2_VOCAB = 50257
EOS = "<|endoftext|>"
LATENTS = ("<|start-latent|>", "<|end-latent|>", "<|latent|>")
CHECKPOINT_NAME = "checkpoint_6"
N_MERGES = 120

CORPUS = [
    "Every lempus is a grimpus. Every grimpus is a zhorpus. Tom is a lempus.",
    "Is Tom a zhorpus or sterpus?",
    "Every sterpus is a wumpus. Alex is a sterpus. Is Alex a wumpus or lempus?",
    "### Tom is a zhorpus.",
    "Every brimpus is a rempus. Sally is a brimpus.",
]
CASES = [
    ("Every lempus is a grimpus. Tom is a lempus. Is Tom a grimpus or zhorpus?", [0, 3]),
    ("Every brimpus is a rempus. Sally is a brimpus. Is Sally a rempus or wumpus?", [2]),
]


def learn_merges(texts: Sequence[str], n: int) -> List[Tuple[str, str]]:
    """Plain BPE training on byte-level pieces: most frequent adjacent pair first (ties: smallest)."""
    words = collections.Counter()
    for t in texts:
        for piece in gpt2_pattern().findall(t):
            words[tuple(BYTE_ENCODER[b] for b in piece.encode("utf-8"))] += 1
    merges: List[Tuple[str, str]] = []
    for _ in range(n):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += c
        words = merged
    return merges


def build_tokenizer_json(with_latents: bool = False) -> dict:
    vocab: Dict[str, int] = {}
    for b in range(256):  # GPT-2 numbers its byte symbols in this table's order
        vocab[BYTE_ENCODER[b]] = len(vocab)
    merges = learn_merges(CORPUS, N_MERGES)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    # Filler up to GPT-2's size: short lower-case strings (valid bytes, so they decode cleanly);
    # no merge produces them, so encoding never does either.
    letters = "abcdefghijklmnopqrstuvwxyz"
    i = 0
    while len(vocab) < GPT2_VOCAB - 1:
        s, j = "", i
        while True:
            s = letters[j % 26] + s
            j = j // 26 - 1
            if j < 0:
                break
        i += 1
        if s not in vocab:
            vocab[s] = len(vocab)
    vocab[EOS] = GPT2_VOCAB - 1
    added = [{"id": GPT2_VOCAB - 1, "content": EOS, "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": True, "special": True}]
    if with_latents:
        for k, t in enumerate(LATENTS):
            added.append({"id": GPT2_VOCAB + k, "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": False})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
                          "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


def reference_state_dict(n_layer: int = 2, n_embd: int = 64, n_positions: int = 128,
                         vocab: int = GPT2_VOCAB + 3, seed: int = 0,
                         buffers: bool = True) -> "collections.OrderedDict[str, torch.Tensor]":
    """Random weights under the exact key names, order and shapes of the reference Coconut module."""
    rng = np.random.RandomState(seed)
    t = lambda *shape, std=1.0, mean=0.0: torch.from_numpy(  # noqa: E731
        (mean + std * rng.standard_normal(shape)).astype(np.float32))
    d = n_embd
    sd: "collections.OrderedDict[str, torch.Tensor]" = collections.OrderedDict()
    p = "base_causallm.transformer."
    wte = t(vocab, d, std=0.3)
    sd[p + "wte.weight"] = wte
    sd[p + "wpe.weight"] = t(n_positions, d, std=0.1)
    for i in range(n_layer):
        h = f"{p}h.{i}."
        sd[h + "ln_1.weight"] = t(d, std=0.1, mean=1.0)
        sd[h + "ln_1.bias"] = t(d, std=0.05)
        if buffers:
            sd[h + "attn.bias"] = torch.tril(torch.ones(n_positions, n_positions, dtype=torch.bool)
                                             ).view(1, 1, n_positions, n_positions)
            sd[h + "attn.masked_bias"] = torch.tensor(-1e4)
        sd[h + "attn.c_attn.weight"] = t(d, 3 * d, std=d ** -0.5)      # Conv1D: [in, out]
        sd[h + "attn.c_attn.bias"] = t(3 * d, std=0.05)
        sd[h + "attn.c_proj.weight"] = t(d, d, std=d ** -0.5)
        sd[h + "attn.c_proj.bias"] = t(d, std=0.05)
        sd[h + "ln_2.weight"] = t(d, std=0.1, mean=1.0)
        sd[h + "ln_2.bias"] = t(d, std=0.05)
        sd[h + "mlp.c_fc.weight"] = t(d, 4 * d, std=d ** -0.5)
        sd[h + "mlp.c_fc.bias"] = t(4 * d, std=0.05)
        sd[h + "mlp.c_proj.weight"] = t(4 * d, d, std=(4 * d) ** -0.5)
        sd[h + "mlp.c_proj.bias"] = t(d, std=0.05)
    sd[p + "ln_f.weight"] = t(d, std=0.1, mean=1.0)
    sd[p + "ln_f.bias"] = t(d, std=0.05)
    sd["base_causallm.lm_head.weight"] = wte   # tied: the same tensor, as in GPT2LMHeadModel
    sd["embedding.weight"] = wte               # Coconut.embedding is wte registered again
    return sd


def write_fixture(out: Path, n_layer: int = 2, n_embd: int = 64, seed: int = 0,
                  with_latents: bool = False) -> Dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / CHECKPOINT_NAME
    torch.save(reference_state_dict(n_layer, n_embd, seed=seed), str(ckpt))
    tok = build_tokenizer_json(with_latents)
    tok_path = out / "tokenizer.json"
    tok_path.write_text(json.dumps(tok, ensure_ascii=False) + "\n", encoding="utf-8")
    cases_path = out / "cases.json"
    cases_path.write_text(json.dumps([{"question": q, "k": k} for q, ks in CASES for k in ks],
                                     indent=1) + "\n", encoding="utf-8")
    ByteLevelBPETokenizer(tok)  # fails here, not in a test, if the file is not one we mirror
    return {"checkpoint": ckpt, "tokenizer": tok_path, "cases": cases_path}


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-embd", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--with-latents", action="store_true")
    args = ap.parse_args(argv)
    paths = write_fixture(Path(args.out), args.n_layer, args.n_embd, args.seed, args.with_latents)
    for role, p in paths.items():
        print(f"{role}: {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
