"""Train a Coconut model on ProsQA from scratch (and the chain-of-thought / no-CoT baselines).

  python3 training/train.py --config training/configs/prosqa-h100.json --out-dir runs/prosqa [--resume]
  python3 training/train.py --config C --out-dir D --set optim.lr=5e-4 --set batch_size=64
  python3 training/train.py --config C --out-dir D --resume --stop-after-minutes 9   (device calls)
  python3 training/train.py bench --config C [--stage 6] --steps 5   (examples/s, efficient vs naive)

The curriculum (Hao et al. 2024): stage 0 is chain of thought; stage s replaces the first s steps
with s*c continuous thoughts; the last stage (max_latent_stage) has every step latent. Loss only on
the language after <eot> (never on the question or the thoughts); a fresh optimizer per stage.

Levers from ../shared/notes/coconut.md, all config options: an auxiliary BFS/frontier loss that
pushes thought t's next-token distribution onto the concepts at distance ceil(t/c) from the root
("Emergence of Superposition", Zhu et al. 2025), a graph-size curriculum (smaller graphs first),
stage mixing (with probability mix_prob an example of stage s uses a uniformly random stage 0..s)
and a longer stage 0 (stage_examples[0]).

The latent pass: n thoughts cost n+1 model calls (the prefix up to <bot> once, then one batched
single-position call per thought on the KV cache) plus one call for the rest, not n re-runs of the
whole sequence. Questions are left-padded so that <bot> is at the same index in every row.

Outputs in --out-dir: model.pt (export.py format; weights only, < 16 MiB for the full config;
rewritten at every stage end, so it is also a stage-boundary resume point), state.pt (latest full
training state: optimizer, step, stage, data position, RNG; for --resume), metrics.jsonl, summary.json.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import datetime as _dt
import json
import math
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
import torch.nn.functional as F

try:
    from . import prosqa_data as D
    from . import vocab as V
    from .model import GPT, GPTConfig
    from .tokenizer import PRE_TOKENIZER_REGEX, WordTokenizer
except ImportError:  # pragma: no cover - script use
    import prosqa_data as D
    import vocab as V
    from model import GPT, GPTConfig
    from tokenizer import PRE_TOKENIZER_REGEX, WordTokenizer

IGNORE = -100

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


# ----------------------------------------------------------------------------------------------
# tokenized examples


@dataclass
class Example:
    q: List[int]                  # question + "\n"
    steps: List[List[int]]        # each step + "\n"
    ans: List[int]                # "### " + answer, then eos
    frontier: List[List[int]]     # token ids of the concepts at distance 1, 2, ... from the root
    answer: str = ""
    record: Optional[dict] = None


def encoder_for(cfg: dict) -> "Encoder":
    return Encoder(WordTokenizer.default(compact=bool(cfg.get("tokenizer", {}).get("compact"))))


class Encoder:
    """Whole-word encoding that equals tokenizer.encode for ProsQA text (tested), but fast."""

    def __init__(self, tok: Optional[WordTokenizer] = None):
        self.tok = tok or WordTokenizer.default()
        self.ids = dict(self.tok.token_to_id)
        self.eos = self.tok.id(V.EOS)
        self.bot = self.tok.id(V.BOT)
        self.eot = self.tok.id(V.EOT)
        self.latent = self.tok.id(V.LATENT)
        self.vocab_size = self.tok.vocab_size

    def text(self, s: str) -> List[int]:
        out = []
        for w in PRE_TOKENIZER_REGEX.findall(self.tok.normalize(s)):
            i = self.ids.get(w)
            if i is None:
                raise ValueError(f"word {w!r} is not in the ProsQA vocabulary (training/vocab.py); "
                                 "the data must use the official names and concepts")
            out.append(i)
        return out

    def encode(self, r: dict, keep_record: bool = False) -> Example:
        sym = r["idx_to_symbol"]
        return Example(
            q=self.text(r["question"] + "\n"),
            steps=[self.text(s + "\n") for s in r["steps"]],
            ans=self.text("### " + r["answer"]) + [self.eos],
            frontier=[[self.ids[sym[v]] for v in layer] for layer in D.frontiers(r)],
            answer=self.tok.normalize(r["answer"]),   # what the model writes
            record=r if keep_record else None,
        )


_WORKER: Dict[str, Any] = {}


def _worker_init(exclude, tok_json=None):
    _WORKER["enc"] = Encoder(WordTokenizer(tok_json) if tok_json else None)
    _WORKER["exclude"] = exclude


def _encoded_chunk(seed: int, index: int, gen: dict, size: int,
                   exclude: Optional[frozenset] = None, tok_json: Optional[dict] = None) -> List[Example]:
    if "enc" not in _WORKER or _WORKER["enc"].tok.json != (tok_json or _WORKER["enc"].tok.json):
        _worker_init(exclude if exclude is not None else D.official_questions(), tok_json)
    recs = D.generate_chunk(seed, index, D.GenConfig.from_dict(gen), size, _WORKER["exclude"])
    return [_WORKER["enc"].encode(r) for r in recs]


class RecordSource:
    """The infinite, seekable sequence of training examples: record r of the stream is always the
    same example, so a resumed run sees exactly what an uninterrupted one would."""

    def __init__(self, cfg: dict, enc: Encoder):
        d = cfg["data"]
        self.seed = d["seed"]
        self.enc = enc
        self.file_examples: Optional[List[Example]] = None
        self.exclude = D.official_questions()
        if d["source"] == "file":
            if not d["train_file"]:
                raise ValueError("data.source is 'file' but data.train_file is not set")
            recs = D.load_records(d["train_file"])
            recs = [r for r in recs if r["question"] not in self.exclude]
            if not recs:
                raise ValueError(f"{d['train_file']} has no usable records")
            self.file_examples = [enc.encode(r) for r in recs]
        elif d["source"] != "stream":
            raise ValueError("data.source must be 'stream' or 'file'")
        self.chunk = D.GenConfig.from_dict(d["gen"]).chunk
        # Phases in chunk units: phase i covers chunks [start_i, end_i).
        self.phases: List[Tuple[int, dict]] = []
        for ph in d["curriculum"]:
            self.phases.append((-(-int(ph["until_examples"]) // self.chunk), dict(ph.get("gen") or {})))
        self.main_gen = dict(d["gen"])
        self.workers = int(d["workers"])
        self.prefetch = max(1, int(d["prefetch_chunks"]))
        self.pool = None

    def gen_for_chunk(self, index: int) -> dict:
        for end, gen in self.phases:
            if index < end:
                g = dict(self.main_gen)
                g.update(gen)
                return g
        return self.main_gen

    def iterate(self, start: int) -> Iterator[Example]:
        """Examples start, start+1, ..."""
        if self.file_examples is not None:
            n = len(self.file_examples)
            epoch, i = divmod(start, n)
            while True:
                perm = list(range(n))
                random.Random(f"file/{self.seed}/{epoch}").shuffle(perm)
                for j in perm[i:]:
                    yield self.file_examples[j]
                epoch, i = epoch + 1, 0
        c, off = divmod(start, self.chunk)
        if self.workers <= 0:
            while True:
                yield from _encoded_chunk(self.seed, c, self.gen_for_chunk(c), self.chunk,
                                          self.exclude, self.enc.tok.json)[off:]
                c, off = c + 1, 0
        self.start()
        pending: collections.deque = collections.deque()
        nxt = c
        while True:
            while len(pending) < self.prefetch:
                pending.append(self.pool.apply_async(
                    _encoded_chunk, (self.seed, nxt, self.gen_for_chunk(nxt), self.chunk)))
                nxt += 1
            yield from pending.popleft().get()[off:]
            off = 0

    def start(self) -> None:
        """Starts the generator processes (stream source with workers > 0)."""
        if self.pool is None and self.file_examples is None and self.workers > 0:
            import multiprocessing
            ctx = multiprocessing.get_context("fork")
            self.pool = ctx.Pool(self.workers, initializer=_worker_init,
                                 initargs=(self.exclude, self.enc.tok.json))

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None


class BatchStream:
    """Batches of `batch_size` from pools of `sortish` batches sorted by length (less padding),
    in a seeded random order. Examples that cannot fit the context in the longest layout are
    skipped (a very rare huge graph must not stop a run). Its position is (record index where the
    current pool starts, pool index, batch in pool)."""

    def __init__(self, source: RecordSource, batch_size: int, sortish: int, seed: int,
                 max_len: Optional[int] = None):
        self.source, self.bs, self.k, self.seed = source, batch_size, max(1, sortish), seed
        self.max_len = max_len
        self.pool_idx, self.batch_in_pool, self.pool_start = 0, 0, 0
        self.skipped = 0
        self._it: Optional[Iterator[Example]] = None
        self._pos = 0            # record index the iterator yields next
        self._pool_end = 0
        self._batches: List[List[Example]] = []

    def state(self) -> dict:
        return {"pool_idx": self.pool_idx, "batch_in_pool": self.batch_in_pool,
                "pool_start": self.pool_start, "batch_size": self.bs, "sortish": self.k}

    def seek(self, st: dict) -> None:
        if st.get("batch_size", self.bs) != self.bs or st.get("sortish", self.k) != self.k:
            raise ValueError("cannot resume: batch_size or data.sortish_batches changed since the "
                             "checkpoint was written; restore them or start a new run")
        self.pool_idx, self.batch_in_pool = st["pool_idx"], st["batch_in_pool"]
        self.pool_start = st["pool_start"]
        self._it, self._batches = None, []

    def fits(self, e: Example) -> bool:
        # prompt + bot + thoughts + eot + every step + answer: the longest any stage makes
        return self.max_len is None or len(e.q) + sum(map(len, e.steps)) + len(e.ans) + 2 <= self.max_len

    def _fill(self) -> None:
        if self._it is None:
            self._it = self.source.iterate(self.pool_start)
            self._pos = self.pool_start
        pool: List[Example] = []
        while len(pool) < self.k * self.bs:
            e = next(self._it)
            self._pos += 1
            if self.fits(e):
                pool.append(e)
            else:
                self.skipped += 1
        self._pool_end = self._pos
        pool.sort(key=lambda e: (len(e.q), sum(map(len, e.steps))))
        batches = [pool[i:i + self.bs] for i in range(0, len(pool), self.bs)]
        random.Random(f"pool/{self.seed}/{self.pool_idx}").shuffle(batches)
        self._batches = batches

    def next(self) -> Tuple[List[Example], random.Random]:
        """A batch and an RNG seeded by its position (stage mixing draws from it)."""
        if not self._batches:
            self._fill()
        batch = self._batches[self.batch_in_pool]
        rng = random.Random(f"batch/{self.seed}/{self.pool_idx}/{self.batch_in_pool}")
        self.batch_in_pool += 1
        if self.batch_in_pool == self.k:
            self.pool_idx, self.batch_in_pool, self._batches = self.pool_idx + 1, 0, []
            self.pool_start = self._pool_end
        return batch, rng


# ----------------------------------------------------------------------------------------------
# batches


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


# ----------------------------------------------------------------------------------------------
# the latent pass


def amp_context(amp_dtype: Optional[torch.dtype]):
    """bf16 autocast on CUDA, nothing elsewhere (torch 1.13 cannot even build a disabled one
    without CUDA)."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=amp_dtype)


def _cast(x: torch.Tensor, dtype: Optional[torch.dtype]) -> torch.Tensor:
    # Under CUDA autocast the model builds its attention bias in the dtype of inputs_embeds; in
    # bf16 that bias matches the bf16 query SDPA sees and its finite minimum keeps left-padded
    # rows (which attend to nothing) free of NaN.
    return x if dtype is None else x.to(dtype)


def latent_forward(model: GPT, b: Batch, amp_dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """Logits of positions bot..T-1 ([B, T-bot, V]), thoughts filled in, with N+2 model calls."""
    emb = model.embed(b.ids)
    P0, N = b.bot, b.n_max
    out = model(_cast(emb[:, :P0 + 1], amp_dtype), b.pos[:, :P0 + 1], b.attn[:, :P0 + 1])
    logits = [out.logits[:, -1:]]
    past, h = out.presents, out.last_hidden_state[:, -1]
    for j in range(N):
        t = P0 + 1 + j
        x = torch.where(b.latent[:, j, None], h.to(emb.dtype), emb[:, t])
        out = model(_cast(x[:, None], amp_dtype), b.pos[:, t:t + 1], b.attn[:, :t + 1], past)
        logits.append(out.logits)
        past, h = out.presents, out.last_hidden_state[:, -1]
    t = P0 + 1 + N
    if t < b.ids.shape[1]:
        out = model(_cast(emb[:, t:], amp_dtype), b.pos[:, t:], b.attn, past)
        logits.append(out.logits)
    return torch.cat(logits, 1)


def latent_forward_naive(model: GPT, b: Batch, amp_dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """The same logits the slow way: one full forward over the prefix per thought, then a full
    forward over everything (what a straightforward Coconut loop does). For tests and timing."""
    x = model.embed(b.ids)
    P0, N = b.bot, b.n_max
    for j in range(N):
        t = P0 + 1 + j
        out = model(_cast(x[:, :t], amp_dtype), b.pos[:, :t], b.attn[:, :t])
        h = out.last_hidden_state[:, -1].to(x.dtype)
        col = torch.where(b.latent[:, j, None], h, x[:, t])
        x = torch.cat([x[:, :t], col[:, None], x[:, t + 1:]], 1)
    out = model(_cast(x, amp_dtype), b.pos, b.attn)
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


# ----------------------------------------------------------------------------------------------
# batched greedy evaluation


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
    out = model(_cast(model.embed(ids), amp_dtype), pos, attn[:, :P0 + 1])
    t = P0 + 1
    for _ in range(k):
        h = out.last_hidden_state[:, -1:]
        out = model(_cast(h, amp_dtype), nxt, attn[:, :t + 1], out.presents)
        nxt, t = nxt + 1, t + 1
    tok = torch.full((B, 1), enc.eot, dtype=torch.long, device=device)
    done = torch.zeros(B, dtype=torch.bool, device=device)
    gen: List[torch.Tensor] = []
    for _ in range(max_new_tokens):
        out = model(_cast(model.embed(tok), amp_dtype), nxt, attn[:, :t + 1], out.presents)
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


def answer_of(text: str) -> str:
    """The reference scoring: the text after the last '#', stripped."""
    return text.split("#")[-1].strip()


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


# ----------------------------------------------------------------------------------------------
# training


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


def pick_device(cfg: dict) -> torch.device:
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True   # float32 evaluation on the GPU
        return torch.device("cuda")
    return torch.device("cpu")


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, str(tmp))
    os.replace(tmp, path)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def training_data_text(cfg: dict) -> str:
    d = cfg["data"]
    if d["source"] == "file":
        return f"ProsQA records from {d['train_file']} (training/prosqa_data.py), official valid questions excluded"
    cur = "; graph-size curriculum " + json.dumps(d["curriculum"]) if d["curriculum"] else ""
    return (f"ProsQA generated by training/prosqa_data.py, stream seed {d['seed']}, generator "
            f"options {json.dumps(d['gen'])}{cur}; official valid questions excluded")


class Trainer:
    def __init__(self, cfg: dict, out_dir: Path, log=print, stop_after_minutes: Optional[float] = None):
        self.cfg, self.out, self.log = cfg, out_dir, log
        # wall-clock limit of this invocation (a device call is limited to 10 minutes)
        # (0 means stop at once, not "no limit": a scheduler may pass what is left of a phase)
        self.stop_after_s = stop_after_minutes * 60 if stop_after_minutes is not None else None
        out_dir.mkdir(parents=True, exist_ok=True)
        if cfg["threads"]:
            torch.set_num_threads(int(cfg["threads"]))
        self.device = pick_device(cfg)
        self.amp = torch.bfloat16 if (cfg["bf16"] and self.device.type == "cuda") else None
        self.enc = encoder_for(cfg)
        # Generator processes are forked before CUDA starts in this process.
        self.source = RecordSource(cfg, self.enc)
        self.source.start()
        torch.manual_seed(cfg["seed"])
        random.seed(cfg["seed"])
        np.random.seed(cfg["seed"])
        m = dict(cfg["model"])
        self.model = GPT(GPTConfig.from_dict({**m, "vocab_size": self.enc.vocab_size})).to(self.device)
        self.stream = BatchStream(self.source, cfg["batch_size"], cfg["data"]["sortish_batches"],
                                  cfg["data"]["seed"], max_len_of(cfg))
        self.plan = stage_plan(cfg)
        self.stage_i, self.step = 0, 0
        self.opt: Optional[torch.optim.Optimizer] = None
        self.history: List[dict] = []
        # one entry per invocation (a background segment): its minutes, examples and last eval
        self.segments: List[dict] = []
        # set by SIGTERM/SIGINT (training/segment.sh's time limit, Ctrl-C, a session ending): the
        # loop stops after the current step and saves its state, so no work since the last
        # checkpoint is lost
        self.stop_requested = False
        self.throughput: Dict[str, dict] = {}
        self.elapsed = 0.0
        ef = cfg["eval"]["file"]
        self.eval_exs: List[Example] = []
        if ef and Path(ef).exists():
            recs = D.load_records(ef)
            if cfg["eval"]["limit"]:
                recs = recs[: cfg["eval"]["limit"]]
            self.eval_exs = [self.enc.encode(r, keep_record=True) for r in recs]
        elif ef:
            self.log(f"warning: eval file {ef} not found; no periodic evaluation")

    # -- state -------------------------------------------------------------------------------
    def n_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def provenance(self, accuracy: List[dict]) -> dict:
        return {"created": _now(), "training_data": training_data_text(self.cfg),
                "config": self.cfg, "accuracy": accuracy,
                "training_minutes": round(self.elapsed / 60, 2), "examples_seen": self.examples_seen(),
                "segments": self.segments, "history": self.history}

    def save_model(self, accuracy: Optional[List[dict]] = None, done: bool = False) -> Path:
        state = {k: v.detach().float().cpu().clone() for k, v in self.model.state_dict().items()}
        ck = {"config": self.model.config.to_dict(), "model": state, "tokenizer": self.enc.tok.json,
              "provenance": self.provenance(accuracy or []),
              # a stage-boundary resume point: the optimizer is reset per stage anyway
              "resume": {"stage_i": self.stage_i, "step": self.step, "stream": self.stream.state(),
                         "done": done, "elapsed": self.elapsed, "history": self.history,
                         "segments": self.segments,
                         "throughput": self.throughput}}
        p = self.out / "model.pt"
        _atomic_save(ck, p)
        return p

    def save_state(self) -> None:
        st = {"model": self.model.state_dict(), "optimizer": self.opt.state_dict() if self.opt else None,
              "stage_i": self.stage_i, "step": self.step, "stream": self.stream.state(),
              "config": self.cfg, "elapsed": self.elapsed, "history": self.history,
              "segments": self.segments,
              "throughput": self.throughput,
              "rng": {"torch": torch.get_rng_state(), "python": random.getstate(),
                      "numpy": np.random.get_state(),
                      "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}}
        _atomic_save(st, self.out / "state.pt")

    def restore(self, path: Optional[Path] = None) -> None:
        """Continue from state.pt (mid-stage, optimizer included) or from a model.pt written at a
        stage end (weights only: the next stage starts with a fresh optimizer anyway)."""
        cands = [path] if path else [self.out / "state.pt", self.out / "model.pt"]
        for p in cands:
            if p is None or not p.exists():
                continue
            try:
                ck = torch.load(str(p), map_location="cpu", weights_only=False)
            except TypeError:
                ck = torch.load(str(p), map_location="cpu")
            if "optimizer" in ck:                       # full state
                self._check_config(ck["config"])
                self.model.load_state_dict(ck["model"])
                self.stage_i, self.step = ck["stage_i"], ck["step"]
                self.stream.seek(ck["stream"])
                self.elapsed, self.history = ck["elapsed"], ck["history"]
                self.segments = ck.get("segments", [])
                self.throughput = ck.get("throughput", {})
                if ck["optimizer"] is not None and self.stage_i < len(self.plan):
                    self.opt = make_optimizer(self.model, self.cfg, self.cfg["optim"]["lr"])
                    self.opt.load_state_dict(ck["optimizer"])
                rng = ck["rng"]
                torch.set_rng_state(rng["torch"])
                random.setstate(rng["python"])
                np.random.set_state(rng["numpy"])
                if rng.get("cuda") is not None and torch.cuda.is_available():
                    torch.cuda.set_rng_state_all(rng["cuda"])
            elif "resume" in ck:                        # stage boundary
                self._check_config(ck["provenance"]["config"])
                self.model.load_state_dict(ck["model"])
                r = ck["resume"]
                self.stage_i, self.step = r["stage_i"], r["step"]
                self.stream.seek(r["stream"])
                self.elapsed, self.history = r["elapsed"], r["history"]
                self.segments = r.get("segments", [])
                self.throughput = r.get("throughput", {})
                self.opt = None
            else:
                raise ValueError(f"{p} is neither a state.pt nor a model.pt written by train.py")
            if not self.segments and self.elapsed > 0:
                # a run started before segments were recorded: its time so far as one segment
                self.segments = [{"segment": 1, "reconstructed": True, "start_examples": 0,
                                  "start_minutes": 0.0, "minutes": round(self.elapsed / 60, 2),
                                  "end_examples": self.examples_seen(),
                                  "end_minutes": round(self.elapsed / 60, 2),
                                  "last_eval": self._last_eval()}]
            self.log(f"resumed from {p}: stage index {self.stage_i}, step {self.step}")
            return
        raise FileNotFoundError(f"--resume: no state.pt or model.pt in {self.out}; run without "
                                "--resume to start, or pass the checkpoint with --resume PATH")

    def _check_config(self, old: dict) -> None:
        for key in ("method", "model", "tokenizer", "c_thought", "max_latent_stage", "batch_size", "data",
                    "examples_scale"):
            if json.dumps(old.get(key), sort_keys=True) != json.dumps(self.cfg.get(key), sort_keys=True):
                raise ValueError(f"cannot resume: config {key!r} differs from the checkpoint's "
                                 f"({old.get(key)!r} there, {self.cfg.get(key)!r} now)")

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, k: Optional[int] = None) -> Optional[dict]:
        if not self.eval_exs:
            return None
        k0, m = eval_settings(self.cfg)
        k = k0 if k is None else k
        t = time.time()
        # float32, as the model will be exported and run by the engine
        acc, _ = evaluate_batched(self.model, self.eval_exs, k, m, self.enc, self.device, None,
                                  self.cfg["eval"]["batch_size"])
        self.model.train()
        return {"accuracy": acc, "thoughts": k, "n": len(self.eval_exs), "seconds": time.time() - t}

    def examples_seen(self) -> int:
        return int(sum(v["examples"] for v in self.throughput.values()))

    def evaluate_phase(self, k: int) -> Optional[dict]:
        """Accuracy on held-out records from the generator phase the stream is in now (the
        curriculum's small graphs say whether a phase has been learned long before the official
        set does). The held-out stream has its own seed, never used for training."""
        n = int(self.cfg["eval"].get("gen_n") or 0)
        if n <= 0 or self.source.file_examples is not None:
            return None
        gen = self.source.gen_for_chunk(self.stream.pool_start // self.source.chunk)
        key = json.dumps(gen, sort_keys=True)
        if getattr(self, "_phase_key", None) != key:
            recs = D.generate_chunk(self.cfg["data"]["seed"] + 7919, 0, D.GenConfig.from_dict(gen),
                                    n, self.source.exclude)
            self._phase_key, self._phase_exs = key, [self.enc.encode(r) for r in recs]
        _, m = eval_settings(self.cfg)
        acc, _ = evaluate_batched(self.model, self._phase_exs, k, m, self.enc, self.device, None,
                                  self.cfg["eval"]["batch_size"])
        self.model.train()
        return {"accuracy": acc, "n": len(self._phase_exs), "gen": gen}

    # -- the loop ----------------------------------------------------------------------------
    def run(self) -> dict:
        cfg, o = self.cfg, self.cfg["optim"]
        self.log(f"model: {self.n_params():,} parameters ({self.n_params() * 4 / 2**20:.2f} MiB "
                 f"float32), device {self.device}, amp {self.amp}")
        metrics = (self.out / "metrics.jsonl").open("a", encoding="utf-8")
        B = cfg["batch_size"]
        k_eval, _ = eval_settings(cfg)
        t_start = time.time() - self.elapsed
        t_invocation = time.time()
        seg = {"segment": len(self.segments) + 1, "started": _now(), "lr": self.cfg["optim"]["lr"],
               "start_examples": self.examples_seen(), "start_minutes": round(self.elapsed / 60, 2)}
        last_ckpt = time.time()
        stopped = False
        try:
            while self.stage_i < len(self.plan):
                stage, n_ex = self.plan[self.stage_i]
                steps = max(1, -(-n_ex // B))
                base_lr = (o["stage_lr"][self.stage_i] if o.get("stage_lr") else o["lr"])
                decays = o["decay_stages"] == "all" or self.stage_i == len(self.plan) - 1
                if self.opt is None or self.step == 0:
                    self.opt = make_optimizer(self.model, cfg, base_lr)   # reset per stage
                self.model.train()
                tp = self.throughput.setdefault(str(self.stage_i), {"stage": stage, "examples": 0,
                                                                     "seconds": 0.0, "data_seconds": 0.0})
                self.elapsed = time.time() - t_start
                every = cfg["eval"]["every_examples"]
                ev_steps = max(1, every // B) if every else 0
                win = self._new_window()
                while self.step < steps:
                    t0 = time.time()
                    exs, rng = self.stream.next()
                    mix = cfg["mix_prob"]
                    ss = [(rng.randint(0, stage) if (mix and rng.random() < mix) else stage) for _ in exs]
                    batch = make_batch(exs, ss, cfg["method"], cfg["c_thought"], cfg["max_latent_stage"],
                                       self.enc, cfg["model"]["n_positions"]).to(self.device)
                    win["data_s"] += time.time() - t0
                    lr = lr_at(self.step, steps, base_lr, o, decays)
                    for g in self.opt.param_groups:
                        g["lr"] = lr
                    with amp_context(self.amp):
                        ls = losses(latent_forward(self.model, batch, self.amp), batch, cfg["bfs_loss"])
                    self.opt.zero_grad(set_to_none=True)
                    ls["loss"].backward()
                    if o["grad_clip"]:
                        torch.nn.utils.clip_grad_norm_(self.model.parameters(), o["grad_clip"])
                    self.opt.step()
                    self.step += 1
                    # sums stay on the device: no host sync per step
                    for key in ("loss", "lm", "bfs", "frontier_mass"):
                        if key in ls:
                            win[key] = win[key] + ls[key].detach().float()
                    win["n"] += 1
                    win["ex"] += len(exs)
                    if self.step % cfg["log_every_steps"] == 0 or self.step == steps:
                        self._log_window(win, tp, metrics, stage, steps, lr, t_start)
                        win = self._new_window()
                    if ev_steps and self.step % ev_steps == 0 and self.step < steps:
                        self._flush_window(win, tp, t_start)
                        self._eval_and_log(metrics, stage, k_eval)
                        win = self._new_window()
                    if time.time() - last_ckpt > cfg["checkpoint_every_s"]:
                        self._flush_window(win, tp, t_start)
                        self.save_state()
                        win = self._new_window()
                        last_ckpt = time.time()
                    if (cfg["max_minutes"] and time.time() - t_start > cfg["max_minutes"] * 60) or \
                            (self.stop_after_s is not None and time.time() - t_invocation >= self.stop_after_s) or \
                            self.stop_requested:
                        self._flush_window(win, tp, t_start)
                        stopped = True
                        break
                if stopped:
                    self._close_segment(seg, t_invocation)
                    self.save_state()
                    self.log(f"stopped at stage index {self.stage_i} step {self.step} after "
                             f"{self.elapsed / 60:.1f} min in all; continue with --resume")
                    break
                self._eval_and_log(metrics, stage, k_eval, end_of_stage=True)
                self.stage_i, self.step, self.opt = self.stage_i + 1, 0, None
                self.save_model()
                self.save_state()
                last_ckpt = time.time()
        finally:
            metrics.close()
            self.source.close()
        if stopped:
            return {"stopped": True, "elapsed_min": self.elapsed / 60}
        self._close_segment(seg, t_invocation)
        return self.finish()

    def _last_eval(self) -> Optional[dict]:
        """The latest evaluation in short, for the segment log."""
        if not self.history:
            return None
        return {k: self.history[-1].get(k) for k in ("accuracy", "thoughts", "examples_seen")}

    def _close_segment(self, seg: dict, t_invocation: float) -> None:
        seg.update({"minutes": round((time.time() - t_invocation) / 60, 2),
                    "end_examples": self.examples_seen(),
                    "end_minutes": round(self.elapsed / 60, 2),
                    "last_eval": self._last_eval()})
        self.segments.append(seg)

    def _new_window(self) -> dict:
        return {"loss": 0.0, "lm": 0.0, "bfs": 0.0, "frontier_mass": 0.0, "n": 0, "ex": 0,
                "data_s": 0.0, "t": time.time()}

    def _flush_window(self, win: dict, tp: dict, t_start: float) -> float:
        """Adds the window's examples and wall time to the stage's throughput; returns seconds."""
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        el = time.time() - win["t"]
        tp["examples"] += win["ex"]
        tp["seconds"] += el
        tp["data_seconds"] += win["data_s"]
        self.elapsed = time.time() - t_start
        return el

    def _log_window(self, win: dict, tp: dict, metrics, stage: int, steps: int, lr: float,
                    t_start: float) -> None:
        el = self._flush_window(win, tp, t_start)
        n = max(1, win["n"])
        rec = {"stage_i": self.stage_i, "stage": stage, "step": self.step, "steps": steps, "lr": lr}
        for key in ("loss", "lm", "bfs", "frontier_mass"):
            rec[key] = float(win[key]) / n
        rec["examples_per_s"] = win["ex"] / max(el, 1e-9)
        rec["data_share"] = win["data_s"] / max(el, 1e-9)
        rec["elapsed_min"] = self.elapsed / 60
        self.log(f"stage {stage} step {self.step}/{steps} loss {rec['loss']:.4f} "
                 f"(lm {rec['lm']:.4f} bfs {rec['bfs']:.4f} frontier mass {rec['frontier_mass']:.3f}) "
                 f"lr {lr:.2e} {rec['examples_per_s']:.0f} ex/s (data {100 * rec['data_share']:.0f}%) "
                 f"{self.elapsed / 60:.1f} min")
        metrics.write(json.dumps(rec) + "\n")
        metrics.flush()

    def _eval_and_log(self, metrics, stage: int, k: int, end_of_stage: bool = False) -> Optional[dict]:
        if self.cfg["method"] == "coconut" and stage < self.cfg["max_latent_stage"]:
            k = stage * self.cfg["c_thought"]   # the thoughts this stage trains with
        r = self.evaluate(k)
        if r is None:
            return None
        rec = {"eval": True, "stage_i": self.stage_i, "stage": stage, "step": self.step,
               "end_of_stage": end_of_stage, "elapsed_min": self.elapsed / 60,
               "examples_seen": self.examples_seen(), **r}
        phase = self.evaluate_phase(k)
        if phase is not None:
            rec["phase"] = phase
        self.history.append(rec)
        metrics.write(json.dumps(rec) + "\n"); metrics.flush()
        self.log(f"eval stage {stage} step {self.step}: accuracy {r['accuracy']:.3f} with "
                 f"{r['thoughts']} thoughts ({r['seconds']:.1f} s)"
                 + (f"; current data phase {phase['accuracy']:.3f}" if phase else ""))
        return r

    def finish(self) -> dict:
        k, m = eval_settings(self.cfg)
        acc: List[dict] = []
        summary: Dict[str, Any] = {"name": self.cfg["name"], "method": self.cfg["method"],
                                   "params": self.n_params(), "elapsed_min": self.elapsed / 60,
                                   "device": str(self.device) + (
                                       f" ({torch.cuda.get_device_name()})" if self.device.type == "cuda" else ""),
                                   "throughput": {s: {**v, "examples_per_s": v["examples"] / max(v["seconds"], 1e-9)}
                                                  for s, v in self.throughput.items()},
                                   "history": self.history,
                                   "skipped_overlong_examples_this_invocation": self.stream.skipped}
        # the final weights are safe on disk before the (slower) reference evaluation
        self.save_model(done=True)
        if self.eval_exs:
            r = self.evaluate(k)
            summary["final_batched"] = r
            value = r["accuracy"]
            if self.cfg["eval"]["reference_at_end"]:
                value = reference_accuracy(self.model, self.eval_exs, k, m, self.enc, self.device)
                summary["final_reference"] = {"accuracy": value, "thoughts": k, "n": len(self.eval_exs)}
            acc.append({"dataset": Path(self.cfg["eval"]["file"]).stem, "thoughts": k,
                        "value": round(value, 4), "n": len(self.eval_exs)})
        p = self.save_model(acc, done=True)
        summary["model"] = str(p)
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        self.log(f"done in {self.elapsed / 60:.1f} min; accuracy {acc}; wrote {p}")
        return summary


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


# ----------------------------------------------------------------------------------------------
# throughput benchmark


def bench(cfg: dict, stage: int, steps: int, warmup: int = 1, naive: bool = True, log=print) -> dict:
    """Training steps (forward, backward, optimizer) per second at `stage`, efficient vs naive
    latent pass, interleaved on the same batches. On the CPU the time is this process's CPU time
    (other people's load on a shared machine does not count), on CUDA synchronized wall time;
    medians over the steps."""
    if cfg["threads"]:
        torch.set_num_threads(int(cfg["threads"]))
    device = pick_device(cfg)
    amp = torch.bfloat16 if (cfg["bf16"] and device.type == "cuda") else None
    enc = encoder_for(cfg)
    source = RecordSource(cfg, enc)
    stream = BatchStream(source, cfg["batch_size"], cfg["data"]["sortish_batches"], cfg["data"]["seed"],
                         max_len_of(cfg))
    batches = []
    for _ in range(warmup + steps):
        exs, _ = stream.next()
        batches.append(make_batch(exs, [stage] * len(exs), cfg["method"], cfg["c_thought"],
                                  cfg["max_latent_stage"], enc, cfg["model"]["n_positions"]).to(device))
    source.close()
    torch.manual_seed(cfg["seed"])
    model = GPT(GPTConfig.from_dict({**cfg["model"], "vocab_size": enc.vocab_size})).to(device)
    opt = make_optimizer(model, cfg, 1e-5)
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    variants = [("efficient", latent_forward)] + ([("naive", latent_forward_naive)] if naive else [])
    times: Dict[str, List[float]] = {name: [] for name, _ in variants}
    for i, b in enumerate(batches):
        for name, fwd in variants:
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = clock()
            with amp_context(amp):
                ls = losses(fwd(model, b, amp), b, cfg["bfs_loss"])
            opt.zero_grad(set_to_none=True)
            ls["loss"].backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= warmup:
                times[name].append(clock() - t0)
    res: Dict[str, Any] = {"stage": stage, "batch_size": cfg["batch_size"], "steps": steps,
                           "device": str(device) + (f" ({torch.cuda.get_device_name()})"
                                                    if device.type == "cuda" else ""),
                           "threads": torch.get_num_threads(),
                           "clock": "process CPU time" if device.type == "cpu" else "wall"}
    for name, ts in times.items():
        med = float(np.median(ts))
        res[name] = {"examples_per_s": cfg["batch_size"] / med, "seconds_per_step": med}
        log(f"stage {stage} {name}: {res[name]['examples_per_s']:.1f} examples/s "
            f"({med * 1000:.0f} ms/step median, batch {cfg['batch_size']})")
    if naive:
        res["speedup"] = res["efficient"]["examples_per_s"] / res["naive"]["examples_per_s"]
        log(f"stage {stage} speedup {res['speedup']:.2f}x")
    return res


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "bench":
        ap = argparse.ArgumentParser(description="training throughput: efficient vs naive latent pass")
        ap.add_argument("bench")
        ap.add_argument("--config", required=True)
        ap.add_argument("--set", action="append", default=[])
        ap.add_argument("--stage", type=int, action="append",
                        help="stage(s) to time (default: every stage of the plan, with a projection)")
        ap.add_argument("--target-minutes", type=float, default=22.0,
                        help="training minutes the projection fits examples_scale to")
        ap.add_argument("--steps", type=int, default=5)
        ap.add_argument("--no-naive", action="store_true")
        ap.add_argument("--json", help="write the results here")
        a = ap.parse_args(argv)
        cfg = load_config(a.config, a.set)
        plan = stage_plan(cfg)
        stages = a.stage or sorted({s for s, _ in plan})
        out = [bench(cfg, s, a.steps, naive=not a.no_naive) for s in stages]
        if not a.stage:
            speed = {r["stage"]: r["efficient"]["examples_per_s"] for r in out}
            minutes = sum(n / speed[s] for s, n in plan) / 60
            scale = cfg["examples_scale"] * a.target_minutes / minutes
            print(f"projected training time of this plan: {minutes:.1f} min (without evaluation); "
                  f"examples_scale={scale:.3f} would fit {a.target_minutes:.0f} min")
            out.append({"projected_minutes": minutes, "examples_scale_for_target": scale,
                        "target_minutes": a.target_minutes})
        if a.json:
            Path(a.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="JSON config (training/configs/*.json)")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--set", action="append", default=[], help="override, e.g. optim.lr=5e-4")
    ap.add_argument("--resume", nargs="?", const="", default=None,
                    help="continue from OUT_DIR/state.pt (or model.pt), or from the given file")
    ap.add_argument("--stop-after-minutes", type=float, default=None,
                    help="save state.pt and exit after this many minutes of this invocation")
    a = ap.parse_args(argv)
    cfg = load_config(a.config, a.set)
    out = Path(a.out_dir)
    if a.resume is None and ((out / "state.pt").exists() or (out / "model.pt").exists()):
        raise SystemExit(f"{out} already holds a run; pass --resume to continue it or choose "
                         "another --out-dir")
    tr = Trainer(cfg, out, log=lambda s: print(s, flush=True), stop_after_minutes=a.stop_after_minutes)

    def request_stop(signum, frame):
        tr.log(f"signal {signum}: stopping after this step and saving state.pt")
        tr.stop_requested = True
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    if a.resume is not None:
        tr.restore(Path(a.resume) if a.resume else None)
    tr.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
