"""Import a checkpoint of the Coconut reference code (facebookresearch/coconut) as a model folder.

  python3 training/import_coconut.py --checkpoint CKPT --tokenizer tokenizer.json --out DIR
      [--name NAME] [--n-head H] [--thoughts-default 6] [--thoughts-max 16]
      [--per-step 1] [--max-new-tokens 64]

CKPT is what the reference `run.py` saves (`checkpoint_N`): the state dict of its `Coconut` module
around a Hugging Face GPT2LMHeadModel. Keys are `base_causallm.transformer.…` (GPT-2's Conv1D
weights stored [in, out]), `base_causallm.lm_head.weight` (tied to wte) and `embedding.weight`
(the same wte again); older transformers versions also store the `attn.bias`/`attn.masked_bias`
mask buffers. A DDP/FSDP `module.` prefix, a plain GPT2LMHeadModel state dict (no
`base_causallm.`) and bf16/fp16 weights are accepted too.

The vocabulary is GPT-2's 50257 tokens plus the three Coconut tokens the reference code adds, in
this order: `<|start-latent|>`, `<|end-latent|>`, `<|latent|>` (ids 50257, 50258, 50259). The
reference code never saves its tokenizer, so the user's tokenizer.json is usually GPT-2's own;
when it lacks the latent tokens they are appended as added tokens at the last three embedding
rows, and the importer says so.

n_head cannot be read from the weights' shapes: n_embd 768 means GPT-2's 12 heads, the other
official GPT-2 sizes are recognised by (n_embd, n_layer), anything else needs --n-head.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import pickle
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

try:
    from .bpe_tokenizer import tokenizer_for
    from .export import export_model
    from .model import GPT, GPTConfig, load_gpt2_state_dict
    from . import vocab as _vocab
except ImportError:  # pragma: no cover - script use
    from bpe_tokenizer import tokenizer_for
    from export import export_model
    from model import GPT, GPTConfig, load_gpt2_state_dict
    import vocab as _vocab

LATENT_TOKENS = (_vocab.BOT, _vocab.EOT, _vocab.LATENT)  # the reference code's add_tokens order
PREFIX = "base_causallm."
# (n_embd, n_layer) -> n_head of the published GPT-2 sizes (small, medium, large, xl).
GPT2_HEADS = {(768, 12): 12, (1024, 24): 16, (1280, 36): 20, (1600, 48): 25}
CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
BUFFERS = ("attn.bias", "attn.masked_bias")


class CheckpointImportError(ValueError):
    """A checkpoint or tokenizer the importer cannot use; the message says what to do."""


# -- reading the checkpoint ---------------------------------------------------------------------

def read_state(path: Path) -> Dict[str, Any]:
    if not path.is_file():
        raise CheckpointImportError(f"checkpoint {path} does not exist")
    if int(torch.__version__.split(".")[0]) >= 2:
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            raise CheckpointImportError(f"{path} is not a plain tensor state dict (the reference code saves "
                               f"one with torch.save(model.state_dict())): {str(e).splitlines()[0]}")
    else:  # torch 1.13: no usable weights_only loader
        obj = torch.load(str(path), map_location="cpu")
    if not isinstance(obj, Mapping):
        raise CheckpointImportError(f"{path} holds a {type(obj).__name__}, not a state dict")
    if "config" in obj and "model" in obj:
        raise CheckpointImportError(f"{path} is a Coconut Lens training checkpoint, not a reference-code one: "
                           "export it with training/export.py instead")
    return dict(obj)


def _strip_wrappers(state: Mapping[str, Any]) -> Dict[str, Any]:
    """Removes DDP's `module.` prefix and FSDP's `_fsdp_wrapped_module.` segments."""
    out = {}
    for k, v in state.items():
        k = k.replace("_fsdp_wrapped_module.", "")
        if k.startswith("module."):
            k = k[len("module."):]
        out[k] = v
    return out


def _looks_like_llama(keys: Sequence[str]) -> bool:
    return any(re.search(r"(^|\.)layers\.\d+\.self_attn\.q_proj\.weight$", k) for k in keys)


def gpt2_state(state: Mapping[str, Any], source: str) -> Dict[str, torch.Tensor]:
    """The GPT2LMHeadModel state dict inside a reference checkpoint, keys `transformer.…`/`lm_head.…`."""
    state = _strip_wrappers(state)
    keys = list(state)
    if _looks_like_llama(keys):
        raise CheckpointImportError(f"{source} is a Llama-style checkpoint (…layers.N.self_attn.q_proj.weight); "
                           "model format version 1 holds GPT-2 models only. models/README.md "
                           "(\"Llama-style models\") says how the format extends to them")
    if any(k.startswith(PREFIX) for k in keys):
        inner: Dict[str, torch.Tensor] = {}
        extra = []
        for k, v in state.items():
            if k.startswith(PREFIX):
                inner[k[len(PREFIX):]] = v
            elif k == "embedding.weight":
                continue  # Coconut.embedding is wte registered a second time; checked below
            else:
                extra.append(k)
        if extra:
            raise CheckpointImportError(f"{source}: unknown key layout: keys outside {PREFIX!r}: "
                               f"{_few(extra)}; expected a facebookresearch/coconut Coconut state dict")
        emb = state.get("embedding.weight")
        wte = inner.get("transformer.wte.weight")
        if emb is not None and wte is not None and not torch.equal(emb, wte):
            raise CheckpointImportError(f"{source}: embedding.weight differs from "
                               f"{PREFIX}transformer.wte.weight; in the reference Coconut module they "
                               "are the same tensor, so this checkpoint was modified after saving")
    elif any(k.startswith("transformer.") for k in keys):
        inner = dict(state)  # a plain GPT2LMHeadModel (e.g. a stage-0 / CoT run)
    else:
        raise CheckpointImportError(f"{source}: unknown key layout (first keys: {_few(keys)}); expected "
                           f"{PREFIX}transformer.wte.weight, {PREFIX}transformer.h.0.attn.c_attn.weight, "
                           "… as saved by facebookresearch/coconut's run.py")
    unknown = [k for k in inner if not (k.startswith("transformer.") or k == "lm_head.weight")]
    if unknown:
        raise CheckpointImportError(f"{source}: unknown keys {_few(unknown)} in the GPT-2 model; expected "
                           "transformer.* and lm_head.weight (GPT2LMHeadModel)")
    for k, v in inner.items():
        if not isinstance(v, torch.Tensor):
            raise CheckpointImportError(f"{source}: {k} is a {type(v).__name__}, not a tensor")
    return inner


def _few(keys: Sequence[str], n: int = 5) -> str:
    shown = ", ".join(keys[:n])
    return shown + (f" and {len(keys) - n} more" if len(keys) > n else "")


# -- shapes and config --------------------------------------------------------------------------

def infer_config(inner: Mapping[str, torch.Tensor], n_head: Optional[int], source: str,
                 shown: str = "") -> GPTConfig:
    """GPT-2 config from the weight shapes; `shown` prefixes key names in messages."""
    for name in ("transformer.wte.weight", "transformer.wpe.weight", "transformer.ln_f.weight"):
        if name not in inner:
            raise CheckpointImportError(f"{source}: {shown}{name} is missing; this is not a "
                               "complete GPT-2 checkpoint")
    wte, wpe = inner["transformer.wte.weight"], inner["transformer.wpe.weight"]
    if wte.dim() != 2 or wpe.dim() != 2 or wte.shape[1] != wpe.shape[1]:
        raise CheckpointImportError(f"{source}: shape mismatch: wte {tuple(wte.shape)} and wpe "
                           f"{tuple(wpe.shape)} must both be [rows, n_embd]")
    vocab, d = int(wte.shape[0]), int(wte.shape[1])
    layers = sorted({int(m.group(1)) for k in inner for m in [re.match(r"transformer\.h\.(\d+)\.", k)] if m})
    if not layers:
        raise CheckpointImportError(f"{source}: no transformer blocks (transformer.h.N.*) in the checkpoint")
    if layers != list(range(len(layers))):
        raise CheckpointImportError(f"{source}: transformer blocks {layers} are not numbered 0..{len(layers) - 1}")
    n_layer = len(layers)
    if n_head is None:
        if d == 768:
            n_head = 12
        elif (d, n_layer) in GPT2_HEADS:
            n_head = GPT2_HEADS[(d, n_layer)]
        else:
            raise CheckpointImportError(f"{source}: n_embd is {d} with {n_layer} layers, which is not a "
                               "published GPT-2 size, and the number of attention heads cannot be "
                               "read from the weights: pass --n-head (the n_head of the model's "
                               "config.json)")
    if n_head < 1 or d % n_head:
        raise CheckpointImportError(f"--n-head {n_head} does not divide n_embd {d}")
    expect = {"attn.c_attn.weight": (d, 3 * d), "attn.c_attn.bias": (3 * d,),
              "attn.c_proj.weight": (d, d), "attn.c_proj.bias": (d,),
              "mlp.c_fc.weight": (d, 4 * d), "mlp.c_fc.bias": (4 * d,),
              "mlp.c_proj.weight": (4 * d, d), "mlp.c_proj.bias": (d,),
              "ln_1.weight": (d,), "ln_1.bias": (d,), "ln_2.weight": (d,), "ln_2.bias": (d,)}
    for i in layers:
        for suffix, shape in expect.items():
            key = f"transformer.h.{i}.{suffix}"
            if key not in inner:
                raise CheckpointImportError(f"{source}: {shown}{key} is missing")
            got = tuple(inner[key].shape)
            if got != shape:
                hint = (" (it looks transposed: GPT-2 stores Conv1D weights as [in, out], "
                        "nn.Linear as [out, in])" if suffix in CONV1D and got == shape[::-1] else "")
                raise CheckpointImportError(f"{source}: shape mismatch: {shown}{key} is {list(got)}, expected "
                                   f"{list(shape)} for n_embd {d}{hint}")
    for key in ("transformer.ln_f.weight", "transformer.ln_f.bias"):
        if key not in inner or tuple(inner[key].shape) != (d,):
            raise CheckpointImportError(f"{source}: shape mismatch or missing key: {shown}{key} must be [{d}]")
    head = inner.get("lm_head.weight")
    if head is not None and tuple(head.shape) != (vocab, d):
        raise CheckpointImportError(f"{source}: shape mismatch: {shown}lm_head.weight is {list(head.shape)}, "
                           f"wte is {[vocab, d]}; GPT-2 ties them")
    return GPTConfig(vocab_size=vocab, n_positions=int(wpe.shape[0]), n_layer=n_layer,
                     n_head=n_head, n_embd=d, layer_norm_epsilon=1e-5)


def model_from_state(state: Mapping[str, Any], n_head: Optional[int] = None,
                     source: str = "checkpoint") -> GPT:
    """Our GPT (eval mode, float32) holding the weights of a reference-code state dict."""
    inner = gpt2_state(state, source)
    shown = PREFIX if any(k.startswith(PREFIX) for k in _strip_wrappers(state)) else ""
    cfg = infer_config(inner, n_head, source, shown)
    model = GPT(cfg)
    floats = {k: (v.float() if v.is_floating_point() else v) for k, v in inner.items()}
    try:
        load_gpt2_state_dict(model, floats, strict=True)
    except ValueError as e:
        raise CheckpointImportError(f"{source}: {e}")
    return model.eval()


def is_reference_state(obj: Any) -> bool:
    """True for a state dict in the reference code's layout (used by reference.py)."""
    if not isinstance(obj, Mapping) or ("config" in obj and "model" in obj):
        return False
    keys = list(_strip_wrappers(obj))
    return any(k.startswith(PREFIX) or k.startswith("transformer.") for k in keys)


# -- tokenizer ----------------------------------------------------------------------------------

def _token_ids(tok_json: dict) -> Dict[str, int]:
    ids = dict((tok_json.get("model") or {}).get("vocab") or {})
    for a in tok_json.get("added_tokens") or []:
        ids[a["content"]] = a["id"]
    return ids


def prepare_tokenizer(tok_json: dict, vocab_rows: int, eos: str, source: str) -> Tuple[dict, List[str]]:
    """The tokenizer.json for the model folder (latent tokens added if needed) and notes for the user."""
    if not isinstance(tok_json, dict) or "model" not in tok_json:
        raise CheckpointImportError(f"{source} is not a Hugging Face tokenizer.json (no \"model\" entry); "
                           "pass the tokenizer.json of the base model the checkpoint was trained from")
    tok_json = copy.deepcopy(tok_json)
    ids = _token_ids(tok_json)
    if not ids:
        raise CheckpointImportError(f"{source} has an empty vocabulary")
    want = {t: vocab_rows - 3 + i for i, t in enumerate(LATENT_TOKENS)}
    present = {t: ids[t] for t in LATENT_TOKENS if t in ids}
    notes: List[str] = []
    if len(present) == 3:
        wrong = [f"{t} has id {present[t]}, the checkpoint expects {want[t]}"
                 for t in LATENT_TOKENS if present[t] != want[t]]
        if wrong:
            raise CheckpointImportError(f"{source}: the latent tokens are not at the ids the checkpoint uses "
                               f"(the last three of its {vocab_rows} embedding rows): {'; '.join(wrong)}. "
                               "Use the tokenizer the model was trained with")
    elif present:
        missing = [t for t in LATENT_TOKENS if t not in present]
        raise CheckpointImportError(f"{source} has some latent tokens ({', '.join(present)}) but not "
                           f"{', '.join(missing)}; the reference code adds all three. Use the "
                           "tokenizer the model was trained with, or the base model's tokenizer.json "
                           "without any of them")
    else:
        size = max(ids.values()) + 1
        if size != vocab_rows - 3:
            raise CheckpointImportError(f"{source} has no latent tokens and {size} token ids, but the checkpoint "
                               f"has {vocab_rows} embedding rows: the reference code appends exactly "
                               f"three tokens ({', '.join(LATENT_TOKENS)}), so the base tokenizer must "
                               f"have {vocab_rows - 3}. Pass the tokenizer.json of the checkpoint's "
                               "base model")
        added = tok_json.setdefault("added_tokens", [])
        for t, i in want.items():
            added.append({"id": i, "content": t, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True})
        notes.append(f"{source} had no latent tokens: added {', '.join(f'{t}={i}' for t, i in want.items())} "
                     "as special added tokens, as the reference code's tokenizer.add_tokens does")
    if eos not in ids:
        raise CheckpointImportError(f"{source} has no end-of-sequence token {eos!r} (GPT-2's EOS); "
                                    "pass the GPT-2 tokenizer.json the checkpoint was trained with")
    size = max(_token_ids(tok_json).values()) + 1
    if size > vocab_rows:
        raise CheckpointImportError(f"{source} has {size} token ids but the checkpoint only {vocab_rows} "
                           "embedding rows; they must come from the same run")
    try:
        tokenizer_for(tok_json)
    except ValueError as e:
        raise CheckpointImportError(f"{source}: {e}")
    return tok_json, notes


# -- command line -------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def import_checkpoint(checkpoint: Path, tokenizer: Path, out: Path, name: Optional[str] = None,
                      n_head: Optional[int] = None, thoughts_default: int = 6,
                      thoughts_max: int = 16, per_step: int = 1,
                      max_new_tokens: int = 64) -> Tuple[Dict[str, Any], List[str]]:
    """Writes the model folder `out`; returns (manifest, notes for the user)."""
    state = read_state(checkpoint)
    model = model_from_state(state, n_head, checkpoint.name)
    del state
    try:
        tok_raw = json.loads(tokenizer.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointImportError(f"tokenizer {tokenizer} does not exist")
    except ValueError as e:
        raise CheckpointImportError(f"{tokenizer} is not valid JSON: {e}")
    tok_json, notes = prepare_tokenizer(tok_raw, model.config.vocab_size, _vocab.EOS, tokenizer.name)
    provenance = {
        "training_data": "imported from a facebookresearch/coconut checkpoint",
        "config": {"importer": "training/import_coconut.py", "source_checkpoint": checkpoint.name,
                   "source_sha256": _sha256(checkpoint), "n_head": model.config.n_head},
        "accuracy": [],
    }
    with torch.no_grad():
        manifest = export_model(model, tok_json, out, name or out.resolve().name, provenance,
                                thoughts_default, thoughts_max, per_step, max_new_tokens)
    return manifest, notes


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", required=True, help="checkpoint_N saved by the reference run.py")
    ap.add_argument("--tokenizer", required=True, help="the base model's Hugging Face tokenizer.json")
    ap.add_argument("--out", required=True, help="model folder to write")
    ap.add_argument("--name", default=None, help="manifest name (default: the folder name)")
    ap.add_argument("--n-head", type=int, default=None,
                    help="attention heads (default: 12 for n_embd 768 and the other GPT-2 sizes)")
    ap.add_argument("--thoughts-default", type=int, default=6)
    ap.add_argument("--thoughts-max", type=int, default=16)
    ap.add_argument("--per-step", type=int, default=1, help="c of the paper (thoughts per step)")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    args = ap.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    out = Path(args.out)
    try:
        manifest, notes = import_checkpoint(Path(args.checkpoint), Path(args.tokenizer), out,
                                            args.name, args.n_head,
                                            args.thoughts_default, args.thoughts_max,
                                            args.per_step, args.max_new_tokens)
    except CheckpointImportError as e:
        print(f"import_coconut: error: {e}", file=sys.stderr)
        return 2
    for n in notes:
        print(f"note: {n}")
    a = manifest["architecture"]
    print(f"GPT-2: {a['n_layer']} layers, {a['n_head']} heads, n_embd {a['n_embd']}, "
          f"vocab {a['vocab_size']}, context {a['n_positions']}")
    for f in manifest["files"]:
        print(f"{out / f['path']}  {f['bytes']} bytes  sha256 {f['sha256']}")
    print(f"{out / 'coconut.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
