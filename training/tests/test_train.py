"""Coconut training runs: configs, the learning-rate schedule, resumable runs (mid-stage, at a
stage end, after SIGTERM), the CPU recipe, snapshots, and the Python half of the end-to-end
pipeline (pipeline_tiny.sh --python-only). One step's pieces are in test_train_step.py.

Run: /usr/bin/python3 -m pytest training/tests/test_train.py
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
torch.set_num_threads(1)

import prosqa_data as D  # noqa: E402
import trainer  # noqa: E402
from example_stream import Encoder, encoder_for  # noqa: E402
from optimizer import lr_at  # noqa: E402
from train_config import load_config, stage_plan  # noqa: E402
from trainer import Trainer  # noqa: E402
from model import GPT, GPTConfig  # noqa: E402
from checkpoint import load_checkpoint  # noqa: E402

CONFIGS = ROOT / "training" / "configs"


def test_lr_schedule():
    o = {"warmup_steps": 10, "decay": "cosine", "min_lr_frac": 0.1}
    assert lr_at(0, 100, 1.0, o, True) == pytest.approx(0.1)
    assert lr_at(9, 100, 1.0, o, True) == pytest.approx(1.0)
    assert lr_at(99, 100, 1.0, o, True) == pytest.approx(0.1, abs=1e-3)
    assert lr_at(50, 100, 1.0, o, False) == 1.0


def test_configs_load_and_fit_the_size_budget(tmp_path):
    names = {p.name for p in CONFIGS.glob("*.json")}
    assert {"tiny.json", "prosqa-h100.json", "baseline-cot.json", "baseline-nocot.json"} <= names
    for p in CONFIGS.glob("*.json"):
        cfg = load_config(str(p))
        m = GPT(GPTConfig(vocab_size=69, **cfg["model"]))
        n = sum(x.numel() for x in m.parameters())
        assert n * 4 <= 16 * 2**20, (p.name, n)
    full = load_config(str(CONFIGS / "prosqa-h100.json"))
    for base in ("baseline-cot.json", "baseline-nocot.json"):
        b = load_config(str(CONFIGS / base))
        # same data, model and budget as the Coconut run
        assert b["data"] == full["data"] and b["model"] == full["model"]
        assert b["total_examples"] == sum(full["stage_examples"])
        assert b["batch_size"] == full["batch_size"] and b["seed"] == full["seed"]
    with pytest.raises(ValueError, match="unknown key 'nosuch'"):
        load_config(str(CONFIGS / "tiny.json"), ["nosuch=1"])
    bad = json.loads((CONFIGS / "tiny.json").read_text())
    bad["optim"]["learning_rate"] = 1
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="unknown config key 'optim.learning_rate'"):
        load_config(str(p))


def _tiny_cfg(tmp_path, extra=()):
    sets = ["data.source=\"stream\"", "data.workers=0", "data.gen={\"chunk\": 50}",
            "stage_examples=[16,8,8,8,8,8,16]", "batch_size=8", "eval.limit=6", "eval.batch_size=6",
            "log_every_steps=1", "mix_prob=0.3", "data.sortish_batches=2", *extra]
    return load_config(str(CONFIGS / "tiny.json"), sets)


def _weights(path):
    ck = torch.load(str(path), map_location="cpu")
    return ck["model"]


def test_resume_mid_stage_gives_the_uninterrupted_result(tmp_path):
    cfg = _tiny_cfg(tmp_path)
    Trainer(cfg, tmp_path / "a", log=lambda s: None).run()
    # interrupted after its first step (max_minutes), then resumed from state.pt
    cut = _tiny_cfg(tmp_path, ["max_minutes=1e-9"])
    r = Trainer(cut, tmp_path / "b", log=lambda s: None).run()
    assert r.get("stopped") and (tmp_path / "b" / "state.pt").exists()
    tr = Trainer(cfg, tmp_path / "b", log=lambda s: None)
    tr.restore()
    assert (tr.stage_i, tr.step) == (0, 1) and tr.opt is not None
    tr.run()
    wa, wb = _weights(tmp_path / "a" / "model.pt"), _weights(tmp_path / "b" / "model.pt")
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    # model.pt is what export.py reads
    model, tok, prov = load_checkpoint(tmp_path / "a" / "model.pt")
    assert prov["accuracy"][0]["thoughts"] == 6 and prov["config"]["method"] == "coconut"


def test_stage_boundary_resume_and_fresh_optimizer_per_stage(tmp_path, monkeypatch):
    cfg = _tiny_cfg(tmp_path)
    made = []
    real = trainer.make_optimizer
    monkeypatch.setattr(trainer, "make_optimizer", lambda *a, **k: made.append(1) or real(*a, **k))
    tr = Trainer(cfg, tmp_path / "c", log=lambda s: None)
    tr.plan = tr.plan[:3]                        # stop after stage 2, as a split run would
    tr.run()
    assert len(made) == 3                        # one optimizer per stage
    (tmp_path / "c" / "state.pt").unlink()       # only the small weights file travels
    full = Trainer(cfg, tmp_path / "c", log=lambda s: None)
    full.restore()
    assert (full.stage_i, full.step, full.opt) == (3, 0, None)
    full.run()
    ref = Trainer(cfg, tmp_path / "d", log=lambda s: None)
    ref.run()
    wa, wb = _weights(tmp_path / "c" / "model.pt"), _weights(tmp_path / "d" / "model.pt")
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    summary = json.loads((tmp_path / "d" / "summary.json").read_text())
    assert set(summary["throughput"]) == {str(i) for i in range(7)}
    assert all(v["examples_per_s"] > 0 for v in summary["throughput"].values())


def test_refuses_to_resume_with_a_different_config(tmp_path):
    cfg = _tiny_cfg(tmp_path, ["max_minutes=1e-9"])
    Trainer(cfg, tmp_path / "e", log=lambda s: None).run()
    other = _tiny_cfg(tmp_path, ["batch_size=4"])
    tr = Trainer(other, tmp_path / "e", log=lambda s: None)
    with pytest.raises(ValueError, match="batch_size"):
        tr.restore()


def test_pipeline_tiny_python_half(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHON=sys.executable)
    res = subprocess.run(["bash", str(ROOT / "training" / "pipeline_tiny.sh"), "--python-only",
                          str(tmp_path)], env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "TypeScript engine: NOT RUN" in res.stdout
    man = json.loads((tmp_path / "model" / "coconut.json").read_text())
    for f in man["files"]:
        assert (tmp_path / "model" / f["path"]).stat().st_size == f["bytes"]
    py = json.loads((tmp_path / "py_eval.json").read_text())
    assert py["n"] == 24 and len(py["results"][0]["predictions"]) == 24
    # the reference accuracy equals the one training recorded with the same settings
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["final_reference"]["thoughts"] == man["thoughts"]["default"]


def test_compare_detects_disagreement():
    import evaluate as E
    py = {"accuracy": 0.5, "n": 4, "results": [{"predictions": ["### a", "### b", "### c", "### d"]}]}
    assert E.compare(py, {"accuracy": 0.5, "n": 4}) == []
    assert E.compare(py, {"accuracy": 0.75, "n": 4})
    assert E.compare(py, {"summary": {"accuracy": 0.5, "total": 3}})
    bad = {"accuracy": 0.5, "records": [{"output": t} for t in ["### a", "### b", "### x", "### d"]]}
    assert "record 2" in E.compare(py, bad)[0]
    assert E.compare(py, {"nothing": 1})


def test_path_categories():
    import evaluate as E
    r = D.load_records(D.OFFICIAL_VALID)[0]
    good = "".join(s + "\n" for s in r["steps"]) + "### " + r["answer"]
    assert E.path_category(r, good) == "Correct Path"
    assert E.path_category(r, "### " + r["answer"]) == "Correct Label"
    assert E.path_category(r, "### Tom is a scrompus.") == "Incorrect Label"
    assert E.path_category(r, "Tom is a lempus.\n### Tom is a lempus.") == "Hallucination"
    # Tom -> terpus -> gerpus -> brimpus -> lempus is valid but longer than the shortest path
    longer = ("Tom is a terpus.\nEvery terpus is a gerpus.\nEvery gerpus is a brimpus.\n"
              "Every brimpus is a lempus.\n### Tom is a lempus.")
    assert E.path_category(r, longer) == "Longer Path"
    assert E.path_category(r, "Tom is a terpus.\nEvery terpus is a fompus.\n### Tom is a fompus.") == "Wrong Target"


def _cpu_cfg(extra=()):
    """The CPU recipe (configs/prosqa-cpu.json) shrunk to seconds: same model family, compact
    tokens, all thoughts latent from the first step, a two-phase depth curriculum."""
    sets = ["model.n_embd=32", "model.n_head=2", "data.gen={\"chunk\": 40}",
            "data.curriculum=[{\"until_examples\": 40, \"gen\": {\"nodes_mean\": 8, \"nodes_min\": 6, "
            "\"nodes_max\": 10, \"steps_hist\": {\"1\": 1.0}}}]",
            "stage_examples=[0,0,0,0,0,0,64]", "batch_size=8", "eval.limit=6", "eval.batch_size=6",
            "eval.every_examples=32", "eval.gen_n=8", "log_every_steps=1", "data.sortish_batches=2", *extra]
    return load_config(str(CONFIGS / "prosqa-cpu.json"), sets)


def test_cpu_recipe_trains_all_latent_in_compact_tokens_and_resumes_exactly(tmp_path):
    cfg = _cpu_cfg()
    assert stage_plan(cfg) == [(6, 64)]             # zero-example stages are skipped
    enc = encoder_for(cfg)
    r = D.load_records(D.OFFICIAL_VALID)[0]
    ex = enc.encode(r)
    assert enc.tok.compact and len(ex.q) < len(Encoder().encode(r).q) * 0.6
    assert ex.answer == r["answer"].replace(" is a ", " ")   # what the model writes
    logs = []
    Trainer(cfg, tmp_path / "a", log=logs.append).run()
    evals = [json.loads(l) for l in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()
             if '"eval"' in l]
    # the mid-run evaluation also scored held-out records of the one-hop phase it was in
    assert evals and evals[0]["phase"]["n"] == 8 and evals[0]["phase"]["gen"]["steps_hist"] == {"1": 1.0}
    cut = _cpu_cfg(["max_minutes=1e-9"])
    assert Trainer(cut, tmp_path / "b", log=lambda s: None).run().get("stopped")
    tr = Trainer(cfg, tmp_path / "b", log=lambda s: None)
    tr.restore()
    tr.run()
    wa, wb = _weights(tmp_path / "a" / "model.pt"), _weights(tmp_path / "b" / "model.pt")
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    model, tok, prov = load_checkpoint(tmp_path / "a" / "model.pt")
    assert model.config.positions == "rotary" and model.config.smear_keys
    assert tok["normalizer"] is not None                 # the export carries the compact tokenizer


def test_snapshot_of_a_stopped_run_and_its_segments(tmp_path):
    import snapshot
    cut = _cpu_cfg(["max_minutes=1e-9"])
    assert Trainer(cut, tmp_path / "run", log=lambda s: None).run().get("stopped")
    snapshot.main([str(tmp_path / "run"), str(tmp_path / "snap.pt"), "--no-eval"])
    model, tok, prov = load_checkpoint(tmp_path / "snap.pt")
    state = torch.load(str(tmp_path / "run" / "state.pt"), map_location="cpu")
    for k, v in state["model"].items():
        assert torch.equal(model.state_dict()[k], v), k
    assert tok["normalizer"] is not None and prov["config"]["tokenizer"]["compact"]
    assert prov["examples_seen"] == 8 and len(prov["segments"]) == 1
    seg = prov["segments"][0]
    assert seg["start_examples"] == 0 and seg["end_examples"] == 8 and seg["minutes"] >= 0
    # a second segment is appended by the resumed invocation
    tr = Trainer(_cpu_cfg(), tmp_path / "run", log=lambda s: None)
    tr.restore()
    tr.run()
    segs = load_checkpoint(tmp_path / "run" / "model.pt")[2]["segments"]
    assert [s["segment"] for s in segs] == [1, 2] and segs[1]["end_examples"] == 64


def test_frontier_check_counts_mass_and_nodes_held():
    import evaluate as E
    from tokenizer import WordTokenizer
    tok = WordTokenizer.default(compact=True)
    r = D.load_records(D.OFFICIAL_VALID)[0]
    layers = D.frontiers(r)
    sym = r["idx_to_symbol"]
    logits = []
    for layer in layers:
        z = torch.full((tok.vocab_size,), -30.0)
        for v in layer[:2]:                       # hold two frontier nodes at once, evenly
            z[tok.id(sym[v])] = 0.0
        logits.append(z)
    rows = E.frontier_rows(r, logits, tok, correct=True)
    assert [x["t"] for x in rows] == list(range(1, len(layers) + 1))
    for x, layer in zip(rows, layers):
        assert abs(x["mass"] - 1.0) < 1e-6 and x["held"] == min(2, len(layer))
    s = E.frontier_summary(rows)
    assert s["all"]["mean_frontier_mass"] == 1.0 and s["correct_records"]["thoughts"] == len(rows)
    if s["all"]["thoughts_with_two_or_more_frontier_nodes"]:
        assert s["all"]["share_holding_two_or_more"] == 1.0
    # compact steps parse like the sentences they stand for
    assert E._parse_step("wumpus yumpus.") == E._parse_step("Every wumpus is a yumpus.") == ("wumpus", "yumpus")


def test_sigterm_stops_cleanly_and_saves_state(tmp_path):
    """training/segment.sh's time limit and a session ending send SIGTERM: the run must save
    state.pt and exit 0, losing nothing since its last checkpoint."""
    import signal
    import time
    out = tmp_path / "run"
    cfg = _cpu_cfg(["stage_examples=[0,0,0,0,0,0,100000]", "eval.every_examples=0"])
    cfg_path = tmp_path / "cfg.json"
    cfg_path.write_text(json.dumps(cfg))
    proc = subprocess.Popen([sys.executable, str(ROOT / "training" / "train.py"), "--config", str(cfg_path),
                             "--out-dir", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("stage 6 step 3/"):
            proc.send_signal(signal.SIGTERM)
            break
    rest, _ = proc.communicate(timeout=120)
    log = "".join(lines) + rest
    assert proc.returncode == 0, log
    assert "signal 15: stopping" in log and "continue with --resume" in log
    st = torch.load(str(out / "state.pt"), map_location="cpu")
    assert st["step"] >= 3 and st["segments"][-1]["end_examples"] == 8 * st["step"]
