"""training/import_coconut.py on a checkpoint with exactly the reference code's layout.

The fixture (make_reference_fixture.py) has the real key names, Conv1D shapes and the 50260-row
vocabulary, with 2 layers of width 64. The engine-side parity of the converted model is
test/unit/import-parity.test.ts.
"""

import collections
import json
import math
import subprocess

import numpy as np
import pytest
import torch

from bpe_tokenizer import ByteLevelBPETokenizer, tokenizer_for
from conftest import REPO_ROOT
from import_coconut import (CheckpointImportError, gpt2_state, import_checkpoint, infer_config,
                            main, model_from_state, prepare_tokenizer)
from make_reference_fixture import (CHECKPOINT_NAME, build_tokenizer_json, reference_state_dict,
                                    write_fixture)
from onnx_check import node_available
from safetensors_io import read_safetensors

N_LAYER, N_EMBD, N_HEAD = 2, 64, 4


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    root = tmp_path_factory.mktemp("import")
    paths = write_fixture(root / "src", N_LAYER, N_EMBD, seed=3)
    manifest, notes = import_checkpoint(paths["checkpoint"], paths["tokenizer"], root / "model",
                                        name="imported", n_head=N_HEAD, max_new_tokens=5)
    return paths, root / "model", manifest, notes


@pytest.fixture(scope="module")
def state():
    return reference_state_dict(N_LAYER, N_EMBD, seed=3)


@pytest.fixture(scope="module")
def tok_json():
    return build_tokenizer_json()


def test_the_fixture_has_the_reference_layout(state):
    keys = list(state)
    assert keys[:2] == ["base_causallm.transformer.wte.weight", "base_causallm.transformer.wpe.weight"]
    assert keys[-3:] == ["base_causallm.transformer.ln_f.bias", "base_causallm.lm_head.weight",
                         "embedding.weight"]
    assert state["base_causallm.transformer.wte.weight"].shape == (50260, N_EMBD)
    assert state["base_causallm.transformer.h.1.attn.c_attn.weight"].shape == (N_EMBD, 3 * N_EMBD)
    assert state["base_causallm.transformer.h.0.mlp.c_proj.weight"].shape == (4 * N_EMBD, N_EMBD)
    assert "base_causallm.transformer.h.0.attn.masked_bias" in state
    assert state["embedding.weight"] is state["base_causallm.lm_head.weight"]


def test_manifest_and_files(converted):
    paths, out, manifest, notes = converted
    on_disk = json.loads((out / "coconut.json").read_text())
    assert on_disk == manifest
    a = manifest["architecture"]
    assert a == {"family": "gpt2", "n_layer": N_LAYER, "n_head": N_HEAD, "n_embd": N_EMBD,
                 "vocab_size": 50260, "n_positions": 128, "layer_norm_epsilon": 1e-5,
                 "tie_word_embeddings": True, "positions": "learned", "smear_keys": False}
    assert manifest["special_tokens"] == {
        "bot": {"id": 50257, "text": "<|start-latent|>"}, "eot": {"id": 50258, "text": "<|end-latent|>"},
        "latent": {"id": 50259, "text": "<|latent|>"}, "eos": {"id": 50256, "text": "<|endoftext|>"}}
    assert manifest["prompt"] == {"question_suffix": "\n", "answer_marker": "#"}
    assert manifest["generation"] == {"max_new_tokens": 5}
    cfg = manifest["provenance"]["config"]
    assert cfg["source_checkpoint"] == CHECKPOINT_NAME and len(cfg["source_sha256"]) == 64
    assert len(notes) == 1 and "added <|start-latent|>=50257" in notes[0]
    tok = json.loads((out / "tokenizer.json").read_text())
    added = {t["content"]: t["id"] for t in tok["added_tokens"]}
    assert added == {"<|endoftext|>": 50256, "<|start-latent|>": 50257, "<|end-latent|>": 50258,
                     "<|latent|>": 50259}
    probe = read_safetensors(out / "probe.safetensors")
    state = torch.load(str(paths["checkpoint"]))
    assert np.array_equal(probe["wte"], state["base_causallm.transformer.wte.weight"].numpy())
    assert np.array_equal(probe["ln_f.bias"], state["base_causallm.transformer.ln_f.bias"].numpy())


def _hf_gpt2_logits(sd, ids, n_head):
    """GPT2LMHeadModel's forward written from its definition, on the raw reference state dict:
    Conv1D is x @ W + b with W [in, out]; GELU is the tanh form; the LM head is wte."""
    p = "base_causallm.transformer."
    g = lambda k: sd[p + k].double().numpy()  # noqa: E731
    x = g("wte.weight")[ids] + g("wpe.weight")[np.arange(len(ids))]
    d = x.shape[1]
    dh = d // n_head

    def ln(v, pre):
        mu = v.mean(-1, keepdims=True)
        var = ((v - mu) ** 2).mean(-1, keepdims=True)
        return (v - mu) / np.sqrt(var + 1e-5) * g(pre + ".weight") + g(pre + ".bias")

    n = len(ids)
    layer = 0
    while p + f"h.{layer}.ln_1.weight" in sd:
        h = f"h.{layer}."
        qkv = ln(x, h + "ln_1") @ g(h + "attn.c_attn.weight") + g(h + "attn.c_attn.bias")
        q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(n, n_head, dh).transpose(1, 0, 2) for i in range(3))
        att = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
        att = np.where(np.tril(np.ones((n, n), bool)), att, -np.inf)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        y = (att @ v).transpose(1, 0, 2).reshape(n, d)
        x = x + y @ g(h + "attn.c_proj.weight") + g(h + "attn.c_proj.bias")
        m = ln(x, h + "ln_2") @ g(h + "mlp.c_fc.weight") + g(h + "mlp.c_fc.bias")
        m = 0.5 * m * (1 + np.tanh(math.sqrt(2 / math.pi) * (m + 0.044715 * m ** 3)))
        x = x + m @ g(h + "mlp.c_proj.weight") + g(h + "mlp.c_proj.bias")
        layer += 1
    return ln(x, "ln_f") @ g("wte.weight").T


def test_converted_weights_compute_what_gpt2_computes(state):
    model = model_from_state(state, N_HEAD)
    ids = [464, 3290, 50257, 50259, 318, 257, 50258, 50256, 12]
    want = _hf_gpt2_logits(state, ids, N_HEAD)
    with torch.no_grad():
        emb = model.embed(torch.tensor([ids]))
        got = model(emb, torch.arange(len(ids)).unsqueeze(0)).logits[0].double().numpy()
    assert np.abs(got - want).max() < 1e-4


def test_wrappers_dtypes_and_newer_layouts_load(state):
    base = model_from_state(state, N_HEAD)
    # DDP prefix, no mask buffers (transformers >= 4.3x), no `embedding.weight` duplicate.
    ddp = collections.OrderedDict(
        ("module." + k, v) for k, v in state.items()
        if not k.endswith((".attn.bias", ".attn.masked_bias")) and k != "embedding.weight")
    m = model_from_state(ddp, N_HEAD)
    assert torch.equal(m.wte.weight, base.wte.weight)
    assert torch.equal(m.h[1].mlp.c_fc.weight, base.h[1].mlp.c_fc.weight)
    # A CoT-stage checkpoint saved from the bare GPT2LMHeadModel, in bf16.
    bare = {k[len("base_causallm."):]: v.to(torch.bfloat16) if v.is_floating_point() else v
            for k, v in state.items() if k.startswith("base_causallm.")}
    m = model_from_state(bare, N_HEAD)
    assert m.wte.weight.dtype == torch.float32
    assert torch.allclose(m.wte.weight, base.wte.weight, atol=0.01)


def test_n_head_is_inferred_only_for_gpt2_sizes(state):
    inner = gpt2_state(state, "ckpt")
    with pytest.raises(CheckpointImportError, match=r"n_embd is 64 with 2 layers.*pass --n-head"):
        infer_config(inner, None, "ckpt")
    with pytest.raises(CheckpointImportError, match=r"--n-head 5 does not divide n_embd 64"):
        infer_config(inner, 5, "ckpt")
    gpt2_small = reference_state_dict(n_layer=1, n_embd=768, n_positions=8, vocab=10, buffers=False)
    assert infer_config(gpt2_state(gpt2_small, "s"), None, "s").n_head == 12


def test_clear_errors_for_other_layouts(state):
    llama = {"base_causallm.model.embed_tokens.weight": torch.zeros(4, 2),
             "base_causallm.model.layers.0.self_attn.q_proj.weight": torch.zeros(2, 2)}
    with pytest.raises(CheckpointImportError, match=r"Llama-style checkpoint.*Llama-style models"):
        model_from_state(llama, 1)
    with pytest.raises(CheckpointImportError, match=r"unknown key layout \(first keys: encoder\.w"):
        model_from_state({"encoder.w": torch.zeros(1)}, 1)
    extra = dict(state)
    extra["probe.weight"] = torch.zeros(1)
    with pytest.raises(CheckpointImportError, match=r"keys outside 'base_causallm\.': probe\.weight"):
        model_from_state(extra, N_HEAD)
    modified = dict(state)
    modified["embedding.weight"] = state["embedding.weight"] + 1
    with pytest.raises(CheckpointImportError, match=r"embedding\.weight differs"):
        model_from_state(modified, N_HEAD)


def test_shape_mismatches_name_the_key(state):
    bad = dict(state)
    k = "base_causallm.transformer.h.1.attn.c_attn.weight"
    bad[k] = state[k].t().contiguous()
    with pytest.raises(CheckpointImportError,
                       match=r"shape mismatch: base_causallm\.transformer\.h\.1\.attn\.c_attn\.weight "
                             r"is \[192, 64\], expected \[64, 192\].*looks transposed"):
        model_from_state(bad, N_HEAD)
    bad = dict(state)
    del bad["base_causallm.transformer.h.0.mlp.c_fc.bias"]
    with pytest.raises(CheckpointImportError, match=r"base_causallm\.transformer\.h\.0\.mlp\.c_fc\.bias is missing"):
        model_from_state(bad, N_HEAD)
    bad = dict(state)
    bad["base_causallm.lm_head.weight"] = torch.zeros(50260, N_EMBD)
    with pytest.raises(CheckpointImportError, match=r"lm_head\.weight differs from wte\.weight"):
        model_from_state(bad, N_HEAD)


def test_tokenizer_rules(tok_json):
    out, notes = prepare_tokenizer(tok_json, 50260, "<|endoftext|>", "tokenizer.json")
    assert len(notes) == 1 and tokenizer_for(out).id("<|latent|>") == 50259
    assert "added_tokens" in tok_json and len(tok_json["added_tokens"]) == 1  # input left as it was
    # Saved after add_tokens: the latents are there at the right ids, nothing to add.
    out, notes = prepare_tokenizer(build_tokenizer_json(with_latents=True), 50260, "<|endoftext|>", "t.json")
    assert notes == []
    # Latents at other ids than the checkpoint's last three rows.
    with pytest.raises(CheckpointImportError,
                       match=r"<\|start-latent\|> has id 50257, the checkpoint expects 50258"):
        prepare_tokenizer(build_tokenizer_json(with_latents=True), 50261, "<|endoftext|>", "t.json")
    partial = build_tokenizer_json(with_latents=True)
    partial["added_tokens"] = [a for a in partial["added_tokens"] if a["content"] != "<|latent|>"]
    with pytest.raises(CheckpointImportError, match=r"has some latent tokens .* but not <\|latent\|>"):
        prepare_tokenizer(partial, 50260, "<|endoftext|>", "t.json")
    with pytest.raises(CheckpointImportError,
                       match=r"no latent tokens and 50257 token ids, but the checkpoint has 50300 embedding rows"):
        prepare_tokenizer(tok_json, 50300, "<|endoftext|>", "t.json")
    with pytest.raises(CheckpointImportError, match=r"no end-of-sequence token '</s>'"):
        prepare_tokenizer(tok_json, 50260, "</s>", "t.json")
    with pytest.raises(CheckpointImportError, match=r"not a Hugging Face tokenizer\.json"):
        prepare_tokenizer({"vocab": {}}, 50260, "<|endoftext|>", "t.json")


def test_command_line(converted, tmp_path, capsys):
    paths = converted[0]
    code = main(["--checkpoint", str(paths["checkpoint"]), "--tokenizer", str(paths["tokenizer"]),
                 "--out", str(tmp_path / "m")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("import_coconut: error: checkpoint_6: n_embd is 64") and "--n-head" in err
    code = main(["--checkpoint", str(tmp_path / "nope"), "--tokenizer", str(paths["tokenizer"]),
                 "--out", str(tmp_path / "m")])
    assert code == 2 and "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_bpe_twin_matches_the_js_library(converted):
    why = node_available()
    if why:
        pytest.fail(f"the JS tokenizer comparison needs node: {why}")
    out = converted[1]
    texts = ["Every lempus is a grimpus. Tom is a lempus.\nIs Tom a grimpus or zhorpus?\n",
             "  two  spaces,   three\n\n\nnewlines\ttab 's 've 123 4567 x",
             "héllo wörld — ünïcödé 😀 日本語", "<|start-latent|><|latent|><|latent|><|end-latent|>### Tom",
             "a<|endoftext|>b", "", "don't I'll we'd", "\u3000\u00a0\ufeffodd spaces\u2028"]
    decode = [[464, 3290, 318], [0, 1, 2, 255], [195], [50257, 100, 50259, 50256], [188, 189, 190],
              list(range(230, 260)), [50255, 50254, 7]]
    req = json.dumps({"texts": texts, "decode": decode})
    res = subprocess.run(["node", str(REPO_ROOT / "training/tools/js_tokenize.mjs"),
                          str(out / "tokenizer.json")], input=req, capture_output=True, text=True,
                         cwd=REPO_ROOT, timeout=120, check=True)
    js = json.loads(res.stdout)
    tok = ByteLevelBPETokenizer(json.loads((out / "tokenizer.json").read_text()))
    assert [tok.encode(t) for t in texts] == js["ids"]
    assert [tok.tokenize(t) for t in texts] == js["tokens"]
    assert [tok.decode(ids) if ids else "" for ids in decode] == js["decoded"]
