"""Shared test setup: thread limits (2 cores shared by everyone) and imports from training/."""

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
TRAINING = Path(__file__).resolve().parent.parent
REPO_ROOT = TRAINING.parent
sys.path.insert(0, str(TRAINING))

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(min(2, torch.get_num_threads()))

from prosqa_data import OFFICIAL_VALID as VALID_SET  # noqa: E402  data/prosqa/ or $PROSQA_VALID


@pytest.fixture(scope="session")
def valid_records():
    import json

    if not VALID_SET.is_file():
        pytest.fail(f"the official ProsQA validation set is expected at {VALID_SET}")
    return json.loads(VALID_SET.read_text(encoding="utf-8"))


def tiny_config(**kw):
    from model import GPTConfig
    import vocab

    base = dict(vocab_size=len(vocab.TOKENS), n_positions=64, n_layer=2, n_head=2, n_embd=32)
    base.update(kw)
    return GPTConfig(**base)


def random_model(seed=0, **kw):
    """A small GPT with a larger-than-GPT-2 init so outputs depend visibly on every input."""
    from model import GPT

    torch.manual_seed(seed)
    m = GPT(tiny_config(**kw))
    m.init_weights(std=0.3)
    return m.eval()
