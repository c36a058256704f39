"""Compare an exported decoder.onnx with the PyTorch model it came from, using onnxruntime-node.

  python3 training/onnx_check.py --model-dir DIR --checkpoint CKPT [--tolerance 1e-4]
      [--golden DIR/golden.json]

Python onnxruntime is not installed here, and the engine runs onnxruntime-node anyway, so the
ONNX side runs through `node training/tools/ort_run.mjs` (needs the repository's node_modules).
Scenarios: prefill with an empty cache (P=0), a one-position step on that cache, a left-padded
batch of two, and a two-position step on the padded cache. Prints the largest |difference| of
every output and fails if one exceeds the tolerance.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

try:
    from .checkpoint import load_checkpoint
    from .export import io_names
    from .model import GPT
    from .safetensors_io import read_safetensors
except ImportError:  # pragma: no cover - script use
    from checkpoint import load_checkpoint
    from export import io_names
    from model import GPT
    from safetensors_io import read_safetensors

REPO_ROOT = Path(__file__).resolve().parent.parent
ORT_RUN = Path(__file__).resolve().parent / "tools" / "ort_run.mjs"
ORT_COCONUT = Path(__file__).resolve().parent / "tools" / "ort_coconut.mjs"


def node_available() -> Optional[str]:
    """None if node + onnxruntime-node can run here, else the reason why not."""
    if shutil.which("node") is None:
        return "node is not on PATH"
    if not (REPO_ROOT / "node_modules" / "onnxruntime-node").is_dir():
        return f"{REPO_ROOT / 'node_modules' / 'onnxruntime-node'} is missing (run npm ci)"
    return None


def _feed(t: torch.Tensor) -> dict:
    kind = "int64" if t.dtype == torch.int64 else "float32"
    return {"type": kind, "dims": list(t.shape), "data": t.reshape(-1).tolist()}


def run_ort(onnx_path: Path, runs: List[Dict[str, torch.Tensor]]) -> List[Dict[str, np.ndarray]]:
    request = {"runs": [{"feeds": {k: _feed(v) for k, v in r.items()}} for r in runs]}
    proc = subprocess.run(["node", str(ORT_RUN), str(onnx_path)], input=json.dumps(request),
                          capture_output=True, text=True, cwd=str(REPO_ROOT))
    if proc.returncode != 0:
        raise RuntimeError(f"onnxruntime-node failed on {onnx_path}:\n{proc.stderr}")
    out = []
    for r in json.loads(proc.stdout)["runs"]:
        out.append({k: np.asarray(v["data"], dtype=np.float32).reshape(v["dims"]) for k, v in r.items()})
    return out


def _torch_outputs(model: GPT, feeds: Dict[str, torch.Tensor]) -> Dict[str, np.ndarray]:
    """PyTorch on the whole cache (prefix followed by past); present.* without the prefix, as the
    graph returns it."""
    n = model.config.n_layer
    cache = [tuple(torch.cat([feeds[f"prefix_key_values.{i}.{kv}"], feeds[f"past_key_values.{i}.{kv}"]], 2)
                   for kv in ("key", "value")) for i in range(n)]
    prefix = feeds["prefix_key_values.0.key"].shape[2]
    with torch.no_grad():
        o = model(feeds["inputs_embeds"], feeds["position_ids"], feeds["attention_mask"], cache,
                  output_hidden_states=True)
    res = {"logits": o.logits, "last_hidden_state": o.last_hidden_state,
           "hidden_states": torch.stack(o.hidden_states, 0)}
    for i, (k, v) in enumerate(o.presents):
        res[f"present.{i}.key"], res[f"present.{i}.value"] = k[:, :, prefix:], v[:, :, prefix:]
    return {k: v.numpy() for k, v in res.items()}


def _at_last_position(out: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """The decoder returns logits and hidden states of the last position only (all the engine
    reads); the cache outputs keep every position."""
    out = dict(out)
    out["logits"] = out["logits"][:, -1:]
    out["last_hidden_state"] = out["last_hidden_state"][:, -1:]
    out["hidden_states"] = out["hidden_states"][:, :, -1:]
    return out


def _scenarios(model: GPT, seed: int = 1) -> List[Dict[str, torch.Tensor]]:
    cfg = model.config
    gen = torch.Generator().manual_seed(seed)
    dh = cfg.n_embd // cfg.n_head

    def empty_past(b):
        return [torch.zeros(b, cfg.n_head, 0, dh) for _ in range(2 * cfg.n_layer)]

    def feeds(embeds, mask, pos, past, prefix=None):
        prefix = prefix or empty_past(embeds.shape[0])
        d = {"inputs_embeds": embeds, "attention_mask": mask, "position_ids": pos}
        for i in range(cfg.n_layer):
            d[f"past_key_values.{i}.key"], d[f"past_key_values.{i}.value"] = past[2 * i], past[2 * i + 1]
            d[f"prefix_key_values.{i}.key"], d[f"prefix_key_values.{i}.value"] = prefix[2 * i], prefix[2 * i + 1]
        return d

    def split(f, at):
        """The same pass with the first `at` cache positions moved to the prefix tier."""
        past = [f[f"past_key_values.{i}.{kv}"] for i in range(cfg.n_layer) for kv in ("key", "value")]
        return feeds(f["inputs_embeds"], f["attention_mask"], f["position_ids"],
                     [t[:, :, at:] for t in past], [t[:, :, :at] for t in past])

    def presents(f):
        out = _torch_outputs(model, f)
        return [torch.from_numpy(out[f"present.{i}.{kv}"]) for i in range(cfg.n_layer)
                for kv in ("key", "value")]

    ids = torch.randint(0, cfg.vocab_size, (1, 7), generator=gen)
    prefill = feeds(model.embed(ids).detach(), torch.ones(1, 7, dtype=torch.int64),
                    torch.arange(7).unsqueeze(0), empty_past(1))
    # A continuous thought is a vector of much larger norm than an embedding row.
    thought = torch.randn(1, 1, cfg.n_embd, generator=gen) * 5
    step = feeds(thought, torch.ones(1, 8, dtype=torch.int64), torch.tensor([[7]]), presents(prefill))
    ids2 = torch.randint(0, cfg.vocab_size, (2, 6), generator=gen)
    mask2 = torch.tensor([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    pos2 = torch.tensor([[0, 0, 0, 1, 2, 3], [0, 1, 2, 3, 4, 5]])
    padded = feeds(model.embed(ids2).detach(), mask2, pos2, empty_past(2))
    step2 = feeds(torch.randn(2, 2, cfg.n_embd, generator=gen),
                  torch.cat([mask2, torch.ones(2, 2, dtype=torch.int64)], 1),
                  torch.tensor([[4, 5], [6, 7]]), presents(padded))
    # the tier boundary inside the prompt, inside the padding, and with the recent tier empty
    return [prefill, step, padded, step2, split(step, 5), split(step2, 1), split(step2, 3), split(step2, 6)]


THOUGHTS = 3  # thoughts run inside the graph in the fused scenarios


def _torch_thoughts(model: GPT, feeds: Dict[str, torch.Tensor], k: int) -> Dict[str, np.ndarray]:
    """The pass over `feeds`, then k thoughts fed back one position at a time, as the engine's
    step-by-step loop runs them: what the graph's thought_* and present.* outputs must equal."""
    first = _at_last_position(_torch_outputs(model, feeds))
    n = model.config.n_layer
    mask, pos = feeds["attention_mask"], feeds["position_ids"][:, -1:]
    prefix = {k2: v for k2, v in feeds.items() if k2.startswith("prefix_key_values.")}
    cache = {f"past_key_values.{i}.{kv}": torch.from_numpy(first[f"present.{i}.{kv}"])
             for i in range(n) for kv in ("key", "value")}
    thought = torch.from_numpy(first["last_hidden_state"])
    steps: List[Dict[str, np.ndarray]] = []
    for _ in range(k):
        mask = torch.cat([mask, torch.ones(mask.shape[0], 1, dtype=mask.dtype)], 1)
        pos = pos + 1
        o = _at_last_position(_torch_outputs(model, {"inputs_embeds": thought, "attention_mask": mask,
                                                     "position_ids": pos, **prefix, **cache}))
        steps.append(o)
        cache = {f"past_key_values.{i}.{kv}": torch.from_numpy(o[f"present.{i}.{kv}"])
                 for i in range(n) for kv in ("key", "value")}
        thought = torch.from_numpy(o["last_hidden_state"])
    # present.*: the cache after the fed positions; thought_present.*: the positions thoughts added
    out = dict(first)
    fed = first["present.0.key"].shape[2]
    last = steps[-1] if steps else first
    out.update({"thought_" + k2: v[:, :, fed:] for k2, v in last.items() if k2.startswith("present.")})
    for name in ("logits", "last_hidden_state", "hidden_states"):
        shape = first[name].shape
        out["thought_" + name] = np.stack([s[name] for s in steps]) if steps else np.zeros((0, *shape), np.float32)
    return out


def check_decoder(model: GPT, onnx_path: Path) -> Dict[str, float]:
    """Largest |ORT - torch| per output name over all scenarios, over max(1, largest |torch|) of that
    output (also checks names and shapes): each scenario as one pass, and again with THOUGHTS
    thoughts run inside the graph. Scaled because float32 rounds in proportion to the values: a
    residual stream of magnitude 30 after six looped thoughts differs by ~1e-4 between two correct
    summation orders (torch on one thread or two), where values of magnitude ~1 differ by ~1e-5."""
    model = model.eval()
    plain = _scenarios(model)
    steps = lambda k: torch.tensor(k, dtype=torch.int64)  # noqa: E731
    ort_out = run_ort(onnx_path, [{**f, "thought_steps": steps(0)} for f in plain] +
                      [{**f, "thought_steps": steps(THOUGHTS)} for f in plain])
    _, names = io_names(model.config.n_layer)
    diffs: Dict[str, float] = {}
    wants = [_torch_thoughts(model, f, 0) for f in plain] + [_torch_thoughts(model, f, THOUGHTS) for f in plain]
    for want, got in zip(wants, ort_out):
        if set(got) != set(names):
            raise AssertionError(f"ONNX outputs {sorted(got)} differ from the contract {sorted(names)}")
        for name in names:
            if got[name].size == want[name].size == 0:
                continue  # no thoughts run: the empty stacks' other sizes are not defined
            if got[name].shape != want[name].shape:
                raise AssertionError(f"{name}: ONNX shape {got[name].shape} != torch {want[name].shape}")
            d = float(np.max(np.abs(got[name] - want[name])) / max(1.0, np.max(np.abs(want[name])))) if want[name].size else 0.0
            diffs[name] = max(diffs.get(name, 0.0), d)
    return diffs


def _top_ids(values: np.ndarray, k: int) -> List[int]:
    return [int(i) for i in np.lexsort((np.arange(len(values)), -values))[:k]]


def check_golden(model_dir: Path, golden_path: Path) -> Dict[str, Any]:
    """Replay golden.json's cases on decoder.onnx (tools/ort_coconut.mjs) and compare: the largest
    |logit difference| over every thought and answer position, the largest |thought difference|,
    and the list of mismatches in top-k ids (thought logits and logit lens) and answers."""
    golden = json.loads(Path(golden_path).read_text(encoding="utf-8"))
    manifest = json.loads((Path(model_dir) / "coconut.json").read_text(encoding="utf-8"))
    proc = subprocess.run(["node", str(ORT_COCONUT), str(model_dir), str(golden_path)],
                          capture_output=True, text=True, cwd=str(REPO_ROOT))
    if proc.returncode != 0:
        raise RuntimeError(f"ort_coconut.mjs failed:\n{proc.stderr}")
    got = json.loads(proc.stdout)["cases"]
    probe = read_safetensors(Path(model_dir) / "probe.safetensors")
    wte, w, b = (probe[n].astype(np.float64) for n in ("wte", "ln_f.weight", "ln_f.bias"))
    eps = manifest["architecture"]["layer_norm_epsilon"]
    k = golden["top_k"]
    max_logit, max_vec, problems = 0.0, 0.0, []
    for ci, (want, have) in enumerate(zip(golden["cases"], got)):
        tag = f"case {ci} (k={want['k']})"
        if have["answer_ids"] != want["answer_ids"] or have["stopped_by"] != want["stopped_by"]:
            problems.append(f"{tag}: answer {have['answer_ids']} ({have['stopped_by']}) != "
                            f"{want['answer_ids']} ({want['stopped_by']})")
        for t_want, t_have in zip(want["thoughts"], have["thoughts"]):
            lw, lh = np.asarray(t_want["logits"]), np.asarray(t_have["logits"])
            max_logit = max(max_logit, float(np.max(np.abs(lw - lh))))
            max_vec = max(max_vec, float(np.max(np.abs(np.asarray(t_want["vector"]) -
                                                         np.asarray(t_have["vector"])))))
            if _top_ids(lh, k) != [e["id"] for e in t_want["topk"]]:
                problems.append(f"{tag} thought {t_want['index']}: top-k ids differ")
            for cell in t_want["lens"]:
                h = np.asarray(t_have["hidden"][cell["layer"]], dtype=np.float64)
                x = (h - h.mean()) / np.sqrt(h.var() + eps) * w + b
                if _top_ids(wte @ x, k) != [e["id"] for e in cell["top"]]:
                    problems.append(f"{tag} thought {t_want['index']} lens layer {cell['layer']}: "
                                    "top-k ids differ")
        for lw, lh in zip(want["answer_logits"], have["answer_logits"]):
            max_logit = max(max_logit, float(np.max(np.abs(np.asarray(lw) - np.asarray(lh)))))
    return {"max_logit_diff": max_logit, "max_thought_diff": max_vec, "problems": problems}


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-4)
    ap.add_argument("--golden", default=None, help="also replay this golden.json on the ONNX model")
    args = ap.parse_args(argv)
    why = node_available()
    if why:
        print(f"cannot check: {why}", file=sys.stderr)
        return 2
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model, _, _ = load_checkpoint(args.checkpoint)
    diffs = check_decoder(model, Path(args.model_dir) / "decoder.onnx")
    worst = max(diffs.values())
    for name, d in diffs.items():
        print(f"{name:24s} max |ORT - torch| / max(1, |torch|) = {d:.3e}")
    print(f"worst {worst:.3e} (tolerance {args.tolerance:g})")
    ok = worst <= args.tolerance
    if args.golden:
        g = check_golden(Path(args.model_dir), Path(args.golden))
        print(f"golden replay on ONNX: max |logit diff| {g['max_logit_diff']:.3e}, "
              f"max |thought diff| {g['max_thought_diff']:.3e}, mismatches: {g['problems'] or 'none'}")
        ok = ok and not g["problems"] and g["max_logit_diff"] <= args.tolerance
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
