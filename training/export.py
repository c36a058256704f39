"""Export a trained GPT to the Coconut Lens model directory (models/README.md, format version 1).

  python3 training/export.py --checkpoint CKPT --out DIR [--name NAME]
      [--thoughts-default 6] [--thoughts-max 16] [--per-step 1] [--max-new-tokens 32]

Writes DIR/decoder.onnx, DIR/probe.safetensors, DIR/tokenizer.json and DIR/coconut.json (with the
sha256 and size of each file). The same checkpoint exported twice gives byte-identical files: the
graph is written from the weights (training/onnx_graph.py), and `provenance.created` comes from
the checkpoint's provenance, else SOURCE_DATE_EPOCH, else the current time.
"""

from __future__ import annotations

import argparse
import copy
import datetime as _dt
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

try:
    from .checkpoint import load_checkpoint
    from .model import GPT
    from .onnx_graph import OPSET, build_decoder
    from .safetensors_io import write_safetensors
    from .tokenizer import WordTokenizer, tokenizer_json_bytes
    from .bpe_tokenizer import tokenizer_for
    from . import vocab as _vocab
except ImportError:  # pragma: no cover - script use
    from checkpoint import load_checkpoint
    from model import GPT
    from onnx_graph import OPSET, build_decoder
    from safetensors_io import write_safetensors
    from tokenizer import WordTokenizer, tokenizer_json_bytes
    from bpe_tokenizer import tokenizer_for
    import vocab as _vocab

FORMAT = "coconut-lens-model"
FORMAT_VERSION = 3  # 2: outputs at the last position, the thought loop; 3: the prefix cache (models/README.md)


def io_names(n_layer: int):
    inputs = ["inputs_embeds", "attention_mask", "position_ids"]
    outputs = ["logits", "last_hidden_state", "hidden_states"]
    for i in range(n_layer):
        inputs += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outputs += [f"present.{i}.key", f"present.{i}.value"]
    # thoughts run inside the graph after the pass (models/README.md, "Thoughts in one call")
    inputs.append("thought_steps")
    # the cache's second tier, read and never copied (models/README.md, "The prefix cache")
    for i in range(n_layer):
        inputs += [f"prefix_key_values.{i}.key", f"prefix_key_values.{i}.value"]
    outputs += ["thought_logits", "thought_last_hidden_state", "thought_hidden_states"]
    for i in range(n_layer):
        outputs += [f"thought_present.{i}.key", f"thought_present.{i}.value"]
    return inputs, outputs


def export_onnx(model: GPT, path: Path) -> None:
    """decoder.onnx, written node by node from the weights (training/onnx_graph.py): the same
    function as the PyTorch forward, in fewer kernels than a trace gives."""
    import onnx

    sd = {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
    graph = build_decoder(sd, model.config)
    onnx.save(graph, str(path))
    # checked after writing so a broken graph is caught here, not in the engine
    onnx.checker.check_model(str(path))


def probe_tensors(model: GPT) -> Dict[str, np.ndarray]:
    return {
        "wte": model.wte.weight.detach().cpu().float().numpy(),
        "ln_f.weight": model.ln_f.weight.detach().cpu().float().numpy(),
        "ln_f.bias": model.ln_f.bias.detach().cpu().float().numpy(),
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _created(provenance: Dict[str, Any]) -> str:
    if provenance.get("created"):
        return str(provenance["created"])
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = (_dt.datetime.fromtimestamp(int(epoch), _dt.timezone.utc) if epoch
         else _dt.datetime.now(_dt.timezone.utc))
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def node_values_for(provenance: Dict[str, Any]) -> Dict[str, str]:
    """Where the inspector reads latent-search node values. A model trained with the frontier loss
    writes no language steps after eot, and its thought t is trained toward the concepts at
    distance t: read them off the thought itself. Otherwise the paper's cue ("Every")."""
    cfg = provenance.get("config") or {}
    if float((cfg.get("bfs_loss") or {}).get("weight", 0) or 0) > 0:
        return {"source": "thought"}
    return {"source": "cue", "cue": "Every"}


def build_manifest(model: GPT, tok: WordTokenizer, name: str, out: Path, provenance: Dict[str, Any],
                   thoughts_default: int, thoughts_max: int, per_step: int,
                   max_new_tokens: int) -> Dict[str, Any]:
    cfg = model.config
    specials = {}
    for role, text in (("bot", _vocab.BOT), ("eot", _vocab.EOT), ("latent", _vocab.LATENT),
                       ("eos", _vocab.EOS)):
        specials[role] = {"id": tok.id(text), "text": text}
    files = []
    for role, fname in (("decoder", "decoder.onnx"), ("probe", "probe.safetensors"),
                        ("tokenizer", "tokenizer.json")):
        f = out / fname
        files.append({"role": role, "path": fname, "sha256": _sha256(f), "bytes": f.stat().st_size})
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "architecture": {
            "family": "gpt2", "n_layer": cfg.n_layer, "n_head": cfg.n_head, "n_embd": cfg.n_embd,
            "vocab_size": cfg.vocab_size, "n_positions": cfg.n_positions,
            "layer_norm_epsilon": cfg.layer_norm_epsilon, "tie_word_embeddings": True,
            "positions": cfg.positions, "smear_keys": cfg.smear_keys,
        },
        "special_tokens": specials,
        "thoughts": {"default": thoughts_default, "max": thoughts_max, "per_step": per_step},
        "prompt": {"question_suffix": "\n", "answer_marker": "#"},
        "generation": {"max_new_tokens": max_new_tokens},
        "node_values": node_values_for(provenance),
        "files": files,
        "onnx": {"opset": OPSET},
        "provenance": {
            "created": _created(provenance),
            "tool": "training/export.py",
            "training_data": str(provenance.get("training_data", "")),
            "config": provenance.get("config", {}),
            "accuracy": list(provenance.get("accuracy", [])),
            **{k: v for k, v in provenance.items()
               if k not in ("created", "tool", "training_data", "config", "accuracy")},
        },
    }


def export_model(model: GPT, tokenizer_json: dict, out: Path, name: str,
                 provenance: Optional[Dict[str, Any]] = None, thoughts_default: int = 6,
                 thoughts_max: int = 16, per_step: int = 1, max_new_tokens: int = 32) -> Dict[str, Any]:
    """Write the model directory `out`; returns the manifest."""
    provenance = dict(provenance or {})
    if not 0 <= thoughts_default <= thoughts_max:
        raise ValueError(f"thoughts default {thoughts_default} must be between 0 and max {thoughts_max}")
    tok = tokenizer_for(tokenizer_json)  # WordPiece (ProsQA) or byte-level BPE (imported GPT-2)
    if tok.vocab_size > model.config.vocab_size:
        raise ValueError(f"the tokenizer has {tok.vocab_size} tokens but the model only "
                         f"{model.config.vocab_size} embedding rows; they must come from the same run")
    out.mkdir(parents=True, exist_ok=True)
    # A CPU float32 copy: the caller's model (maybe on a GPU, in training mode) is left as it is.
    model = copy.deepcopy(model).cpu().float().eval()
    export_onnx(model, out / "decoder.onnx")
    write_safetensors(out / "probe.safetensors", probe_tensors(model))
    (out / "tokenizer.json").write_bytes(tokenizer_json_bytes(tokenizer_json))
    manifest = build_manifest(model, tok, name, out, provenance, thoughts_default, thoughts_max,
                              per_step, max_new_tokens)
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (out / "coconut.json").write_text(text, encoding="utf-8")
    return manifest


def main(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True, help="torch.save'd checkpoint (training/checkpoint.py)")
    ap.add_argument("--out", required=True, help="model directory to write")
    ap.add_argument("--name", default=None, help="manifest name (default: the directory name)")
    ap.add_argument("--thoughts-default", type=int, default=6)
    ap.add_argument("--thoughts-max", type=int, default=16)
    ap.add_argument("--per-step", type=int, default=1, help="c of the paper (thoughts per step)")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    args = ap.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    model, tok_json, provenance = load_checkpoint(args.checkpoint)
    out = Path(args.out)
    manifest = export_model(model, tok_json, out, args.name or out.resolve().name, provenance,
                            args.thoughts_default, args.thoughts_max, args.per_step,
                            args.max_new_tokens)
    for f in manifest["files"]:
        print(f"{out / f['path']}  {f['bytes']} bytes  sha256 {f['sha256']}")
    print(f"{out / 'coconut.json'}")


if __name__ == "__main__":
    sys.exit(main())
