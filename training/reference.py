"""Golden outputs of the PyTorch Coconut loop, for the engine's parity tests.

  python3 training/reference.py --model-dir DIR --checkpoint CKPT --out golden.json \\
      --cases 0:0,3,6 1:0,3,6 [--dataset data/prosqa/prosqa_valid.json] [--cases-file F.json]

A case spec `R:K1,K2` runs record R of the dataset with each k; `--cases-file` takes a JSON list of
{"question": str, "k": int}. The tokenizer, special ids and max_new_tokens come from DIR (the
exported model), the weights from CKPT, which must be the checkpoint DIR was exported from.

golden.json (numbers rounded to 9 significant digits, enough to restore every float32):
  {"top_k": 5, "max_new_tokens": N, "model": name, "vocab_size": V, "cases": [{
     "question", "k", "input_ids" (prompt incl. bot),
     "thoughts": [{"index" (1-based), "logits" [V] (of the position that produced the thought),
                   "topk" [{"id","p"}] (softmax of logits, p descending, ties by id),
                   "norm" (L2 of the thought), "entropy" (nats, full softmax),
                   "nearest" [{"id","cosine"}] (cosine of the thought with each wte row, top_k),
                   "lens" [{"layer" 1..L, "top" [{"id","p"}]}] (softmax(wte · ln_f(hidden_states[l]))),
                   "vector" [D] (the thought)}],
     "answer_ids" (greedy, including eos when generated), "answer_logits" [[V] per answer id],
     "answer_text" (decode of answer_ids without a final eos),
     "answer_extracted" (text after the last answer marker, stripped),
     "stopped_by": "eos" | "max_new_tokens"}]}
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

try:
    from .checkpoint import load_checkpoint
    from .coconut import CoconutRun, run_coconut
    from .model import GPT
    from .safetensors_io import read_safetensors
    from .tokenizer import WordTokenizer
    from .bpe_tokenizer import tokenizer_from_file
    from .import_coconut import is_reference_state, model_from_state, read_state
    from .prosqa_data import OFFICIAL_VALID
except ImportError:  # pragma: no cover - script use
    from checkpoint import load_checkpoint
    from coconut import CoconutRun, run_coconut
    from model import GPT
    from safetensors_io import read_safetensors
    from tokenizer import WordTokenizer
    from bpe_tokenizer import tokenizer_from_file
    from import_coconut import is_reference_state, model_from_state, read_state
    from prosqa_data import OFFICIAL_VALID

TOP_K = 5
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = OFFICIAL_VALID


def r9(x: float) -> float:
    return float(f"{float(x):.9g}")


def floats(t: torch.Tensor) -> List[float]:
    return [r9(v) for v in t.detach().cpu().double().reshape(-1).tolist()]


def top_entries(values: np.ndarray, k: int, key: str) -> List[Dict[str, Any]]:
    """The k largest values, descending; equal values ordered by id (a deterministic rule)."""
    order = np.lexsort((np.arange(len(values)), -values))[:k]
    return [{"id": int(i), key: r9(values[i])} for i in order]


def thought_record(model: GPT, t, top_k: int) -> Dict[str, Any]:
    logits = t.logits.double()
    probs = torch.softmax(logits, -1)
    logp = torch.log_softmax(logits, -1)
    entropy = float(-(probs * logp).sum())
    wte = model.wte.weight.detach().double()
    v = t.vector.double()
    cos = (wte @ v) / (wte.norm(dim=1).clamp_min(1e-12) * v.norm().clamp_min(1e-12))
    return {
        "index": t.index,
        "logits": floats(t.logits),
        "topk": top_entries(probs.numpy(), top_k, "p"),
        "norm": r9(float(v.norm())),
        "entropy": r9(entropy),
        "nearest": top_entries(cos.numpy(), top_k, "cosine"),
        "lens": [{"layer": l + 1, "top": top_entries(t.lens[l].double().numpy(), top_k, "p")}
                 for l in range(t.lens.shape[0])],
        "vector": floats(t.vector),
    }


def extract_answer(text: str, marker: str) -> str:
    return text.split(marker)[-1].strip() if marker else text.strip()


def case_record(model: GPT, tok: WordTokenizer, manifest: dict, question: str, k: int,
                max_new_tokens: int, top_k: int) -> Dict[str, Any]:
    sp = manifest["special_tokens"]
    suffix = manifest["prompt"]["question_suffix"]
    unknown = tok.unknown_words(question + suffix)
    if unknown:
        raise ValueError(f"question has words outside the vocabulary: {unknown}")
    ids = tok.encode(question + suffix) + [sp["bot"]["id"]]
    run: CoconutRun = run_coconut(model, ids, k, sp["eot"]["id"], sp["eos"]["id"], max_new_tokens)
    text_ids = run.answer_ids[:-1] if run.stopped_by == "eos" else run.answer_ids
    text = tok.decode(text_ids) if text_ids else ""
    return {
        "question": question,
        "k": k,
        "input_ids": run.input_ids,
        "thoughts": [thought_record(model, t, top_k) for t in run.thoughts],
        "answer_ids": run.answer_ids,
        "answer_logits": [floats(l) for l in run.answer_logits],
        "answer_text": text,
        "answer_extracted": extract_answer(text, manifest["prompt"]["answer_marker"]),
        "stopped_by": run.stopped_by,
    }


def check_same_weights(model: GPT, model_dir: Path) -> None:
    probe = read_safetensors(model_dir / "probe.safetensors")
    if probe["wte"].shape != tuple(model.wte.weight.shape) or \
            not np.array_equal(probe["wte"], model.wte.weight.detach().numpy()):
        raise ValueError(f"{model_dir}/probe.safetensors does not hold this checkpoint's wte: "
                         "export the checkpoint to the model directory first")


def golden(model: GPT, model_dir: Path, cases: Sequence[Tuple[str, int]],
           max_new_tokens: Optional[int] = None, top_k: int = TOP_K) -> Dict[str, Any]:
    manifest = json.loads((model_dir / "coconut.json").read_text(encoding="utf-8"))
    tok = tokenizer_from_file(model_dir / "tokenizer.json")
    check_same_weights(model, model_dir)
    n_new = manifest["generation"]["max_new_tokens"] if max_new_tokens is None else max_new_tokens
    return {
        "top_k": top_k,
        "max_new_tokens": n_new,
        "model": manifest["name"],
        "vocab_size": model.config.vocab_size,
        "cases": [case_record(model, tok, manifest, q, k, n_new, top_k) for q, k in cases],
    }


def load_model(checkpoint: Path, model_dir: Path) -> GPT:
    """A training checkpoint (training/checkpoint.py), or a facebookresearch/coconut state dict as
    training/import_coconut.py reads it (n_head from the model folder's manifest)."""
    try:
        state = read_state(checkpoint)
    except ValueError:
        state = None  # not a plain state dict: our own checkpoint format
    if state is not None and is_reference_state(state):
        manifest = json.loads((model_dir / "coconut.json").read_text(encoding="utf-8"))
        return model_from_state(state, manifest["architecture"]["n_head"], checkpoint.name)
    return load_checkpoint(checkpoint)[0]


def parse_cases(specs: Sequence[str], dataset: Path, cases_file: Optional[Path]) -> List[Tuple[str, int]]:
    cases: List[Tuple[str, int]] = []
    records = None
    for spec in specs:
        try:
            rec, ks = spec.split(":")
            rec_i, k_list = int(rec), [int(k) for k in ks.split(",")]
        except ValueError:
            raise SystemExit(f"bad case spec {spec!r}: write RECORD:K1,K2 (e.g. 0:0,3,6)")
        if records is None:
            records = json.loads(Path(dataset).read_text(encoding="utf-8"))
        if not 0 <= rec_i < len(records):
            raise SystemExit(f"record {rec_i} is out of range: {dataset} has {len(records)} records")
        cases += [(records[rec_i]["question"], k) for k in k_list]
    if cases_file is not None:
        for c in json.loads(Path(cases_file).read_text(encoding="utf-8")):
            cases.append((c["question"], int(c["k"])))
    if not cases:
        raise SystemExit("no cases: give --cases RECORD:K1,K2 ... and/or --cases-file FILE")
    return cases


def write_golden(data: Dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", nargs="*", default=[], help="RECORD:K1,K2 specs")
    ap.add_argument("--cases-file", default=None, help='JSON list of {"question", "k"}')
    ap.add_argument("--dataset", default=str(DEFAULT_DATASET))
    ap.add_argument("--max-new-tokens", type=int, default=None,
                    help="default: the manifest's generation.max_new_tokens")
    args = ap.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    cases = parse_cases(args.cases, Path(args.dataset), Path(args.cases_file) if args.cases_file else None)
    model = load_model(Path(args.checkpoint), Path(args.model_dir))
    data = golden(model, Path(args.model_dir), cases, args.max_new_tokens)
    write_golden(data, Path(args.out))
    for c in data["cases"]:
        print(f"k={c['k']}: {len(c['input_ids'])} prompt ids, answer {c['answer_text']!r} "
              f"({c['stopped_by']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
