"""Tokenized ProsQA examples and the seekable stream of them that training reads: generated
chunks (in the training process or in worker processes) or a cycled file, batched from
length-sorted pools.
"""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

try:
    from . import prosqa_data as D
    from . import vocab as V
    from .tokenizer import PRE_TOKENIZER_REGEX, WordTokenizer
except ImportError:  # pragma: no cover - script use
    import prosqa_data as D
    import vocab as V
    from tokenizer import PRE_TOKENIZER_REGEX, WordTokenizer


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
                pending.append(self.pool.submit(_encoded_chunk, self.seed, nxt, self.gen_for_chunk(nxt), self.chunk))
                nxt += 1
            yield from pending.popleft().result()[off:]
            off = 0

    def start(self) -> None:
        """Starts the generator processes (stream source with workers > 0)."""
        if self.pool is None and self.file_examples is None and self.workers > 0:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                            initializer=_worker_init, initargs=(self.exclude, self.enc.tok.json))

    def close(self):
        # Not multiprocessing.Pool: its terminate() now and then hangs joining its own threads
        # (python/cpython#96995, #78178), about 1 test run in 200 here with the other core busy.
        # The prefetched chunks not started are dropped; those running (one per worker) finish.
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
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
