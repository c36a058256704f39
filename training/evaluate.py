"""Evaluate a checkpoint on a ProsQA file with the PyTorch reference loop (training/coconut.py).

  python3 training/evaluate.py --checkpoint CKPT --data FILE [--k 6] [--sweep 0-6]
      [--max-new-tokens 64] [--limit N] [--categories] [--frontier] [--json OUT]
  python3 training/evaluate.py --checkpoint CKPT --data FILE --model-dir DIR ...
      (k and max_new_tokens from DIR/coconut.json, as `coconut-lens eval` uses them)
  python3 training/evaluate.py compare PY.json TS.json [--tolerance 0]
      (the accuracies of this script and of `coconut-lens eval --json` must agree)

Scoring is the reference code's: the answer is the generated text after the last '#', stripped,
compared with the record's answer. --sweep gives the paper's k sweep (eot forced after k thoughts,
then language). --categories classifies the language reasoning path against the graph (Correct
Path, Longer Path, Hallucination, Wrong Target; Correct/Incorrect Label when only an answer is
written). --frontier measures, for every thought t, how much of its decoded distribution falls on
the BFS frontier (the concepts at distance t from the root) and on how many frontier nodes at once.

A tokenizer with a normalizer (the compact ProsQA one writes "Tom wumpus." for "Tom is a wumpus.")
is scored in its own text form: the record's answer is normalized before the comparison.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

try:
    from . import prosqa_data as D
    from .checkpoint import load_checkpoint
    from .coconut import answer_of, run_coconut
    from .tokenizer import WordTokenizer
    from . import vocab as V
except ImportError:  # pragma: no cover - script use
    import prosqa_data as D
    from checkpoint import load_checkpoint
    from coconut import answer_of, run_coconut
    from tokenizer import WordTokenizer
    import vocab as V


def parse_ks(spec: str) -> List[int]:
    out: List[int] = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        elif part.strip():
            out.append(int(part))
    return out


# ----------------------------------------------------------------------------------------------
# path categories


def _parse_step(sent: str):
    w = sent.replace(".", " .").split()
    if len(w) == 6 and w[0] == "Every" and w[2:4] == ["is", "a"] and w[5] == ".":
        return w[1], w[4]
    if len(w) == 5 and w[1:3] == ["is", "a"] and w[4] == ".":
        return w[0], w[3]
    if len(w) == 3 and w[2] == ".":           # compact form: "subject object ."
        return w[0], w[1]
    return None


def path_category(record: dict, text: str, normalize=lambda s: s) -> str:
    """The paper's categories for the language part of an output (Fig. 5 of Hao et al. 2024)."""
    body = text.split("###")[0]
    steps = [s.strip() for s in body.replace("\n", " ").split(".") if s.strip()]
    sym = record["idx_to_symbol"]
    idx = {s: i for i, s in enumerate(sym)}
    ans = answer_of(text)
    correct = ans == normalize(record["answer"]).strip()
    if not steps:
        return "Correct Label" if correct else "Incorrect Label"
    edges = {(a, b) for a, b in record["edges"]}
    dist, _ = D.bfs(len(sym), record["edges"], record["root"])
    nodes = []
    for s in steps:
        p = _parse_step(s + ".")
        if p is None or p[0] not in idx or p[1] not in idx or (idx[p[0]], idx[p[1]]) not in edges:
            return "Hallucination"
        if nodes and nodes[-1] != idx[p[0]]:
            return "Hallucination"            # disconnected
        if not nodes:
            nodes.append(idx[p[0]])
        nodes.append(idx[p[1]])
    if nodes[0] not in dist:
        return "Hallucination"                # starts somewhere the root cannot reach
    if nodes[-1] != record["target"]:
        return "Wrong Target"
    if dist[nodes[0]] + len(steps) == dist[record["target"]]:
        return "Correct Path"
    return "Longer Path"


# ----------------------------------------------------------------------------------------------
# evaluation


@torch.no_grad()
def evaluate(model, tok: WordTokenizer, records: Sequence[dict], ks: Sequence[int],
             max_new_tokens: int, categories: bool = False, frontier: bool = False,
             keep_predictions: bool = False) -> Dict[str, Any]:
    bot, eot, eos = tok.id(V.BOT), tok.id(V.EOT), tok.id(V.EOS)
    results = []
    front = None
    for k in ks:
        correct = 0
        cats: collections.Counter = collections.Counter()
        preds = []
        fr_rows = []
        for r in records:
            ids = tok.encode(r["question"] + "\n") + [bot]
            run = run_coconut(model, ids, k, eot, eos, max_new_tokens)
            text = tok.decode([t for t in run.answer_ids if t != eos])
            ok = answer_of(text) == tok.normalize(r["answer"]).strip()
            correct += ok
            if categories:
                cats[path_category(r, text, tok.normalize)] += 1
            if keep_predictions:
                preds.append(text)
            if frontier and k == max(ks) and front is None:
                fr_rows += frontier_rows(r, [t.logits for t in run.thoughts], tok, ok)
        res: Dict[str, Any] = {"thoughts": k, "accuracy": correct / max(1, len(records)),
                               "correct": correct, "n": len(records)}
        if categories:
            res["categories"] = dict(sorted(cats.items()))
        if keep_predictions:
            res["predictions"] = preds
        results.append(res)
        if fr_rows:
            front = frontier_summary(fr_rows)
    out: Dict[str, Any] = {"max_new_tokens": max_new_tokens, "results": results}
    if front is not None:
        out["frontier"] = front
    return out


HELD = 0.1   # a frontier node "held" by a thought gets at least this probability


def frontier_rows(r: dict, thought_logits: Sequence[torch.Tensor], tok: WordTokenizer,
                  correct: bool) -> List[dict]:
    """One row per thought t whose BFS frontier (concepts at distance t from the root) is not
    empty: the probability mass the thought's decoded distribution puts on that frontier, and how
    many frontier nodes it holds at once (p >= HELD)."""
    sym = r["idx_to_symbol"]
    rows = []
    for t, (layer, logits) in enumerate(zip(D.frontiers(r), thought_logits), start=1):
        ids = sorted({tok.id(sym[v]) for v in layer})
        if not ids:
            continue
        p = torch.softmax(logits.float(), -1)
        pf = sorted((float(p[i]) for i in ids), reverse=True)
        rows.append({"t": t, "size": len(ids), "mass": sum(pf), "held": sum(x >= HELD for x in pf),
                     "correct": correct})
    return rows


def frontier_summary(rows: List[dict]) -> dict:
    """Per thought t (and over all): mean frontier mass, mean number of frontier nodes held, and
    the share of thoughts that hold two or more frontier nodes at once among those whose frontier
    has two or more nodes; the same on the records answered correctly."""
    def summ(sel: List[dict]) -> dict:
        multi = [x for x in sel if x["size"] >= 2]
        n = len(sel)
        return {"thoughts": n,
                "mean_frontier_mass": round(sum(x["mass"] for x in sel) / n, 4) if n else None,
                "mean_nodes_held": round(sum(x["held"] for x in sel) / n, 3) if n else None,
                "share_holding_two_or_more": (round(sum(x["held"] >= 2 for x in multi) / len(multi), 4)
                                              if multi else None),
                "thoughts_with_two_or_more_frontier_nodes": len(multi)}
    out: Dict[str, Any] = {"held_threshold": HELD, "all": summ(rows),
                           "correct_records": summ([x for x in rows if x["correct"]])}
    out["per_thought"] = {str(t): summ([x for x in rows if x["t"] == t])
                          for t in sorted({x["t"] for x in rows})}
    return out


# ----------------------------------------------------------------------------------------------
# comparing with the TypeScript engine


def _find_number(obj: Any, keys: Sequence[str]) -> Optional[float]:
    if isinstance(obj, dict):
        for k in keys:
            if isinstance(obj.get(k), (int, float)) and not isinstance(obj.get(k), bool):
                return float(obj[k])
        for v in obj.values():
            x = _find_number(v, keys)
            if x is not None:
                return x
    elif isinstance(obj, list):
        for v in obj:
            x = _find_number(v, keys)
            if x is not None:
                return x
    return None


_TEXT_KEYS = ("predicted", "prediction", "output", "text", "generated", "completion")


def _find_predictions(obj: Any) -> Optional[List[str]]:
    """Per-record generated texts: a "predictions" list of strings, or a list of records that
    carry one of _TEXT_KEYS."""
    if isinstance(obj, dict):
        p = obj.get("predictions")
        if isinstance(p, list) and all(isinstance(x, str) for x in p):
            return p
        for key in ("records", "items", "results", "predictions"):
            lst = obj.get(key)
            if isinstance(lst, list) and lst and all(isinstance(x, dict) for x in lst):
                for tk in _TEXT_KEYS:
                    if all(isinstance(x.get(tk), str) for x in lst):
                        return [x[tk] for x in lst]
        for v in obj.values():
            if isinstance(v, (dict, list)):
                x = _find_predictions(v)
                if x is not None:
                    return x
    elif isinstance(obj, list):
        for v in obj:
            x = _find_predictions(v)
            if x is not None:
                return x
    return None


def compare(py: dict, ts: dict, tolerance: float = 0.0) -> List[str]:
    """Problems (empty when the two evaluations agree)."""
    problems = []
    pa = _find_number(py, ("accuracy",))
    ta = _find_number(ts, ("accuracy",))
    if pa is None:
        problems.append("the Python result has no 'accuracy'")
    if ta is None:
        problems.append("the TypeScript result has no 'accuracy' (expected from `coconut-lens eval --json`)")
    if problems:
        return problems
    pn, tn = _find_number(py, ("n",)), _find_number(ts, ("n", "total", "count", "records"))
    if pn is not None and tn is not None and int(pn) != int(tn):
        problems.append(f"record counts differ: Python {int(pn)}, TypeScript {int(tn)}")
    if abs(pa - ta) > tolerance + 1e-9:
        problems.append(f"accuracies differ: Python reference {pa:.4f}, TypeScript engine {ta:.4f} "
                        f"(tolerance {tolerance})")
    pp, tp = _find_predictions(py), _find_predictions(ts)
    if pp is not None and tp is not None:
        if len(pp) != len(tp):
            problems.append(f"{len(pp)} Python predictions but {len(tp)} TypeScript ones")
        else:
            # the other side may report the whole text or only the extracted answer
            diff = [i for i, (a, b) in enumerate(zip(pp, tp))
                    if a.strip() != b.strip() and answer_of(a) != answer_of(b)]
            if diff:
                i = diff[0]
                problems.append(f"{len(diff)} of {len(pp)} generated texts differ; first, record {i}: "
                                f"Python {pp[i]!r}, TypeScript {tp[i]!r}")
    return problems


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "compare":
        ap = argparse.ArgumentParser(description="compare Python and TypeScript evaluations")
        ap.add_argument("compare")
        ap.add_argument("python_json")
        ap.add_argument("ts_json")
        ap.add_argument("--tolerance", type=float, default=0.0)
        a = ap.parse_args(argv)
        py = json.loads(Path(a.python_json).read_text(encoding="utf-8"))
        ts = json.loads(Path(a.ts_json).read_text(encoding="utf-8"))
        problems = compare(py, ts, a.tolerance)
        if problems:
            for p in problems:
                print("MISMATCH: " + p, file=sys.stderr)
            return 1
        both = _find_predictions(py) is not None and _find_predictions(ts) is not None
        print(f"agree: accuracy {_find_number(py, ('accuracy',)):.4f} "
              f"(Python reference) == {_find_number(ts, ('accuracy',)):.4f} (TypeScript engine)"
              + ("; every record's generated answer identical" if both else
                 "; per-record texts not compared (the TypeScript JSON has none)"))
        return 0

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--data", default=str(D.OFFICIAL_VALID))
    ap.add_argument("--k", type=int, default=None, help="thoughts (default 6, or the manifest's)")
    ap.add_argument("--sweep", help="k values, e.g. 0-6 or 0,2,6 (overrides --k)")
    ap.add_argument("--max-new-tokens", type=int, default=None,
                    help="default 64 (enough for a full chain of thought), or the manifest's")
    ap.add_argument("--model-dir", help="take k and max_new_tokens from DIR/coconut.json")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--categories", action="store_true")
    ap.add_argument("--frontier", action="store_true")
    ap.add_argument("--predictions", action="store_true", help="include the generated texts")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the result here (also printed)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    k, m = 6, 64
    if a.model_dir:
        man = json.loads((Path(a.model_dir) / "coconut.json").read_text(encoding="utf-8"))
        k, m = man["thoughts"]["default"], man["generation"]["max_new_tokens"]
    k = a.k if a.k is not None else k
    m = a.max_new_tokens if a.max_new_tokens is not None else m
    ks = parse_ks(a.sweep) if a.sweep else [k]
    model, tok_json, prov = load_checkpoint(a.checkpoint)
    tok = WordTokenizer(tok_json)
    records = D.load_records(a.data)
    if a.limit:
        records = records[: a.limit]
    res = evaluate(model, tok, records, ks, m, a.categories, a.frontier, a.predictions)
    res = {"checkpoint": str(a.checkpoint), "dataset": str(a.data), "n": len(records),
           "accuracy": res["results"][-1]["accuracy"] if len(ks) == 1 else None, **res}
    text = json.dumps(res, indent=2)
    if a.json:
        Path(a.json).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
