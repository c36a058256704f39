"""Where the official ProsQA validation set is, and reading and writing record files (a JSON list,
as the official set is, or JSON Lines). Generation (prosqa_data.py) keeps the official questions
out of what it writes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, List

REPO = Path(__file__).resolve().parent.parent


def _official_valid_path() -> Path:
    # The one place every tool finds the official validation set: data/prosqa/ in the repository
    # (data/prosqa/README.md), or $PROSQA_VALID. Nothing outside the repository is needed.
    env = os.environ.get("PROSQA_VALID")
    return Path(env) if env else REPO / "data" / "prosqa" / "prosqa_valid.json"


OFFICIAL_VALID = _official_valid_path()


def official_questions(path: Path = OFFICIAL_VALID) -> frozenset:
    """The official validation questions, which generated data must never contain."""
    if not Path(path).exists():
        raise FileNotFoundError(
            f"the official ProsQA validation set is not at {path}; it is needed to keep its "
            "questions out of the generated data. It ships in the repository as "
            "data/prosqa/prosqa_valid.json: restore it (git checkout -- data/prosqa), or point "
            "PROSQA_VALID at a copy")
    return frozenset(r["question"] for r in load_records(path))


def load_records(path) -> List[dict]:
    """A JSON list (official format) or JSON Lines file of records."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_records(path, records: Iterable[dict]) -> int:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        if path.suffix == ".json":
            f.write("[\n")
            for i, r in enumerate(records):
                f.write((",\n" if i else "") + json.dumps(r))
                n += 1
            f.write("\n]\n")
        else:
            for r in records:
                f.write(json.dumps(r) + "\n")
                n += 1
    os.replace(tmp, path)
    return n
