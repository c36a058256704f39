"""The ProsQA generator: graph validity, official sentence forms, calibration against the official
validation set, determinism, and exclusion of official questions.

Run: /usr/bin/python3 -m pytest training/tests/test_data.py
"""

import collections
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

import prosqa_data as D  # noqa: E402
from prosqa_stats import summarize, validate_record  # noqa: E402
import vocab as V  # noqa: E402

FACT = re.compile(r"^(Every ([a-z]+) is a ([a-z]+)|([A-Z][a-z]+) is a ([a-z]+))\.$")
QUERY = re.compile(r" Is ([A-Z][a-z]+) a ([a-z]+) or ([a-z]+)\?$")


@pytest.fixture(scope="module")
def official():
    return D.load_records(D.OFFICIAL_VALID)


@pytest.fixture(scope="module")
def generated():
    return list(D.generate(2000, seed=11))


def test_official_records_pass_the_validator(official):
    # The validator itself is checked on the real data before it judges generated data.
    assert len(official) == 300
    for r in official:
        validate_record(r)


def test_validator_rejects_broken_records(official):
    r = json.loads(json.dumps(official[0]))
    r["steps"] = r["steps"][:-1]
    with pytest.raises(ValueError, match="steps"):
        validate_record(r)
    r = json.loads(json.dumps(official[0]))
    r["neg_target"] = r["target"]
    with pytest.raises(ValueError, match="neg_target reachable"):
        validate_record(r)
    r = json.loads(json.dumps(official[0]))
    r["steps"][1] = "Every zumpus is a wumpus."
    with pytest.raises(ValueError):
        validate_record(r)


def test_generated_graphs_are_valid(generated):
    for r in generated:
        validate_record(r)
        n = len(r["idx_to_symbol"])
        root, other = r["root"], 1 - r["root"]
        assert {root, other} == {0, 1}
        from_root, _ = D.bfs(n, r["edges"], root)
        from_other, _ = D.bfs(n, r["edges"], other)
        # the answer is reachable from the root and not from the other start node;
        # the wrong option the other way round
        assert r["target"] in from_root and r["target"] not in from_other
        assert r["neg_target"] in from_other and r["neg_target"] not in from_root
        # both options are leaves; the target is the farthest such leaf, as in every official record
        parents_of = {a for a, _ in r["edges"]}
        assert r["target"] not in parents_of and r["neg_target"] not in parents_of
        leaves = [v for v in from_root if v not in parents_of and v not in from_other]
        assert from_root[r["target"]] == max(from_root[v] for v in leaves)
        # a DAG in construction order, no duplicate edges
        assert all(a < b for a, b in r["edges"])
        assert len({tuple(e) for e in r["edges"]}) == len(r["edges"])


def test_steps_are_a_shortest_path_of_existing_edges(generated):
    for r in generated[:500]:
        sym = r["idx_to_symbol"]
        idx = {s: i for i, s in enumerate(sym)}
        edges = {tuple(e) for e in r["edges"]}
        dist, _ = D.bfs(len(sym), r["edges"], r["root"])
        node = r["root"]
        for s in r["steps"]:
            m = FACT.match(s)
            assert m, s
            a, b = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5))
            assert idx[a] == node and (idx[a], idx[b]) in edges
            node = idx[b]
        assert node == r["target"] and len(r["steps"]) == dist[r["target"]]


def test_sentences_and_vocabulary_are_the_official_ones(generated, official):
    names, concepts = set(V.NAMES), set(V.CONCEPTS)
    for r in generated[:500]:
        m = QUERY.search(r["question"])
        assert m, r["question"][-60:]
        sym = r["idx_to_symbol"]
        assert m.group(1) == sym[r["root"]]
        assert {m.group(2), m.group(3)} == {sym[r["target"]], sym[r["neg_target"]]}
        facts = r["question"][: m.start()].split(". ")
        assert len(facts) == len(r["edges"])
        for f in facts:
            assert FACT.match(f if f.endswith(".") else f + "."), f
        assert r["answer"] == f"{sym[r['root']]} is a {sym[r['target']]}."
        for i, s in enumerate(sym):
            parentless = all(b != i for _, b in r["edges"])
            assert (s in names) if parentless else (s in concepts), s
        assert len(set(sym)) == len(sym)
    # both option orders occur
    first_is_target = sum(QUERY.search(r["question"]).group(2) == r["idx_to_symbol"][r["target"]]
                          for r in generated)
    assert 0.4 < first_is_target / len(generated) < 0.6
    # same keys as the official schema
    assert set(generated[0]) == set(official[0])


def test_statistics_match_the_official_set(generated, official):
    g, o = summarize(generated), summarize(official)
    tol = {"nodes": 0.6, "edges": 1.5, "names": 0.25, "shortest_path": 0.1,
           "n_shortest_paths": 0.15, "question_words": 6.0}
    for key, t in tol.items():
        assert abs(g[key]["mean"] - o[key]["mean"]) <= t, (key, g[key], o[key])
    assert g["nodes"]["min"] >= 17 and g["nodes"]["max"] <= 28
    assert set(g["steps_hist"]) == {3, 4, 5, 6}
    for k, share in o["steps_hist"].items():
        assert abs(g["steps_hist"][k] - share) <= 0.02, (k, g["steps_hist"], o["steps_hist"])


def test_seeded_and_chunked_deterministically():
    a = list(D.generate(120, seed=5, cfg=D.GenConfig(chunk=50)))
    b = list(D.generate(120, seed=5, cfg=D.GenConfig(chunk=50)))
    c = list(D.generate(120, seed=6, cfg=D.GenConfig(chunk=50)))
    assert a == b and a != c and len(a) == 120
    # chunk i of a stream is the same wherever the generation starts (what resuming relies on)
    tail = list(D.generate(70, seed=5, cfg=D.GenConfig(chunk=50), first_chunk=1))
    assert tail[:50] == a[50:100]


def test_worker_processes_give_the_same_records():
    cfg = D.GenConfig(chunk=40)
    assert list(D.generate(100, seed=3, cfg=cfg, workers=2)) == list(D.generate(100, seed=3, cfg=cfg))


def test_official_questions_are_dropped():
    cfg = D.GenConfig(chunk=30)
    first = D.generate_chunk(9, 0, cfg, exclude=frozenset())
    banned = frozenset(r["question"] for r in first[:5])
    again = D.generate_chunk(9, 0, cfg, exclude=banned)
    assert len(again) == 30
    assert not banned & {r["question"] for r in again}
    # the default exclusion set is the official validation questions
    assert D.official_questions() == frozenset(r["question"] for r in D.load_records(D.OFFICIAL_VALID))


def test_missing_official_set_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="PROSQA_VALID"):
        D.official_questions(tmp_path / "nope.json")


def test_other_graph_sizes_and_step_histograms():
    # the graph-size curriculum uses smaller graphs and shorter paths
    cfg = D.GenConfig.from_dict({"nodes_mean": 10, "nodes_sd": 1.5, "nodes_min": 7, "nodes_max": 13,
                                 "steps_hist": {"1": 0.25, "2": 0.35, "3": 0.3, "4": 0.1}, "chunk": 100})
    recs = D.generate_chunk(1, 0, cfg, exclude=frozenset())
    hist = collections.Counter(len(r["steps"]) for r in recs)
    assert hist == {1: 25, 2: 35, 3: 30, 4: 10}
    for r in recs:
        validate_record(r)
        assert 7 <= len(r["idx_to_symbol"]) <= 13
    with pytest.raises(ValueError, match="unknown generator option"):
        D.GenConfig.from_dict({"nodes": 3})


def test_frontiers_are_bfs_layers(official):
    r = official[0]
    fr = D.frontiers(r)
    dist, _ = D.bfs(len(r["idx_to_symbol"]), r["edges"], r["root"])
    assert [sorted(v for v, d in dist.items() if d == i) for i in range(1, len(fr) + 1)] == fr
    assert r["target"] in fr[len(r["steps"]) - 1]


def test_cli_generate_and_stats(tmp_path):
    out = tmp_path / "g.jsonl"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run([sys.executable, str(ROOT / "training/prosqa_data.py"), "generate", "--n", "60",
                    "--seed", "2", "--out", str(out)], check=True, env=env, capture_output=True)
    assert len(D.load_records(out)) == 60
    js = tmp_path / "g.json"
    subprocess.run([sys.executable, str(ROOT / "training/prosqa_data.py"), "generate", "--n", "10",
                    "--seed", "2", "--out", str(js)], check=True, env=env, capture_output=True)
    assert isinstance(json.loads(js.read_text()), list)
    res = subprocess.run([sys.executable, str(ROOT / "training/prosqa_data.py"), "stats", str(out)],
                         check=True, env=env, capture_output=True, text=True)
    head = res.stdout.splitlines()[0]
    assert "g.jsonl" in head and "official valid" in head
    for key in ("nodes (mean)", "edges (mean)", "shortest_path (mean)", "n_shortest_paths (mean)",
                "steps = 3", "steps = 6"):
        assert key in res.stdout
