import json
import subprocess
import sys

import pytest
import torch

from conftest import REPO_ROOT
from schedule import MIN_SEGMENT, minutes_done, next_segment, parse_phases, phases_of

CONFIGS = REPO_ROOT / "training" / "configs"


def test_phases_parse_and_pick_the_next_segment():
    phases = parse_phases("142:1e-3,150:3e-4,180:1e-4")
    assert phases == [(142.0, 1e-3), (150.0, 3e-4), (180.0, 1e-4)]
    assert next_segment(phases, 0.0) == (142.0, 1e-3)
    assert next_segment(phases, 100.0) == (42.0, 1e-3)
    assert next_segment(phases, 142.0) == (8.0, 3e-4)
    assert next_segment(phases, 179.9995) is None
    # a segment that stopped seconds short of a boundary: the next phase, not a 0-minute segment
    minutes, lr = next_segment(phases, 141.95)
    assert lr == 3e-4 and minutes == pytest.approx(8.05)
    assert next_segment(phases, 200.0) is None
    with pytest.raises(ValueError):
        parse_phases("150:1e-3,142:3e-4")


def test_phases_copied_from_a_run_log(tmp_path):
    rows = [{"lr": 1e-3, "elapsed_min": t} for t in (0.5, 50.0, 100.0)]
    rows += [{"eval": True, "elapsed_min": 100.5, "accuracy": 0.5}]
    rows += [{"lr": 1e-4, "elapsed_min": t} for t in (101.0, 130.0)]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert phases_of(tmp_path) == [(100.0, 1e-3), (130.0, 1e-4)]
    assert minutes_done(tmp_path) == 130.0


def test_runs_each_phase_at_its_lr_and_resumes(tmp_path):
    """A real tiny run through two phases of ~20 s each: each segment logs its own lr, and the run's
    minutes reach the last boundary."""
    out = tmp_path / "run"
    cfg = tmp_path / "tiny.json"
    c = json.loads((CONFIGS / "tiny.json").read_text())
    c["data"].update({"source": "stream", "workers": 0, "gen": {"chunk": 50}})
    c.update({"log_every_steps": 1, "batch_size": 8, "stage_examples": [100000] * 7})
    c["eval"]["every_examples"] = 0
    c["optim"]["warmup_steps"] = 0  # the logged lr is then the phase's own
    cfg.write_text(json.dumps(c))
    res = subprocess.run([sys.executable, str(REPO_ROOT / "training" / "schedule.py"), "--config", str(cfg),
                          "--out-dir", str(out), "--phases", "0.3:1e-3,0.6:1e-4"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "schedule complete" in res.stdout
    segments = torch.load(str(out / "state.pt"), map_location="cpu")["segments"]
    assert [s["lr"] for s in segments] == [1e-3, 1e-4]
    assert segments[1]["start_minutes"] >= 0.3 - MIN_SEGMENT
    assert minutes_done(out) >= 0.6 - MIN_SEGMENT
