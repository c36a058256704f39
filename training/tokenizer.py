"""The ProsQA whole-word tokenizer: a Hugging Face `tokenizer.json` and a Python twin of it.

The engine tokenizes with @huggingface/tokenizers 0.2.0 (JS), which has no WordLevel model, so the
file uses a WordPiece model whose vocabulary holds only whole words: an unknown word cannot be
spelled from pieces and becomes exactly one [UNK], which the engine can report.

`WordTokenizer.encode` re-implements, step for step, what the JS library does with this file:
  1. split the text around added (special) tokens, longest match first, scanning left to right;
  2. in the other sections, keep every match of PRE_TOKENIZER_REGEX (whitespace is dropped);
  3. look each piece up; a miss is [UNK].
`decode` mirrors the JS WordPiece decoder with cleanup, followed by the library's default
`clean_up_tokenization_spaces`.

Command line: `python3 training/tokenizer.py --out tokenizer.json` writes the file.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Union

try:  # imported as `training.tokenizer` or, from training/, as `tokenizer`
    from . import vocab as _vocab
except ImportError:  # pragma: no cover - script use
    import vocab as _vocab

# The pattern as stored in tokenizer.json (oniguruma/JS syntax; `\s` is rewritten by the JS
# library to \p{White_Space}).
PRE_TOKENIZER_PATTERN = r"\n|###|[A-Za-z]+|[^\sA-Za-z]"

# Python's `\s` is not Unicode White_Space (it adds U+001C..U+001F), so spell the JS class out.
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
PRE_TOKENIZER_REGEX = re.compile(r"\n|###|[A-Za-z]+|[^" + _WHITE_SPACE + r"A-Za-z]")

# "##" (the usual WordPiece prefix) cannot be used: the decoder would read the vocabulary word
# "###" as a continuation piece "#" and glue it to the previous word. The vocabulary has no
# continuation pieces at all, so any prefix that starts no word works; this one is fastBPE's.
CONTINUING_SUBWORD_PREFIX = "@@"

SPECIAL_TOKENS = (_vocab.EOS, _vocab.UNK, _vocab.BOT, _vocab.EOT, _vocab.LATENT)

# The compact normalizer drops the template words that carry no information, so a fact is
# "subject object ." (3 tokens instead of 6) and a ProsQA question is half as long: attention,
# which dominates training on the CPU, costs a quarter. The prompt the user writes stays the ProsQA
# text; the model reads and writes the compact form ("Tom is a wumpus." -> "Tom wumpus.").
# Literal String patterns only: the JS library and Python replace them identically.
COMPACT_REPLACEMENTS = (("Every ", ""), (" is a ", " "))


def compact_normalizer() -> dict:
    return {"type": "Sequence", "normalizers": [
        {"type": "Replace", "pattern": {"String": a}, "content": b} for a, b in COMPACT_REPLACEMENTS]}


def _parse_normalizer(spec: Optional[dict]) -> List[tuple]:
    """The literal replacements of a normalizer this module can mirror, or a clear error."""
    if spec is None:
        return []
    items = spec.get("normalizers", []) if spec.get("type") == "Sequence" else [spec]
    out = []
    for n in items:
        pat = (n or {}).get("pattern") or {}
        if n.get("type") != "Replace" or set(pat) != {"String"}:
            raise ValueError("tokenizer.json: the Python encoder mirrors only Replace normalizers "
                             "with String patterns (optionally in a Sequence); got "
                             f"{json.dumps(n)}")
        out.append((pat["String"], n.get("content", "")))
    return out


def build_tokenizer_json(tokens: Sequence[str] = _vocab.TOKENS, compact: bool = False) -> dict:
    """The tokenizer.json content for `tokens` (id = index). Special tokens are the vocab module's.
    compact: add the normalizer that drops the ProsQA template words (COMPACT_REPLACEMENTS)."""
    for special in SPECIAL_TOKENS:
        if special not in tokens:
            raise ValueError(f"special token {special!r} is missing from the token list")
    for t in tokens:
        if t.startswith(CONTINUING_SUBWORD_PREFIX):
            raise ValueError(f"token {t!r} starts with the continuation prefix "
                             f"{CONTINUING_SUBWORD_PREFIX!r}; the decoder would mangle it")
        if t not in SPECIAL_TOKENS and PRE_TOKENIZER_REGEX.fullmatch(t) is None:
            raise ValueError(f"token {t!r} is not one pre-tokenizer piece, so it could never be "
                             "produced by encoding; fix the vocabulary")
    vocab_map = {t: i for i, t in enumerate(tokens)}
    added = [
        {"id": vocab_map[t], "content": t, "single_word": False, "lstrip": False,
         "rstrip": False, "normalized": False, "special": True}
        for t in sorted(SPECIAL_TOKENS, key=lambda s: vocab_map[s])
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": compact_normalizer() if compact else None,
        "pre_tokenizer": {
            "type": "Split",
            "pattern": {"Regex": PRE_TOKENIZER_PATTERN},
            "behavior": "Removed",
            "invert": True,
        },
        "post_processor": None,
        "decoder": {"type": "WordPiece", "prefix": CONTINUING_SUBWORD_PREFIX, "cleanup": True},
        "model": {
            "type": "WordPiece",
            "unk_token": _vocab.UNK,
            "continuing_subword_prefix": CONTINUING_SUBWORD_PREFIX,
            "max_input_chars_per_word": 100,
            "vocab": vocab_map,
        },
    }


def tokenizer_json_bytes(tok_json: Optional[dict] = None) -> bytes:
    """Deterministic serialization (stable key order, UTF-8, trailing newline)."""
    tok_json = build_tokenizer_json() if tok_json is None else tok_json
    return (json.dumps(tok_json, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _clean_up_tokenization(text: str) -> str:
    # Same replacements, in the same order, as the JS library's clean_up_tokenization.
    for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"),
                 (" n't", "n't"), (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(a, b)
    return text


def split_on_added_tokens(text: str, added: Iterable[str]) -> List[str]:
    """Splits `text` around added tokens as the JS library does: a left-to-right scan taking the
    longest added token that starts at each position. Returns the pieces, added tokens included."""
    out, start, i, n = [], 0, 0, len(text)
    by_first: Dict[str, List[str]] = {}
    for t in added:
        if t:
            by_first.setdefault(t[0], []).append(t)
    while i < n:
        match = None
        for t in by_first.get(text[i], ()):
            if text.startswith(t, i) and (match is None or len(t) > len(match)):
                match = t
        if match:
            if i > start:
                out.append(text[start:i])
            out.append(match)
            i += len(match)
            start = i
        else:
            i += 1
    if start < n:
        out.append(text[start:])
    return out


class WordTokenizer:
    """Encodes/decodes exactly like @huggingface/tokenizers does with a file from build_tokenizer_json."""

    def __init__(self, tok_json: dict):
        model = tok_json.get("model") or {}
        if model.get("type") != "WordPiece":
            raise ValueError("tokenizer.json: only the whole-word WordPiece tokenizer written by "
                             "training/tokenizer.py is supported here; rebuild it with "
                             "`python3 training/tokenizer.py --out tokenizer.json`")
        pre = tok_json.get("pre_tokenizer") or {}
        if pre.get("type") != "Split" or pre.get("pattern") != {"Regex": PRE_TOKENIZER_PATTERN} \
                or pre.get("invert") is not True:
            raise ValueError("tokenizer.json: unexpected pre_tokenizer; the Python encoder only "
                             f"mirrors Split on {PRE_TOKENIZER_PATTERN!r} with invert=true")
        self.replacements = _parse_normalizer(tok_json.get("normalizer"))
        self.json = tok_json
        self.token_to_id: Dict[str, int] = dict(model["vocab"])
        self.unk_token: str = model["unk_token"]
        self.prefix: str = model.get("continuing_subword_prefix", CONTINUING_SUBWORD_PREFIX)
        self.max_chars: int = model.get("max_input_chars_per_word", 100)
        self.added: Dict[str, int] = {}
        self.special: set = set()
        for a in tok_json.get("added_tokens", []):
            self.token_to_id[a["content"]] = a["id"]
            self.added[a["content"]] = a["id"]
            if a.get("special"):
                self.special.add(a["content"])
        size = max(self.token_to_id.values()) + 1
        self.id_to_token: List[Optional[str]] = [None] * size
        for t, i in self.token_to_id.items():
            self.id_to_token[i] = t
        if self.unk_token not in self.token_to_id:
            raise ValueError(f"tokenizer.json: unk_token {self.unk_token!r} is not in the vocabulary")
        self.unk_id = self.token_to_id[self.unk_token]
        decoder = tok_json.get("decoder") or {}
        self.decoder_prefix = decoder.get("prefix", self.prefix)
        self.decoder_cleanup = bool(decoder.get("cleanup", True))

    @classmethod
    def from_file(cls, path: Union[str, Path]) -> "WordTokenizer":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def default(cls, compact: bool = False) -> "WordTokenizer":
        return cls(build_tokenizer_json(compact=compact))

    @property
    def compact(self) -> bool:
        return bool(self.replacements)

    def normalize(self, text: str) -> str:
        """The normalizer applied to text outside added tokens (as the JS library does)."""
        for a, b in self.replacements:
            text = text.replace(a, b)
        return text

    @property
    def vocab_size(self) -> int:
        return len(self.id_to_token)

    def id(self, token: str) -> int:
        if token not in self.token_to_id:
            raise KeyError(f"token {token!r} is not in the vocabulary")
        return self.token_to_id[token]

    def _split_added(self, text: str) -> List[str]:
        return split_on_added_tokens(text, self.added)

    def _wordpiece(self, word: str) -> List[str]:
        if len(word) > self.max_chars:
            return [self.unk_token]
        pieces, start = [], 0
        while start < len(word):
            end, cur = len(word), None
            while start < end:
                sub = word[start:end] if start == 0 else self.prefix + word[start:end]
                if sub in self.token_to_id:
                    cur = sub
                    break
                end -= 1
            if cur is None:
                return [self.unk_token]
            pieces.append(cur)
            start = end
        return pieces

    def tokenize(self, text: str) -> List[str]:
        tokens: List[str] = []
        for section in self._split_added(text):
            if section in self.added:
                tokens.append(section)
                continue
            for word in PRE_TOKENIZER_REGEX.findall(self.normalize(section)):
                tokens.extend(self._wordpiece(word))
        return tokens

    def encode(self, text: str) -> List[int]:
        return [self.token_to_id.get(t, self.unk_id) for t in self.tokenize(text)]

    def unknown_words(self, text: str) -> List[str]:
        """The pre-tokenizer pieces of `text` that would become [UNK] (for error messages)."""
        bad = []
        for section in self._split_added(text):
            if section not in self.added:
                bad.extend(w for w in PRE_TOKENIZER_REGEX.findall(self.normalize(section))
                           if self._wordpiece(w) == [self.unk_token])
        return bad

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        tokens = []
        for i in ids:
            i = int(i)
            t = self.id_to_token[i] if 0 <= i < len(self.id_to_token) else None
            tokens.append(self.unk_token if t is None else t)
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self.special]
        parts = []
        for j, t in enumerate(tokens):
            if j != 0:
                if self.decoder_prefix and t.startswith(self.decoder_prefix):
                    t = t.replace(self.decoder_prefix, "", 1)
                else:
                    t = " " + t
            if self.decoder_cleanup:
                t = _clean_up_tokenization(t)
            parts.append(t)
        return _clean_up_tokenization("".join(parts))


_DEFAULT: Optional[WordTokenizer] = None


def _default() -> WordTokenizer:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = WordTokenizer.default()
    return _DEFAULT


def encode(text: str) -> List[int]:
    """Ids of `text` under the ProsQA tokenizer (identical to the JS library's `encode(...).ids`)."""
    return _default().encode(text)


def decode(ids: Iterable[int], skip_special_tokens: bool = False) -> str:
    """Text of `ids`, as the JS library's `decode(ids)` returns it (default options)."""
    return _default().decode(ids, skip_special_tokens=skip_special_tokens)


def main(argv: Optional[Sequence[str]] = None) -> None:
    ap = argparse.ArgumentParser(description="Write the ProsQA tokenizer.json")
    ap.add_argument("--out", required=True, help="path of the tokenizer.json to write")
    ap.add_argument("--compact", action="store_true", help="drop the template words (normalizer)")
    args = ap.parse_args(argv)
    Path(args.out).write_bytes(tokenizer_json_bytes(build_tokenizer_json(compact=args.compact)))
    print(f"wrote {args.out} ({len(_vocab.TOKENS)} tokens)")


if __name__ == "__main__":
    main()
