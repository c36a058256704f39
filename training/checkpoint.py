"""The training checkpoint format that export.py and reference.py read.

A checkpoint is a `torch.save`d dict:
  {"config": GPTConfig as a dict, "model": state_dict,
   "tokenizer": path to a tokenizer.json, or the tokenizer.json content inline (dict or str),
                or absent for the default ProsQA tokenizer,
   "provenance": {"training_data": str, "config": {...}, "accuracy": [...], "created": iso str}}
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

import torch

try:
    from .model import GPT, GPTConfig
    from .tokenizer import build_tokenizer_json
except ImportError:  # pragma: no cover - script use
    from model import GPT, GPTConfig
    from tokenizer import build_tokenizer_json


def save_checkpoint(path: Union[str, Path], model: GPT, tokenizer: Union[None, str, dict] = None,
                    provenance: Optional[Dict[str, Any]] = None) -> None:
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save({"config": model.config.to_dict(), "model": state,
                "tokenizer": tokenizer, "provenance": dict(provenance or {})}, str(path))


def _torch_load(path: Union[str, Path]) -> dict:
    # torch 1.13's weights_only unpickler cannot even read plain floats (the config's epsilon), so
    # the safe loader is used from torch 2 on; a checkpoint whose provenance holds other Python
    # objects (numpy scalars, ...) falls back to a full unpickle: these are the project's own files.
    if int(torch.__version__.split(".")[0]) >= 2:
        try:
            return torch.load(str(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            print(f"note: {path} needs a full unpickle ({str(e).splitlines()[0][:120]}); "
                  "keep provenance to plain JSON types", file=sys.stderr)
    return torch.load(str(path), map_location="cpu")


def resolve_tokenizer(spec: Union[None, str, dict], base_dir: Optional[Path] = None) -> dict:
    """The tokenizer.json content named by a checkpoint's "tokenizer" entry."""
    if spec is None:
        return build_tokenizer_json()
    if isinstance(spec, dict):
        return spec
    if isinstance(spec, str):
        if spec.lstrip().startswith("{"):
            return json.loads(spec)
        candidates = [Path(spec)] + ([base_dir / spec] if base_dir is not None else [])
        for c in candidates:
            if c.is_file():
                return json.loads(c.read_text(encoding="utf-8"))
        raise FileNotFoundError(f"checkpoint names tokenizer {spec!r}, which is neither a file "
                                f"(looked at {[str(c) for c in candidates]}) nor inline JSON; "
                                "store the tokenizer.json content inline in the checkpoint")
    raise TypeError(f"checkpoint 'tokenizer' must be a path, a dict or a JSON string, got {type(spec)}")


def load_checkpoint(path: Union[str, Path]) -> Tuple[GPT, dict, Dict[str, Any]]:
    """(model in eval mode on CPU, tokenizer.json content, provenance) of a checkpoint file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    ckpt = _torch_load(path)
    for key in ("config", "model"):
        if key not in ckpt:
            raise ValueError(f"checkpoint {path} has no {key!r} entry; expected keys "
                             "config, model, tokenizer, provenance (see training/checkpoint.py)")
    cfg = GPTConfig.from_dict(ckpt["config"])
    model = GPT(cfg)
    state = dict(ckpt["model"])
    # Checkpoints saved from torch.compile'd or DDP-wrapped models carry a prefix.
    for prefix in ("_orig_mod.", "module."):
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"checkpoint {path} does not fit GPTConfig {cfg}: missing {missing}, "
                         f"unexpected {unexpected}")
    model.eval()
    tok = resolve_tokenizer(ckpt.get("tokenizer"), path.parent)
    return model, tok, dict(ckpt.get("provenance") or {})
