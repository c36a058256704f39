"""The PyTorch side of `coconut-lens bench --vs-pytorch`, and random models for benchmarking.

  python3 training/bench_reference.py serve --model DIR --threads N [--device cpu|cuda]
      Rebuilds the PyTorch GPT (training/model.py) of a Coconut Lens model folder from the
      initializers of its decoder.onnx (+ probe.safetensors for wte), so no checkpoint is needed,
      then answers one JSON request per stdin line with one JSON line on stdout:
        {"cmd": "check", "prompt": [ids], "thoughts": k}
            -> {"logits": [[V floats] per pass: prefill, then each thought step]}
        {"cmd": "block", "prompt": [ids], "thoughts": k, "answer": t, "runs": r, "warmup": w}
            -> {"prefill_ms": [...], "thought_ms": [...], "token_ms": [...]}
        {"cmd": "quit"}
      The loop is the reference loop's (training/coconut.py): forward with a KV cache and
      output_hidden_states=True, the last position's last_hidden_state fed back as the next input.
      The bench interleaves these blocks with its own so both see the same machine load.

  python3 training/bench_reference.py make-random --out DIR [--n-layer 5 --n-head 8 --n-embd 256
      --n-positions 512] [--seed 0]
      Exports a GPT-2-like model with random weights (GPT-2's init) and the ProsQA vocabulary
      through training/export.py: the shape of a model matters for speed, its weights do not.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

try:
    from .model import GPT, GPTConfig
    from .safetensors_io import read_safetensors
except ImportError:  # pragma: no cover - script use
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from model import GPT, GPTConfig
    from safetensors_io import read_safetensors


def _initializers(onnx_path: Path) -> Dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(onnx_path))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    if any(k.endswith(".weight.T") for k in inits):
        # training/onnx_graph.py: PyTorch names, linear weights stored transposed
        named = {k[: -len(".T")] if k.endswith(".T") else k: (v.T if k.endswith(".T") else v)
                 for k, v in inits.items() if k.startswith("gpt.")}
        named["lm_head.weight"] = named.pop("gpt.wte.weight")
        return named
    # Older, traced exports: the exporter folds nn.Linear weights into anonymous MatMul constants ([in, out], i.e. the
    # transpose). Name each after the bias its MatMul output is added to: gpt.h.0.attn.c_attn.bias
    # -> gpt.h.0.attn.c_attn.weight. A MatMul without a bias is the tied LM head (wte^T).
    consumers: Dict[str, List] = {}
    for node in m.graph.node:
        for x in node.input:
            consumers.setdefault(x, []).append(node)
    named: Dict[str, np.ndarray] = {}
    for node in m.graph.node:
        if node.op_type != "MatMul" or node.input[1] not in inits or node.input[1].startswith("gpt."):
            continue
        w = inits[node.input[1]]
        bias = None
        for c in consumers.get(node.output[0], []):
            if c.op_type == "Add":
                bias = next((x for x in c.input if x.startswith("gpt.") and x.endswith(".bias")), None)
                if bias:
                    break
        if bias is None:
            named["lm_head.weight"] = w.T
        else:
            named[bias[: -len("bias")] + "weight"] = w.T
    for k, v in inits.items():
        if k.startswith("gpt."):
            named[k] = v
    return named


def load_from_model_dir(model_dir: Path) -> GPT:
    """The PyTorch GPT with exactly the weights of DIR/decoder.onnx (and wte from the probe)."""
    manifest = json.loads((model_dir / "coconut.json").read_text(encoding="utf-8"))
    a = manifest["architecture"]
    if a.get("family") != "gpt2":
        raise SystemExit(f"error: {model_dir}: only gpt2 models can be rebuilt in PyTorch, got {a.get('family')!r}")
    cfg = GPTConfig(vocab_size=a["vocab_size"], n_positions=a["n_positions"], n_layer=a["n_layer"],
                    n_head=a["n_head"], n_embd=a["n_embd"], layer_norm_epsilon=a["layer_norm_epsilon"],
                    positions=a.get("positions", "learned"), smear_keys=bool(a.get("smear_keys", False)))
    files = {f["role"]: f["path"] for f in manifest["files"]}
    named = _initializers(model_dir / files["decoder"])
    probe = read_safetensors(model_dir / files["probe"])
    model = GPT(cfg)
    state = {}
    for name in model.state_dict():
        if name == "wte.weight":
            state[name] = torch.from_numpy(np.array(probe["wte"], dtype=np.float32, copy=True))
            continue
        key = "gpt." + name
        if key not in named:
            raise SystemExit(f"error: {model_dir / files['decoder']} has no weight for {name}; "
                             "it was not exported by training/export.py")
        state[name] = torch.from_numpy(np.array(named[key], dtype=np.float32, copy=True))
    if "lm_head.weight" in named and not np.allclose(named["lm_head.weight"], probe["wte"], atol=0):
        raise SystemExit("error: the decoder's LM head differs from probe.safetensors' wte (not tied)")
    model.load_state_dict(state)
    return model.eval()


class Loop:
    """The reference loop's passes, timed one by one."""

    def __init__(self, model: GPT, device: str):
        self.model = model.to(device)
        self.device = device
        self.cuda = device.startswith("cuda")

    def _sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    @torch.no_grad()
    def _step(self, embeds, past, pos):
        s = embeds.shape[1]
        position_ids = torch.arange(pos, pos + s, device=self.device).unsqueeze(0)
        mask = torch.ones(1, pos + s, dtype=torch.long, device=self.device)
        return self.model(embeds, position_ids, mask, past, output_hidden_states=True)

    @torch.no_grad()
    def check(self, prompt: Sequence[int], k: int) -> List[List[float]]:
        ids = torch.tensor([list(prompt)], device=self.device)
        out = self._step(self.model.embed(ids), None, 0)
        pos = ids.shape[1]
        logits = [out.logits[0, -1].float().cpu().tolist()]
        for _ in range(k):
            out = self._step(out.last_hidden_state[:, -1:], out.presents, pos)
            pos += 1
            logits.append(out.logits[0, -1].float().cpu().tolist())
        return logits

    @torch.no_grad()
    def answer(self, prompt: Sequence[int], k: int, eot: int, eos: int, max_new: int) -> List[int]:
        """The reference Coconut loop for one prompt (ids ending in bot): k thoughts, eot, greedy
        answer ids until eos (excluded) or max_new tokens."""
        ids = torch.tensor([list(prompt)], device=self.device)
        out = self._step(self.model.embed(ids), None, 0)
        pos = ids.shape[1]
        for _ in range(k):
            out = self._step(out.last_hidden_state[:, -1:], out.presents, pos)
            pos += 1
        out = self._step(self.model.embed(torch.tensor([[eot]], device=self.device)), out.presents, pos)
        pos += 1
        ans: List[int] = []
        for n in range(max_new):
            tok = int(torch.argmax(out.logits[0, -1]))
            if tok == eos:
                break
            ans.append(tok)
            if n == max_new - 1:
                break
            out = self._step(self.model.embed(torch.tensor([[tok]], device=self.device)), out.presents, pos)
            pos += 1
        self._sync()
        return ans

    @torch.no_grad()
    def block(self, prompt: Sequence[int], k: int, answer: int, runs: int, warmup: int) -> Dict[str, List[float]]:
        res = {"prefill_ms": [], "thought_ms": [], "token_ms": []}
        ids = torch.tensor([list(prompt)], device=self.device)
        eot = torch.tensor([[0]], device=self.device)
        now = time.perf_counter
        for r in range(warmup + runs):
            keep = r >= warmup
            self._sync()
            t0 = now()
            out = self._step(self.model.embed(ids), None, 0)
            self._sync()
            if keep:
                res["prefill_ms"].append((now() - t0) * 1e3)
            pos = ids.shape[1]
            for _ in range(k):
                t0 = now()
                out = self._step(out.last_hidden_state[:, -1:], out.presents, pos)
                self._sync()
                if keep:
                    res["thought_ms"].append((now() - t0) * 1e3)
                pos += 1
            tok = eot
            for _ in range(answer):
                t0 = now()
                out = self._step(self.model.embed(tok), out.presents, pos)
                # Greedy decoding reads the argmax on the host, as the reference loop does.
                tok = torch.tensor([[int(torch.argmax(out.logits[0, -1]))]], device=self.device)
                if keep:
                    res["token_ms"].append((now() - t0) * 1e3)
                pos += 1
        return res


def serve(args) -> int:
    torch.set_num_threads(args.threads)
    # The engine's sessions flush denormals to zero; the reference gets the same arithmetic.
    torch.set_flush_denormal(True)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "CUDA was asked for but torch.cuda.is_available() is False"}), flush=True)
        return 2
    loop = Loop(load_from_model_dir(Path(args.model)), device)
    hello = {"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(), "device": device,
             "sdpa": bool(getattr(loop.model, "use_sdpa", False))}
    if loop.cuda:
        hello["gpu"] = torch.cuda.get_device_name(0)
    print(json.dumps(hello), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        cmd = req.get("cmd")
        if cmd == "quit":
            break
        if cmd == "check":
            print(json.dumps({"logits": loop.check(req["prompt"], int(req["thoughts"]))}), flush=True)
        elif cmd == "answers":
            ms, answers = [], []
            for prompt in req["prompts"]:
                t0 = time.perf_counter()
                answers.append(loop.answer(prompt, int(req["thoughts"]), int(req["eot"]), int(req["eos"]),
                                           int(req["max_new_tokens"])))
                ms.append((time.perf_counter() - t0) * 1e3)
            print(json.dumps({"ms": ms, "answers": answers}), flush=True)
        elif cmd == "block":
            r = loop.block(req["prompt"], int(req["thoughts"]), int(req.get("answer", 0)), int(req["runs"]),
                           int(req.get("warmup", 0)))
            print(json.dumps(r), flush=True)
        else:
            print(json.dumps({"error": f"unknown cmd {cmd!r}"}), flush=True)
    return 0


def make_random(args) -> int:
    try:
        from .export import export_model
        from .tokenizer import build_tokenizer_json
        from . import vocab as _vocab
    except ImportError:  # pragma: no cover - script use
        from export import export_model
        from tokenizer import build_tokenizer_json
        import vocab as _vocab
    torch.set_num_threads(min(2, torch.get_num_threads()))
    torch.manual_seed(args.seed)
    cfg = GPTConfig(vocab_size=len(_vocab.TOKENS), n_positions=args.n_positions, n_layer=args.n_layer,
                    n_head=args.n_head, n_embd=args.n_embd)
    model = GPT(cfg)  # GPT-2's initialisation (GPT.init_weights), seeded
    # ... but no two parameters equal: GPT-2 init has zero biases and unit norms, which the ONNX
    # exporter's constant folding would merge into shared initializers (a trained model has none).
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name or name.startswith("ln_f"):
                p.add_(torch.randn_like(p) * 0.02)
    name = args.name or f"random-{args.n_layer}x{args.n_embd}-p{args.n_positions}"
    provenance = {
        "created": "2026-11-25T00:00:00Z",
        "training_data": f"none: random weights (torch.manual_seed({args.seed})), for benchmarks only",
        "config": {"seed": args.seed, **cfg.to_dict()},
        "accuracy": [],
    }
    export_model(model, build_tokenizer_json(), Path(args.out), name, provenance,
                 thoughts_default=6, thoughts_max=16, per_step=1, max_new_tokens=32)
    n = sum(p.numel() for p in model.parameters())
    print(json.dumps({"out": str(args.out), "name": name, "parameters": n}), flush=True)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="answer check/block requests on stdin (JSON lines)")
    s.add_argument("--model", required=True)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--device", default="cpu")
    r = sub.add_parser("make-random", help="export a random GPT-2-like model of a given shape")
    r.add_argument("--out", required=True)
    r.add_argument("--n-layer", type=int, default=5)
    r.add_argument("--n-head", type=int, default=8)
    r.add_argument("--n-embd", type=int, default=256)
    r.add_argument("--n-positions", type=int, default=512)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--name", default=None)
    args = ap.parse_args(argv)
    return serve(args) if args.command == "serve" else make_random(args)


if __name__ == "__main__":
    sys.exit(main())
