"""ProsQA generator: the paper's construction (Hao et al. 2024, appendix A.2), calibrated so the
graphs match the statistics of the official set (data/prosqa/prosqa_valid.json).

Construction, per graph:
  * N ~ Normal(nodes_mean, nodes_sd), clipped to [nodes_min, nodes_max].
  * Nodes 0 and 1 start the graph, labelled "descends from 0" and "descends from 1" (bit masks 1, 2).
  * Each further node draws Poisson(parents_mean) parents. A zero is kept only with probability
    1 - redraw_zero_p each time (else re-drawn): taken literally the paper's recipe gives ~6.5
    parentless nodes per graph, the official set has 2.5.
  * With probability restrict_p the parents come only from nodes not descending from 1, with
    restrict_p only from nodes not descending from 0, otherwise from any node; sampled without
    replacement with weight depth_weight * depth + 1 (depth = longest chain above the node), so
    chains grow long. The node's label is the OR of its parents' labels.
  * Parentless nodes get person names, the others concept words (distinct within a graph).
  * Node 0 or 1 (at random) is the root (the entity asked about); the target is the leaf that
    descends from the root only and lies farthest from it (ties at random, as in every official
    record); the wrong option is a random leaf that descends from the other start node only.
  * Graphs are kept by shortest-path length with quotas per chunk, so the histogram of steps per
    record is the official one (3: 41%, 4: 44%, 5: 12%, 6: 2.3%) whatever the other settings.

Records use the official schema and sentences: question, steps, answer, idx_to_symbol, edges,
root, target, neg_target. Records whose question equals an official validation question are dropped.

Usage:
  python3 training/prosqa_data.py generate --n 20000 --seed 0 --out data/train.jsonl [--workers 2]
  python3 training/prosqa_data.py stats FILE [FILE ...]      (compares with the official valid set)
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import multiprocessing
import random
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

try:  # imported as `training.prosqa_data` or, from training/, as `prosqa_data`
    from . import vocab as _vocab
    from .prosqa_files import OFFICIAL_VALID, load_records, official_questions, write_records
except ImportError:  # pragma: no cover - script use
    import vocab as _vocab
    from prosqa_files import OFFICIAL_VALID, load_records, official_questions, write_records

# Steps per record in the official validation set (124/133/36/7 of 300), rounded as in the notes.
OFFICIAL_STEPS_HIST = {3: 0.41, 4: 0.44, 5: 0.12, 6: 0.023}


@dataclass
class GenConfig:
    nodes_mean: float = 23.0
    nodes_sd: float = 2.0
    nodes_min: int = 17
    nodes_max: int = 28
    parents_mean: float = 1.5
    redraw_zero_p: float = 0.9
    restrict_p: float = 0.35
    depth_weight: float = 1.5
    # shortest-path length -> share of records; keys are the only lengths kept
    steps_hist: Dict[int, float] = field(default_factory=lambda: dict(OFFICIAL_STEPS_HIST))
    chunk: int = 500  # records per seeded chunk (quotas are exact per chunk)

    @classmethod
    def from_dict(cls, d: Optional[dict]) -> "GenConfig":
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown generator option(s) {sorted(unknown)}; "
                             f"known: {sorted(known)}")
        if "steps_hist" in d:
            d["steps_hist"] = {int(k): float(v) for k, v in d["steps_hist"].items()}
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        if not 2 <= self.nodes_min <= self.nodes_max:
            raise ValueError(f"need 2 <= nodes_min <= nodes_max, got {self.nodes_min}..{self.nodes_max}")
        if self.nodes_max > 2 + len(_vocab.CONCEPTS) + len(_vocab.NAMES) - 2:
            raise ValueError("nodes_max exceeds the available names + concepts")
        if not self.steps_hist or min(self.steps_hist) < 1 or sum(self.steps_hist.values()) <= 0:
            raise ValueError("steps_hist must map path lengths >= 1 to positive shares")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["steps_hist"] = {str(k): v for k, v in self.steps_hist.items()}
        return d


# ----------------------------------------------------------------------------------------------
# graphs


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method; lam is small (1.5).
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _weighted_sample(rng: random.Random, items: List[int], weights: List[float], k: int) -> List[int]:
    items, weights = list(items), list(weights)
    out = []
    for _ in range(min(k, len(items))):
        r = rng.random() * sum(weights)
        j = 0
        while j < len(weights) - 1 and r >= weights[j]:
            r -= weights[j]
            j += 1
        out.append(items.pop(j))
        weights.pop(j)
    return out


def build_graph(rng: random.Random, cfg: GenConfig) -> Tuple[List[List[int]], List[int]]:
    """(parents per node, label bit mask per node) of one random DAG in construction order."""
    n = int(round(rng.gauss(cfg.nodes_mean, cfg.nodes_sd)))
    n = max(cfg.nodes_min, min(cfg.nodes_max, n))
    parents: List[List[int]] = [[], []]
    labels = [1, 2]
    depth = [0, 0]
    for v in range(2, n):
        k = _poisson(rng, cfg.parents_mean)
        while k == 0 and rng.random() < cfg.redraw_zero_p:
            k = _poisson(rng, cfg.parents_mean)
        r = rng.random()
        if r < cfg.restrict_p:
            cand = [u for u in range(v) if not labels[u] & 2]
        elif r < 2 * cfg.restrict_p:
            cand = [u for u in range(v) if not labels[u] & 1]
        else:
            cand = list(range(v))
        ps = _weighted_sample(rng, cand, [cfg.depth_weight * depth[u] + 1 for u in cand], k)
        ps.sort()
        parents.append(ps)
        lab = 0
        for u in ps:
            lab |= labels[u]
        labels.append(lab)
        depth.append(1 + max((depth[u] for u in ps), default=-1))
    return parents, labels


def bfs(n: int, edges: Iterable[Sequence[int]], src: int) -> Tuple[Dict[int, int], Dict[int, int]]:
    """Shortest distance from src and number of shortest paths, for every reachable node."""
    adj: Dict[int, List[int]] = collections.defaultdict(list)
    for a, b in edges:
        adj[a].append(b)
    dist, count, queue = {src: 0}, {src: 1}, [src]
    for u in queue:
        for v in adj[u]:
            if v not in dist:
                dist[v], count[v] = dist[u] + 1, count[u]
                queue.append(v)
            elif dist[v] == dist[u] + 1:
                count[v] += count[u]
    return dist, count


def frontiers(record: dict) -> List[List[int]]:
    """Node indices at shortest distance 1, 2, ... from the root (the BFS frontiers)."""
    dist, _ = bfs(len(record["idx_to_symbol"]), record["edges"], record["root"])
    by_d: Dict[int, List[int]] = collections.defaultdict(list)
    for v, d in dist.items():
        if d > 0:
            by_d[d].append(v)
    return [sorted(by_d[d]) for d in range(1, max(by_d, default=0) + 1)]


def sentence(subject: str, obj: str) -> str:
    if subject[0].isupper():  # a person name
        return f"{subject} is a {obj}."
    return f"Every {subject} is a {obj}."


def make_record(rng: random.Random, cfg: GenConfig) -> Optional[dict]:
    """One record, or None when the graph has no valid question (the caller draws again)."""
    parents, labels = build_graph(rng, cfg)
    n = len(parents)
    children: List[List[int]] = [[] for _ in range(n)]
    for v, ps in enumerate(parents):
        for u in ps:
            children[u].append(v)
    n_names = sum(1 for ps in parents if not ps)
    if n_names > len(_vocab.NAMES) or n - n_names > len(_vocab.CONCEPTS):
        return None
    root = rng.randrange(2)
    other = 1 - root
    edges = [[u, v] for v in range(n) for u in parents[v]]
    dist, count = bfs(n, edges, root)
    # Options are concept leaves (a start node without children is a leaf too, but a name).
    root_leaves = [v for v in range(n) if parents[v] and not children[v]
                   and labels[v] == 1 << root and v in dist]
    neg_leaves = [v for v in range(n) if parents[v] and not children[v] and labels[v] == 1 << other]
    if not root_leaves or not neg_leaves:
        return None
    far = max(dist[v] for v in root_leaves)
    if far not in cfg.steps_hist:
        return None
    target = rng.choice([v for v in root_leaves if dist[v] == far])
    neg_target = rng.choice(neg_leaves)

    names = rng.sample(_vocab.NAMES, n_names)
    concepts = rng.sample(_vocab.CONCEPTS, n - n_names)
    symbols = [names.pop() if not parents[v] else concepts.pop() for v in range(n)]

    # A uniformly random shortest path, walked back from the target.
    path = [target]
    while path[-1] != root:
        v = path[-1]
        preds = [u for u in parents[v] if dist.get(u) == dist[v] - 1]
        r = rng.random() * sum(count[u] for u in preds)
        for u in preds:
            r -= count[u]
            if r < 0:
                break
        path.append(u)
    path.reverse()

    facts = [sentence(symbols[u], symbols[v]) for u, v in edges]
    rng.shuffle(facts)
    options = [symbols[target], symbols[neg_target]]
    rng.shuffle(options)
    question = " ".join(facts) + f" Is {symbols[root]} a {options[0]} or {options[1]}?"
    return {
        "question": question,
        "steps": [sentence(symbols[a], symbols[b]) for a, b in zip(path, path[1:])],
        "answer": f"{symbols[root]} is a {symbols[target]}.",
        "idx_to_symbol": symbols,
        "edges": edges,
        "root": root,
        "target": target,
        "neg_target": neg_target,
    }


# ----------------------------------------------------------------------------------------------
# seeded chunks with exact step quotas


def _quotas(size: int, hist: Dict[int, float]) -> Dict[int, int]:
    # largest remainder: shares that sum to `size` exactly
    total = sum(hist.values())
    raw = {k: size * v / total for k, v in hist.items()}
    q = {k: int(math.floor(x)) for k, x in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - q[k], reverse=True)[: size - sum(q.values())]:
        q[k] += 1
    return q


def generate_chunk(seed: int, index: int, cfg: GenConfig, size: Optional[int] = None,
                   exclude: frozenset = frozenset()) -> List[dict]:
    """Records of chunk `index` of the stream seeded by `seed` (the same inputs give the same records)."""
    size = cfg.chunk if size is None else size
    rng = random.Random(f"prosqa/{seed}/{index}")
    need = _quotas(size, cfg.steps_hist)
    out: List[dict] = []
    attempts = 0
    while sum(need.values()) > 0:
        attempts += 1
        if attempts > 2000 * size + 10000:
            raise RuntimeError(f"generator made only {len(out)} of {size} records; the settings "
                               f"({cfg.to_dict()}) rarely give shortest paths of "
                               f"{sorted(k for k, v in need.items() if v)} edges: widen steps_hist "
                               "or enlarge the graphs")
        rec = make_record(rng, cfg)
        if rec is None:
            continue
        k = len(rec["steps"])
        if need.get(k, 0) <= 0 or rec["question"] in exclude:
            continue
        need[k] -= 1
        out.append(rec)
    rng.shuffle(out)
    return out


def _chunk_job(args):
    return generate_chunk(*args)


def generate(n: int, seed: int = 0, cfg: Optional[GenConfig] = None, workers: int = 1,
             exclude: Optional[frozenset] = None, first_chunk: int = 0) -> Iterator[dict]:
    """n records from the stream `seed`, chunk `first_chunk` on; workers > 1 uses processes."""
    cfg = cfg or GenConfig()
    exclude = official_questions() if exclude is None else exclude
    n_chunks = -(-n // cfg.chunk)
    jobs = [(seed, first_chunk + i, cfg, min(cfg.chunk, n - i * cfg.chunk), exclude)
            for i in range(n_chunks)]
    if workers <= 1 or n_chunks <= 1:
        for j in jobs:
            yield from _chunk_job(j)
        return
    ctx = multiprocessing.get_context("spawn" if sys.platform == "darwin" else "fork")
    # Not multiprocessing.Pool, whose terminate() (also its `with` exit) now and then hangs
    # (python/cpython#96995); a consumer that stops early drops the chunks not yet started.
    pool = ProcessPoolExecutor(workers, mp_context=ctx)
    try:
        for recs in pool.map(_chunk_job, jobs):
            yield from recs
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate", help="write N generated records (JSON if FILE ends .json, else JSONL)")
    g.add_argument("--n", type=int, required=True)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", required=True)
    g.add_argument("--workers", type=int, default=1)
    g.add_argument("--config", help="JSON object of generator options (GenConfig fields)")
    g.add_argument("--first-chunk", type=int, default=0,
                   help="start at this chunk of the seeded stream (disjoint slices of one stream)")
    s = sub.add_parser("stats", help="graph statistics of FILEs next to the official valid set")
    s.add_argument("files", nargs="+")
    s.add_argument("--official", default=str(OFFICIAL_VALID))
    args = ap.parse_args(argv)

    if args.cmd == "generate":
        cfg = GenConfig.from_dict(json.loads(args.config) if args.config else None)
        n = write_records(args.out, generate(args.n, args.seed, cfg, args.workers,
                                             first_chunk=args.first_chunk))
        print(f"wrote {n} records to {args.out}")
        return 0
    # imported here, not at the top: prosqa_stats imports this module
    try:
        from .prosqa_stats import format_stats, summarize
    except ImportError:  # pragma: no cover - script use
        from prosqa_stats import format_stats, summarize
    named = []
    for f in args.files:
        named.append((Path(f).name, summarize(load_records(f))))
    if Path(args.official).exists():
        named.append(("official valid", summarize(load_records(args.official))))
    else:
        print(f"(official set {args.official} not found; showing the given files only)")
    print(format_stats(named))
    return 0


if __name__ == "__main__":
    sys.exit(main())
