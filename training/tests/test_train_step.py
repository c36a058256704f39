"""One training step's pieces: the fast encoder, the example stream (generator processes, overlong
examples, exact seek), the layout of a batch per curriculum stage, the efficient latent pass
against the naive one, the frontier loss, and batched generation against the reference loop.

Run: /usr/bin/python3 -m pytest training/tests/test_train_step.py
"""

import math
import random

import pytest
import torch

import prosqa_data as D
from batch_layout import IGNORE, make_batch
from batched_eval import generate
from coconut import run_coconut
from conftest import TRAINING
from example_stream import BatchStream, Encoder, RecordSource
from latent_pass import latent_forward, latent_forward_naive, losses
from model import GPT, GPTConfig
from train_config import load_config

torch.set_num_threads(1)

CONFIGS = TRAINING / "configs"


@pytest.fixture(scope="module")
def enc():
    return Encoder()


@pytest.fixture(scope="module")
def records():
    return list(D.generate(40, seed=21, cfg=D.GenConfig(chunk=40)))


@pytest.fixture(scope="module")
def tiny_model(enc):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=enc.vocab_size, n_layer=2, n_head=4, n_embd=32))


def test_fast_encoder_equals_the_tokenizer(enc):
    for r in D.load_records(D.OFFICIAL_VALID):
        for text in (r["question"] + "\n", "### " + r["answer"]) + tuple(s + "\n" for s in r["steps"]):
            assert enc.text(text) == enc.tok.encode(text)
    with pytest.raises(ValueError, match="vocabulary"):
        enc.text("Every snark is a boojum.")


def _row_text(enc, b, i):
    return enc.tok.decode(b.ids[i][b.attn[i] > 0].tolist())


@pytest.mark.parametrize("stage", [0, 1, 3, 6])
def test_layout_per_stage(enc, records, stage):
    exs = [enc.encode(r) for r in records[:6]]
    b = make_batch(exs, [stage] * len(exs), "coconut", 1, 6, enc, 512)
    for i, (e, r) in enumerate(zip(exs, records[:6])):
        text = _row_text(enc, b, i)
        kept = r["steps"][stage:] if stage < 6 else []
        expect = (r["question"] + "\n <|start-latent|>" + " <|latent|>" * stage + " <|end-latent|>"
                  + "".join(" " + s + "\n" for s in kept) + " ### " + r["answer"] + " <|endoftext|>")
        assert enc.tok.decode(enc.tok.encode(expect)) == text
        # every row has bot at the same index; real positions count from 0
        assert int(b.ids[i, b.bot]) == enc.bot
        real = b.attn[i] > 0
        assert b.pos[i][real].tolist() == list(range(int(real.sum())))
        # the loss sees exactly the language after eot (kept steps, answer, eos)
        sup = b.labels[i][b.labels[i] != IGNORE].tolist()
        assert sup == [t for s in e.steps[stage:] for t in s] * (stage < 6) + e.ans
        assert int(b.latent[i].sum()) == stage


def test_baseline_layouts(enc, records):
    e = enc.encode(records[0])
    b = make_batch([e], [4], "cot", 1, 6, enc, 512)       # cot ignores the stage
    assert b.n_max == 0
    assert b.labels[0][b.labels[0] != IGNORE].tolist() == [t for s in e.steps for t in s] + e.ans
    b = make_batch([e], [0], "nocot", 1, 6, enc, 512)
    assert b.labels[0][b.labels[0] != IGNORE].tolist() == e.ans


def test_thought_count_scales_with_c_and_frontier_targets(enc, records):
    e = enc.encode(records[1])
    b = make_batch([e], [2], "coconut", 2, 6, enc, 512)
    assert b.n_max == 4 and int(b.latent.sum()) == 4
    # thoughts 1,2 -> frontier 1; thoughts 3,4 -> frontier 2
    for t, d in ((1, 1), (2, 1), (3, 2), (4, 2)):
        hot = torch.nonzero(b.frontier[0, t - 1]).flatten().tolist()
        assert hot == sorted(e.frontier[d - 1])
    assert b.frontier_mask[0].all()


def test_efficient_latent_pass_equals_naive(enc, records, tiny_model):
    exs = [enc.encode(r) for r in records[:8]]
    rng = random.Random(0)
    stages = [rng.randint(0, 6) for _ in exs]          # mixed stages in one batch
    stages[0] = 6
    b = make_batch(exs, stages, "coconut", 1, 6, enc, 512)
    grads = []
    outs = []
    for fwd in (latent_forward, latent_forward_naive):
        tiny_model.zero_grad()
        logits = fwd(tiny_model, b)
        ls = losses(logits, b, {"weight": 1.0, "kind": "mass"})
        ls["loss"].backward()
        outs.append((logits.detach(), {k: float(v) for k, v in ls.items()}))
        grads.append(torch.cat([p.grad.flatten() for p in tiny_model.parameters()]))
    assert torch.allclose(outs[0][0], outs[1][0], atol=1e-5)
    for k in outs[0][1]:
        assert math.isclose(outs[0][1][k], outs[1][1][k], rel_tol=1e-5, abs_tol=1e-6)
    # gradients flow through the continuous thoughts the same way
    assert torch.allclose(grads[0], grads[1], atol=1e-5, rtol=1e-4)


def test_bf16_autocast_path_runs_and_stays_close(enc, records, tiny_model):
    # What CUDA training does (inputs cast to bf16 under autocast), exercised with CPU autocast:
    # no dtype errors, finite gradients, logits close to float32.
    exs = [enc.encode(r) for r in records[:6]]
    b = make_batch(exs, [0, 1, 3, 6, 6, 2], "coconut", 1, 6, enc, 512)
    ref = latent_forward(tiny_model, b)
    tiny_model.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = latent_forward(tiny_model, b, torch.bfloat16)
        ls = losses(out, b, {"weight": 1.0, "kind": "uniform"})
    ls["loss"].backward()
    assert out.dtype == torch.bfloat16
    assert (out.float() - ref).abs().max() < 0.05
    assert all(torch.isfinite(p.grad).all() for p in tiny_model.parameters())


def test_frontier_losses(enc, records, tiny_model):
    exs = [enc.encode(r) for r in records[:4]]
    b = make_batch(exs, [3] * 4, "coconut", 1, 6, enc, 512)
    logits = torch.randn(4, b.ids.shape[1] - b.bot, enc.vocab_size)
    logp = torch.log_softmax(logits[:, :3], -1)
    mass = losses(logits, b, {"kind": "mass", "weight": 1.0})
    uni = losses(logits, b, {"kind": "uniform", "weight": 0.5})
    m_exp, u_exp = [], []
    for i, e in enumerate(exs):
        for t in range(3):
            ids = e.frontier[t]
            m_exp.append(-torch.logsumexp(logp[i, t, ids], 0))
            u_exp.append(-logp[i, t, ids].mean())
    assert math.isclose(float(mass["bfs"]), float(torch.stack(m_exp).mean()), rel_tol=1e-5)
    assert math.isclose(float(uni["bfs"]), float(torch.stack(u_exp).mean()), rel_tol=1e-5)
    assert math.isclose(float(uni["loss"]), float(uni["lm"] + 0.5 * uni["bfs"]), rel_tol=1e-6)
    assert float(mass["loss"]) > float(mass["lm"])
    plain = losses(logits, b, {"kind": "mass", "weight": 0.0})
    assert float(plain["loss"]) == float(plain["lm"])     # monitored, not trained


def test_batched_generation_equals_the_reference_loop(enc, records, tiny_model):
    exs = [enc.encode(r) for r in records[:10]]
    for k in (0, 2, 6):
        outs = generate(tiny_model, [e.q for e in exs], k, 12, enc, "cpu")
        for e, o in zip(exs, outs):
            run = run_coconut(tiny_model, e.q + [enc.bot], k, enc.eot, enc.eos, 12)
            assert o == [t for t in run.answer_ids if t != enc.eos]


def test_stage_mixing_draws_earlier_stages(enc):
    cfg = load_config(str(CONFIGS / "tiny.json"), ["mix_prob=0.5"])
    rng = random.Random(1)
    ss = [(rng.randint(0, 4) if rng.random() < cfg["mix_prob"] else 4) for _ in range(400)]
    assert set(ss) == {0, 1, 2, 3, 4} and 0.5 < ss.count(4) / 400 < 0.75


def test_stream_with_generator_processes_is_the_same_stream(enc):
    sets = ['data.source="stream"', 'data.gen={"chunk": 20}', "data.prefetch_chunks=2",
            'data.curriculum=[{"until_examples": 40, "gen": {"nodes_mean": 10, "nodes_min": 7, '
            '"nodes_max": 13, "steps_hist": {"1": 0.5, "2": 0.5}}}]']
    streams = []
    for workers in (0, 2):
        cfg = load_config(str(CONFIGS / "tiny.json"), sets + [f"data.workers={workers}"])
        src = RecordSource(cfg, enc)
        src.start()
        it = src.iterate(30)                      # starts mid-chunk, inside the curriculum phase
        streams.append([next(it) for _ in range(50)])
        src.close()
    assert [e.q for e in streams[0]] == [e.q for e in streams[1]]
    # the first 40 records come from the small-graph phase (1..2 steps), then the official mix
    assert all(len(e.steps) <= 2 for e in streams[0][:10])
    assert all(3 <= len(e.steps) <= 6 for e in streams[0][10:])


def test_overlong_examples_are_skipped_and_seek_is_exact(enc):
    cfg = load_config(str(CONFIGS / "tiny.json"), ['data.source="stream"', 'data.gen={"chunk": 25}'])
    src = RecordSource(cfg, enc)
    limit = 230                                   # some official-size records do not fit
    a = BatchStream(src, 4, 3, 0, max_len=limit)
    first = [a.next()[0] for _ in range(5)]       # crosses a pool boundary
    st = a.state()
    rest = [a.next()[0] for _ in range(4)]
    assert a.skipped > 0
    assert all(a.fits(e) for b in first + rest for e in b)
    b = BatchStream(src, 4, 3, 0, max_len=limit)
    b.seek(st)
    assert [[e.q for e in x] for x in (b.next()[0] for _ in range(4))] == [[e.q for e in x] for x in rest]
