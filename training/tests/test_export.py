import hashlib
import json
import math
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch

import vocab
from checkpoint import load_checkpoint, save_checkpoint
from conftest import REPO_ROOT, random_model
from export import export_model, io_names
from onnx_check import check_decoder, check_golden, node_available
from safetensors_io import read_safetensors, safetensors_bytes
from tokenizer import build_tokenizer_json

FIXTURE = REPO_ROOT / "test" / "fixtures" / "tiny-model"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    model = random_model(seed=11)
    manifest = export_model(model, build_tokenizer_json(), out, "unit",
                            {"created": "2026-01-01T00:00:00Z", "training_data": "random",
                             "config": {"lr": 1e-3}, "accuracy": []},
                            thoughts_default=2, thoughts_max=5, max_new_tokens=7)
    return model, out, manifest


def _need_node():
    why = node_available()
    if why:
        pytest.skip(f"ONNX numerics are checked with onnxruntime-node: {why}")


def test_manifest_follows_the_format(exported):
    model, out, manifest = exported
    on_disk = json.loads((out / "coconut.json").read_text())
    assert on_disk == manifest
    assert manifest["format"] == "coconut-lens-model" and manifest["format_version"] == 3
    arch = manifest["architecture"]
    cfg = model.config
    assert arch == {"family": "gpt2", "n_layer": cfg.n_layer, "n_head": cfg.n_head,
                    "n_embd": cfg.n_embd, "vocab_size": cfg.vocab_size,
                    "n_positions": cfg.n_positions, "layer_norm_epsilon": cfg.layer_norm_epsilon,
                    "tie_word_embeddings": True, "positions": "learned", "smear_keys": False}
    tok = json.loads((out / "tokenizer.json").read_text())["model"]["vocab"]
    for role, text in (("bot", vocab.BOT), ("eot", vocab.EOT), ("latent", vocab.LATENT), ("eos", vocab.EOS)):
        assert manifest["special_tokens"][role] == {"id": tok[text], "text": text}
    assert manifest["thoughts"] == {"default": 2, "max": 5, "per_step": 1}
    assert manifest["generation"] == {"max_new_tokens": 7}
    assert manifest["prompt"] == {"question_suffix": "\n", "answer_marker": "#"}
    assert manifest["onnx"] == {"opset": 17}
    prov = manifest["provenance"]
    assert prov["tool"] == "training/export.py" and prov["config"] == {"lr": 1e-3}
    assert prov["created"] == "2026-01-01T00:00:00Z" and prov["accuracy"] == []


def test_manifest_hashes_match_files(exported):
    _, out, manifest = exported
    roles = {f["role"]: f for f in manifest["files"]}
    assert set(roles) == {"decoder", "probe", "tokenizer"}
    for f in manifest["files"]:
        data = (out / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        assert len(data) == f["bytes"]


def test_probe_safetensors_parses_back(exported):
    model, out, _ = exported
    raw = (out / "probe.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert n % 8 == 0
    assert set(header) == {"wte", "ln_f.weight", "ln_f.bias"}
    ends = sorted(tuple(h["data_offsets"]) for h in header.values())
    assert ends[0][0] == 0 and ends[-1][1] == len(raw) - 8 - n
    assert all(a[1] == b[0] for a, b in zip(ends, ends[1:])), "tensors must be contiguous"
    assert all(h["dtype"] == "F32" for h in header.values())
    t = read_safetensors(out / "probe.safetensors")
    assert t["wte"].shape == (model.config.vocab_size, model.config.n_embd)
    assert np.array_equal(t["wte"], model.wte.weight.detach().numpy())
    assert np.array_equal(t["ln_f.weight"], model.ln_f.weight.detach().numpy())
    assert np.array_equal(t["ln_f.bias"], model.ln_f.bias.detach().numpy())


def test_safetensors_rejects_truncated_files(tmp_path):
    p = tmp_path / "x.safetensors"
    p.write_bytes(safetensors_bytes({"a": np.ones((2, 3), np.float32)})[:-4])
    with pytest.raises(ValueError, match="data_offsets"):
        read_safetensors(p)


def test_onnx_io_contract(exported):
    import onnx

    model, out, _ = exported
    g = onnx.load(str(out / "decoder.onnx"))
    assert g.opset_import[0].version == 17
    dims = lambda vi: [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]  # noqa: E731
    ins = {i.name: dims(i) for i in g.graph.input}
    outs = {o.name: dims(o) for o in g.graph.output}
    names_in, names_out = io_names(model.config.n_layer)
    assert list(ins) == names_in and list(outs) == names_out
    cfg = model.config
    dh = cfg.n_embd // cfg.n_head
    assert ins["inputs_embeds"] == ["batch", "sequence", cfg.n_embd]
    assert ins["attention_mask"] == ["batch", "total"]
    assert ins["position_ids"] == ["batch", "sequence"]
    assert ins["past_key_values.0.key"] == ["batch", cfg.n_head, "past_sequence", dh]
    # the last position only: all the engine reads
    assert outs["logits"] == ["batch", 1, cfg.vocab_size]
    assert outs["last_hidden_state"] == ["batch", 1, cfg.n_embd]
    assert outs["hidden_states"] == [cfg.n_layer + 1, "batch", 1, cfg.n_embd]
    assert outs["present.1.value"] == ["batch", cfg.n_head, "total", dh]
    types = {i.name: i.type.tensor_type.elem_type for i in g.graph.input}
    assert types["attention_mask"] == types["position_ids"] == onnx.TensorProto.INT64
    assert types["inputs_embeds"] == onnx.TensorProto.FLOAT


def test_export_is_deterministic(exported, tmp_path):
    model, out, manifest = exported
    again = export_model(model, build_tokenizer_json(), tmp_path, "unit",
                         {"created": "2026-01-01T00:00:00Z", "training_data": "random",
                          "config": {"lr": 1e-3}, "accuracy": []},
                         thoughts_default=2, thoughts_max=5, max_new_tokens=7)
    assert again == manifest
    for name in ("decoder.onnx", "probe.safetensors", "tokenizer.json", "coconut.json"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_cli_exports_a_checkpoint(tmp_path):
    model = random_model(seed=12)
    ckpt = tmp_path / "ckpt.pt"
    save_checkpoint(ckpt, model, None, {"training_data": "unit test", "created": "2026-02-02T00:00:00Z"})
    loaded, tok, prov = load_checkpoint(ckpt)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    out = tmp_path / "m"
    subprocess.run([sys.executable, "training/export.py", "--checkpoint", str(ckpt), "--out", str(out),
                    "--name", "cli-model"], cwd=REPO_ROOT, check=True, capture_output=True)
    manifest = json.loads((out / "coconut.json").read_text())
    assert manifest["name"] == "cli-model"
    assert manifest["provenance"]["training_data"] == "unit test"
    assert manifest["thoughts"] == {"default": 6, "max": 16, "per_step": 1}


def test_onnx_matches_torch(exported):
    _need_node()
    model, out, _ = exported
    diffs = check_decoder(model, out / "decoder.onnx")
    assert max(diffs.values()) < 1e-4, diffs


@pytest.mark.parametrize("positions,smear,n_layer,n_embd", [
    ("learned", True, 2, 32), ("rotary", False, 3, 32), ("rotary", True, 1, 32),
    ("rotary", False, 2, 256), ("learned", False, 1, 256)])
def test_every_architecture_matches_torch(tmp_path, positions, smear, n_layer, n_embd):
    """The graph is written by hand for each option (training/onnx_graph.py): the smear folded
    into the scores, rotary by a fixed matrix, a single layer that is also the last, and scores
    taken as K q^T (64-wide heads without smeared keys)."""
    _need_node()
    from model import GPT, GPTConfig
    from onnx_graph import KEYS_FIRST_HEAD_SIZE, build_decoder
    import onnx

    cfg = GPTConfig(vocab_size=40, n_positions=64, n_layer=n_layer, n_head=4, n_embd=n_embd,
                    positions=positions, smear_keys=smear)
    assert (n_embd // 4 >= KEYS_FIRST_HEAD_SIZE) == (n_embd == 256)
    torch.manual_seed(3)
    model = GPT(cfg).eval()
    with torch.no_grad():  # weights far from GPT-2's init, so every term (smear gate, biases) counts
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.3 * math.sqrt(32 / n_embd))  # activations of one scale at every width
    path = tmp_path / "decoder.onnx"
    onnx.save(build_decoder({k: v.numpy() for k, v in model.state_dict().items()}, cfg), str(path))
    diffs = check_decoder(model, path)
    assert max(diffs.values()) < 1e-4, diffs


def test_fixture_rebuilds_and_replays_on_onnx(tmp_path):
    _need_node()
    out = tmp_path / "tiny"
    subprocess.run([sys.executable, "training/make_fixture.py", "--out", str(out)], cwd=REPO_ROOT,
                   check=True, capture_output=True)
    for name in ("probe.safetensors", "tokenizer.json"):
        assert (out / name).read_bytes() == (FIXTURE / name).read_bytes(), name
    new = json.loads((out / "golden.json").read_text())
    old = json.loads((FIXTURE / "golden.json").read_text())
    assert len(new["cases"]) == len(old["cases"]) == 6
    for a, b in zip(new["cases"], old["cases"]):
        assert a["answer_ids"] == b["answer_ids"] and a["stopped_by"] == b["stopped_by"]
        for ta, tb in zip(a["thoughts"], b["thoughts"]):
            assert [e["id"] for e in ta["topk"]] == [e["id"] for e in tb["topk"]]
            assert np.max(np.abs(np.subtract(ta["logits"], tb["logits"]))) < 1e-5
        assert np.max(np.abs(np.subtract(a["answer_logits"], b["answer_logits"]))) < 1e-5
    result = check_golden(out, out / "golden.json")
    assert not result["problems"], result["problems"]
    assert result["max_logit_diff"] < 1e-4
