import json
import shutil
import subprocess

import pytest

import vocab
from conftest import REPO_ROOT
from tokenizer import WordTokenizer, build_tokenizer_json, decode, encode, tokenizer_json_bytes


def test_vocabulary_layout():
    tj = build_tokenizer_json()
    v = tj["model"]["vocab"]
    assert v[vocab.EOS] == 0 and v[vocab.UNK] == 1
    n = len(vocab.TOKENS)
    assert [v[vocab.BOT], v[vocab.EOT], v[vocab.LATENT]] == [n - 3, n - 2, n - 1]
    assert sorted(v.values()) == list(range(n))
    added = {a["content"]: a for a in tj["added_tokens"]}
    for special in (vocab.EOS, vocab.UNK, vocab.BOT, vocab.EOT, vocab.LATENT):
        assert added[special]["special"] is True and added[special]["id"] == v[special]
    # Whole words only: no continuation pieces and no single letters besides the word "a".
    assert not any(t.startswith(tj["model"]["continuing_subword_prefix"]) for t in v)
    assert [t for t in v if len(t) == 1] == ["a", ".", "?", "\n"]
    assert len(vocab.NAMES) == 17 and len(vocab.CONCEPTS) == 38


def test_every_validation_text_round_trips_without_unk(valid_records):
    for r in valid_records:
        for text in [r["question"], r["answer"], *r["steps"]]:
            ids = encode(text)
            assert 1 not in ids, f"[UNK] in {text!r}"
            assert decode(ids) == text
        full = encode(r["question"] + "\n")
        assert full[-1] == vocab.TOKENS.index("\n") and 1 not in full


def test_unknown_word_is_one_unk():
    tok = WordTokenizer.default()
    ids = tok.encode("Tom is a blorpusx. Everyone?")
    assert ids == [tok.id("Tom"), tok.id("is"), tok.id("a"), 1, tok.id("."), 1, tok.id("?")]
    assert tok.unknown_words("Tom is a blorpusx. Everyone?") == ["blorpusx", "Everyone"]
    assert tok.encode("Tom  is\ta") == [tok.id("Tom"), tok.id("is"), tok.id("a")]
    assert tok.encode("x<|latent|>###") == [1, tok.id(vocab.LATENT), tok.id("###")]


def test_tokenizer_json_is_deterministic_and_loads_back():
    assert tokenizer_json_bytes() == tokenizer_json_bytes()
    tok = WordTokenizer(json.loads(tokenizer_json_bytes()))
    assert tok.vocab_size == len(vocab.TOKENS)


def test_rejects_foreign_tokenizer_files():
    tj = build_tokenizer_json()
    tj["model"]["type"] = "BPE"
    with pytest.raises(ValueError, match="WordPiece"):
        WordTokenizer(tj)


def _js_tokenize(tmp_path, texts, decode_ids, tok_json=None):
    if shutil.which("node") is None or not (REPO_ROOT / "node_modules" / "@huggingface" / "tokenizers").is_dir():
        pytest.skip("node and node_modules/@huggingface/tokenizers are needed for the JS parity check")
    path = tmp_path / "tokenizer.json"
    path.write_bytes(tokenizer_json_bytes(tok_json))
    proc = subprocess.run(["node", "training/tools/js_tokenize.mjs", str(path)], cwd=REPO_ROOT,
                          input=json.dumps({"texts": texts, "decode": decode_ids}),
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def test_js_library_encodes_and_decodes_identically(tmp_path, valid_records):
    texts = []
    for r in valid_records:
        texts += [r["question"] + "\n", r["answer"],
                  r["question"] + "\n" + "\n".join(r["steps"]) + "\n### " + r["answer"]]
    edge = ["Hello world!", "## #### a", "Tom<|latent|><|latent|>x[UNK]y", "é ü \u00a0 \x1c \ufeff 😀",
            "a\u2003b\r\nc\t.", "<|endoftext|>", "Everyone is a lempus.", "Is Tom a lempus or"]
    texts += edge
    tok = WordTokenizer.default()
    py_ids = [tok.encode(t) for t in texts]
    to_decode = [ids for ids in py_ids if ids] + [list(range(tok.vocab_size)), [0, 67, 47, 47]]
    js = _js_tokenize(tmp_path, texts, to_decode)
    mismatches = [(t, a, b) for t, a, b in zip(texts, py_ids, js["ids"]) if a != b]
    assert not mismatches, mismatches[:3]
    for ids in py_ids[: 3 * len(valid_records)]:
        assert 1 not in ids
    assert [tok.decode(ids) for ids in to_decode] == js["decoded"]


def test_compact_tokenizer_drops_template_words_and_matches_the_js_library(tmp_path, valid_records):
    full, compact = WordTokenizer.default(), WordTokenizer.default(compact=True)
    assert compact.tokenize("Every wumpus is a yumpus. Tom is a wumpus. Is Tom a yumpus or zumpus?") == \
        ["wumpus", "yumpus", ".", "Tom", "wumpus", ".", "Is", "Tom", "a", "yumpus", "or", "zumpus", "?"]
    r = valid_records[0]
    assert len(compact.encode(r["question"])) < 0.6 * len(full.encode(r["question"]))
    # what the model writes, and the record's answer once normalized, are the same text
    assert compact.decode(compact.encode("### " + r["answer"])) == "### " + compact.normalize(r["answer"])
    assert WordTokenizer(json.loads(tokenizer_json_bytes(build_tokenizer_json(compact=True)))).compact
    texts = []
    for rec in valid_records[:50]:
        texts += [rec["question"] + "\n", rec["answer"], "\n".join(rec["steps"]) + "\n### " + rec["answer"]]
    texts += ["Every<|latent|>Every x", "Everyone is a lempus.", "Every  wumpus is  a yumpus.", "this is a test"]
    py = [compact.encode(t) for t in texts]
    js = _js_tokenize(tmp_path, texts, [ids for ids in py if ids], build_tokenizer_json(compact=True))
    assert py == js["ids"]
    assert [compact.decode(ids) for ids in py if ids] == js["decoded"]
    bad = build_tokenizer_json()
    bad["normalizer"] = {"type": "Lowercase"}
    with pytest.raises(ValueError, match="Replace normalizers"):
        WordTokenizer(bad)
