import math

import pytest
import torch
import torch.nn.functional as F

import model as model_module
from conftest import random_model
from model import GPT, GPTConfig, config_from_gpt2_state_dict, load_gpt2_state_dict

PATHS = [False, True]


def _sdpa_stand_in(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
    """Plain-math scaled_dot_product_attention, for torch versions (1.13) that lack it."""
    s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    if is_causal:
        s = s.masked_fill(~torch.ones(s.shape[-2:], dtype=torch.bool).tril(), float("-inf"))
    if attn_mask is not None:
        s = s + attn_mask
    return s.softmax(-1) @ v


@pytest.fixture(autouse=True)
def sdpa_available(monkeypatch):
    """The SDPA branch runs on every torch: with the real kernel on torch 2, a stand-in on 1.13."""
    if not model_module._HAS_SDPA:
        monkeypatch.setattr(F, "scaled_dot_product_attention", _sdpa_stand_in, raising=False)
        monkeypatch.setattr(model_module, "_HAS_SDPA", True)


def _pos(b, start, s):
    return torch.arange(start, start + s).unsqueeze(0).expand(b, s)


def test_output_shapes():
    m = random_model()
    cfg = m.config
    x = torch.randn(3, 5, cfg.n_embd)
    out = m(x, _pos(3, 0, 5), output_hidden_states=True)
    assert out.logits.shape == (3, 5, cfg.vocab_size)
    assert out.last_hidden_state.shape == (3, 5, cfg.n_embd)
    assert len(out.hidden_states) == cfg.n_layer + 1
    assert all(h.shape == (3, 5, cfg.n_embd) for h in out.hidden_states)
    assert len(out.presents) == cfg.n_layer
    for k, v in out.presents:
        assert k.shape == v.shape == (3, cfg.n_head, 5, cfg.n_embd // cfg.n_head)
    assert m(x, _pos(3, 0, 5)).hidden_states is None


def test_embeddings_and_tied_head():
    m = random_model()
    ids = torch.tensor([[1, 2, 3]])
    assert torch.equal(m.embed(ids), m.wte.weight[ids])
    out = m(m.embed(ids), _pos(1, 0, 3), output_hidden_states=True)
    # hidden_states[0] is the residual stream input: token + position embedding.
    assert torch.allclose(out.hidden_states[0], m.embed(ids) + m.wpe.weight[:3])
    assert torch.allclose(out.last_hidden_state, m.ln_f(out.hidden_states[-1]), atol=1e-6)
    assert torch.allclose(out.logits, out.last_hidden_state @ m.wte.weight.t(), atol=1e-5)
    assert "lm_head.weight" not in m.state_dict()


@pytest.mark.parametrize("use_sdpa", PATHS)
def test_kv_cache_matches_full_forward(use_sdpa):
    m = random_model(seed=1)
    m.use_sdpa = use_sdpa
    x = torch.randn(2, 10, m.config.n_embd)
    full = m(x, _pos(2, 0, 10), output_hidden_states=True)
    parts, past, start = [], None, 0
    for s in (6, 1, 3):
        o = m(x[:, start:start + s], _pos(2, start, s), torch.ones(2, start + s, dtype=torch.long),
              past, output_hidden_states=True)
        parts.append(o)
        past, start = o.presents, start + s
    inc = torch.cat([o.logits for o in parts], 1)
    assert (inc - full.logits).abs().max().item() < 1e-5
    inc_h = torch.cat([o.last_hidden_state for o in parts], 1)
    assert (inc_h - full.last_hidden_state).abs().max().item() < 1e-5
    for l in range(m.config.n_layer + 1):
        hl = torch.cat([o.hidden_states[l] for o in parts], 1)
        assert (hl - full.hidden_states[l]).abs().max().item() < 1e-5
    for (k, v), (fk, fv) in zip(past, full.presents):
        assert (k - fk).abs().max().item() < 1e-5 and (v - fv).abs().max().item() < 1e-5


def test_causality():
    m = random_model(seed=2)
    x = torch.randn(1, 6, m.config.n_embd)
    a = m(x, _pos(1, 0, 6)).logits
    y = x.clone()
    y[:, 4:] += torch.randn(1, 2, m.config.n_embd)  # later positions must not change earlier ones
    b = m(y, _pos(1, 0, 6)).logits
    assert torch.allclose(a[:, :4], b[:, :4], atol=1e-6)
    assert not torch.allclose(a[:, 4:], b[:, 4:], atol=1e-3)


@pytest.mark.parametrize("use_sdpa", PATHS)
def test_attention_mask_left_padding(use_sdpa):
    m = random_model(seed=3)
    m.use_sdpa = use_sdpa
    d = m.config.n_embd
    real = torch.randn(1, 4, d)
    alone = m(real, _pos(1, 0, 4)).logits
    # The same 4 positions after 3 padding positions (with arbitrary content) in a batch of 2.
    padded = torch.cat([torch.randn(1, 3, d) * 7, real], 1)
    other = torch.randn(1, 7, d)
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1], [1] * 7])
    pos = torch.tensor([[0, 0, 0, 0, 1, 2, 3], list(range(7))])
    out = m(torch.cat([padded, other]), pos, mask)
    assert torch.isfinite(out.logits).all(), "fully masked padding rows must stay finite"
    assert (out.logits[0, 3:] - alone[0]).abs().max().item() < 1e-5
    assert (out.logits[1] - m(other, _pos(1, 0, 7)).logits[0]).abs().max().item() < 1e-5
    # One more position through the cache: padding stays invisible.
    nxt = torch.randn(2, 1, d)
    step = m(nxt, torch.tensor([[4], [7]]), torch.cat([mask, torch.ones(2, 1, dtype=torch.long)], 1),
             out.presents)
    ref = m(torch.cat([real, nxt[:1]], 1), _pos(1, 0, 5)).logits[0, -1]
    assert (step.logits[0, 0] - ref).abs().max().item() < 1e-5


def test_mask_zero_inside_sequence_hides_position():
    m = random_model(seed=4)
    x = torch.randn(1, 5, m.config.n_embd)
    mask = torch.tensor([[1, 1, 0, 1, 1]])
    a = m(x, _pos(1, 0, 5), mask).logits
    y = x.clone()
    y[:, 2] += torch.randn(m.config.n_embd) * 5
    b = m(y, _pos(1, 0, 5), mask).logits
    assert torch.allclose(a[:, 3:], b[:, 3:], atol=1e-5)
    unmasked = m(y, _pos(1, 0, 5), torch.ones(1, 5, dtype=torch.long)).logits
    assert not torch.allclose(unmasked[:, 3:], b[:, 3:], atol=1e-3)


@pytest.mark.parametrize("with_mask", [False, True])
def test_sdpa_and_explicit_attention_agree(with_mask):
    m = random_model(seed=5)
    x = torch.randn(2, 7, m.config.n_embd)
    mask = torch.tensor([[0, 1, 1, 1, 1, 1, 1], [1] * 7]) if with_mask else None
    m.use_sdpa = True
    a = m(x, _pos(2, 0, 7), mask).logits
    m.use_sdpa = False
    b = m(x, _pos(2, 0, 7), mask).logits
    assert (a - b).abs().max().item() < 1e-5


def test_config_validation_and_roundtrip():
    cfg = GPTConfig(vocab_size=10, n_embd=64, n_head=4)
    assert GPTConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(vocab_size=10, n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="unknown GPTConfig fields"):
        GPTConfig.from_dict({"vocab_size": 5, "n_ctx": 3})


# --- Hugging Face GPT-2 weights ----------------------------------------------------------------

def _hf_gpt2_state(v, n_pos, n_layer, d, seed=0):
    """Random tensors under GPT2LMHeadModel's real key names and Conv1D [in, out] shapes."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g) * 0.2  # noqa: E731
    sd = {"transformer.wte.weight": r(v, d), "transformer.wpe.weight": r(n_pos, d)}
    for i in range(n_layer):
        p = f"transformer.h.{i}."
        sd.update({
            p + "ln_1.weight": 1 + r(d), p + "ln_1.bias": r(d),
            p + "attn.bias": torch.tril(torch.ones(n_pos, n_pos)).view(1, 1, n_pos, n_pos),
            p + "attn.masked_bias": torch.tensor(-1e4),
            p + "attn.c_attn.weight": r(d, 3 * d), p + "attn.c_attn.bias": r(3 * d),
            p + "attn.c_proj.weight": r(d, d), p + "attn.c_proj.bias": r(d),
            p + "ln_2.weight": 1 + r(d), p + "ln_2.bias": r(d),
            p + "mlp.c_fc.weight": r(d, 4 * d), p + "mlp.c_fc.bias": r(4 * d),
            p + "mlp.c_proj.weight": r(4 * d, d), p + "mlp.c_proj.bias": r(d),
        })
    sd["transformer.ln_f.weight"], sd["transformer.ln_f.bias"] = 1 + r(d), r(d)
    sd["lm_head.weight"] = sd["transformer.wte.weight"]
    return sd


def _gpt2_reference_logits(sd, ids, n_layer, n_head):
    """GPT-2's forward written directly from the HF tensors (Conv1D: x @ W + b)."""
    t = lambda k: sd["transformer." + k]  # noqa: E731
    d = t("wte.weight").shape[1]
    dh = d // n_head
    s = ids.shape[1]
    x = t("wte.weight")[ids] + t("wpe.weight")[:s]
    causal = torch.tril(torch.ones(s, s, dtype=torch.bool))
    ln = lambda x, p: F.layer_norm(x, (d,), t(p + ".weight"), t(p + ".bias"), 1e-5)  # noqa: E731
    for i in range(n_layer):
        p = f"h.{i}."
        a = ln(x, p + "ln_1") @ t(p + "attn.c_attn.weight") + t(p + "attn.c_attn.bias")
        q, k, v = (z.view(1, s, n_head, dh).transpose(1, 2) for z in a.split(d, 2))
        w = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        w = w.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (w @ v).transpose(1, 2).reshape(1, s, d)
        x = x + y @ t(p + "attn.c_proj.weight") + t(p + "attn.c_proj.bias")
        hdn = ln(x, p + "ln_2") @ t(p + "mlp.c_fc.weight") + t(p + "mlp.c_fc.bias")
        hdn = F.gelu(hdn, approximate="tanh")
        x = x + hdn @ t(p + "mlp.c_proj.weight") + t(p + "mlp.c_proj.bias")
    return ln(x, "ln_f") @ t("wte.weight").t()


def test_load_gpt2_state_dict_matches_direct_gpt2():
    v, n_pos, n_layer, n_head, d = 50, 16, 2, 4, 32
    sd = _hf_gpt2_state(v, n_pos, n_layer, d)
    cfg = config_from_gpt2_state_dict(sd, n_head=n_head)
    assert (cfg.vocab_size, cfg.n_positions, cfg.n_layer, cfg.n_embd) == (v, n_pos, n_layer, d)
    m = GPT(cfg).eval()
    report = load_gpt2_state_dict(m, sd)
    assert not report["problems"]
    assert len(report["loaded"]) == len(m.state_dict())
    ids = torch.tensor([[3, 1, 4, 1, 5, 9, 2, 6]])
    with torch.no_grad():
        ours = m(m.embed(ids), _pos(1, 0, 8)).logits
        ref = _gpt2_reference_logits(sd, ids, n_layer, n_head)
    assert (ours - ref).abs().max().item() < 1e-4
    # Conv1D [in, out] became Linear [out, in].
    assert torch.equal(m.h[0].mlp.c_fc.weight, sd["transformer.h.0.mlp.c_fc.weight"].t())


def test_load_gpt2_state_dict_extends_vocab_and_rejects_bad_shapes():
    sd = _hf_gpt2_state(50, 16, 1, 32)
    m = GPT(config_from_gpt2_state_dict(sd, n_head=2, extra_tokens=3))
    load_gpt2_state_dict(m, sd)
    assert torch.equal(m.wte.weight[:50], sd["transformer.wte.weight"])
    bad = dict(sd)
    bad["transformer.h.0.attn.c_proj.weight"] = torch.zeros(32, 16)
    with pytest.raises(ValueError, match="attn.c_proj.weight"):
        load_gpt2_state_dict(GPT(config_from_gpt2_state_dict(sd, n_head=2)), bad)
    untied = dict(sd)
    untied["lm_head.weight"] = sd["transformer.wte.weight"] + 1
    with pytest.raises(ValueError, match="ties"):
        load_gpt2_state_dict(GPT(config_from_gpt2_state_dict(sd, n_head=2)), untied)


@pytest.mark.parametrize("positions,smear", [("rotary", False), ("learned", True), ("rotary", True)])
def test_rotary_and_smeared_keys_cache_matches_full_forward_with_left_padding(positions, smear):
    """The engine feeds one position at a time on the KV cache: with rotary positions and smeared
    keys (which read the previous position's raw key from the cache) that must equal one full
    pass, also for left-padded rows (a padded predecessor is no predecessor)."""
    torch.manual_seed(0)
    m = GPT(GPTConfig(vocab_size=40, n_layer=2, n_head=4, n_embd=32, positions=positions,
                      smear_keys=smear)).eval()
    if smear:
        for b in m.h:
            torch.nn.init.normal_(b.attn.smear)   # gates well away from their initial 0.5
    x = torch.randn(3, 10, 32)
    attn = torch.ones(3, 10, dtype=torch.long)
    attn[0, :3] = 0
    attn[1, :1] = 0
    pos = (attn.cumsum(1) - 1).clamp(min=0)
    full = m(x, pos, attn).last_hidden_state
    out = m(x[:, :4], pos[:, :4], attn[:, :4])
    steps, past = [out.last_hidden_state], out.presents
    for t in range(4, 10):
        out = m(x[:, t:t + 1], pos[:, t:t + 1], attn[:, :t + 1], past)
        steps.append(out.last_hidden_state)
        past = out.presents
    inc = torch.cat(steps, 1)
    real = attn.bool()
    assert (full - inc)[real].abs().max() < 1e-5
    # padding in front of a row changes nothing of its real positions
    alone = m(x[2:3, 3:], torch.arange(7)[None], None).last_hidden_state
    padded = m(torch.cat([torch.zeros(1, 3, 32), x[2:3, 3:]], 1),
               torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.arange(7)[None]], 1),
               torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 7, dtype=torch.long)], 1)
               ).last_hidden_state[:, 3:]
    assert (alone - padded).abs().max() < 1e-5


def test_rotary_smear_config_and_parameters():
    torch.manual_seed(1)
    m = GPT(GPTConfig(vocab_size=40, n_layer=1, n_head=2, n_embd=16, positions="rotary",
                      smear_keys=True)).eval()
    assert m.wpe is None and not any("wpe" in k for k in m.state_dict())
    assert m.h[0].attn.smear.shape == (2, 1, 8)
    with pytest.raises(ValueError, match="positions"):
        GPTConfig(vocab_size=40, positions="alibi")
    cfg = GPTConfig(vocab_size=40, positions="rotary", smear_keys=True)
    assert GPTConfig.from_dict(cfg.to_dict()) == cfg
