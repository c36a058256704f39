"""A Python twin of @huggingface/tokenizers (JS, 0.2.0) for byte-level BPE files such as GPT-2's.

The reference Coconut code trains GPT-2 with its byte-level BPE tokenizer, so an imported model ships
that `tokenizer.json`. `reference.py` must produce the same token ids and answer texts as the engine,
so `ByteLevelBPETokenizer` follows what the JS library does with such a file:
  1. split the text around added tokens (longest match, left to right; lstrip/rstrip honoured);
  2. split the other sections with GPT-2's pattern (letters, numbers, other, whitespace runs);
  3. map each piece's UTF-8 bytes to GPT-2's printable byte alphabet and apply the merges, lowest
     rank first, ties to the leftmost pair;
  4. decode: added tokens verbatim, other tokens back to bytes, UTF-8 with U+FFFD for bad bytes,
     then the library's default clean-up of spaces before punctuation.

`tokenizer_for(json)` picks this class or tokenizer.py's `WordTokenizer` by the file's model type.
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

try:
    from .tokenizer import WordTokenizer, _clean_up_tokenization, split_on_added_tokens
except ImportError:  # pragma: no cover - script use
    from tokenizer import WordTokenizer, _clean_up_tokenization, split_on_added_tokens

# JavaScript's `\s` (WhiteSpace + LineTerminator), which differs from Python's str.isspace().
JS_WHITE_SPACE = ("\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
                  "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff")


def bytes_to_unicode() -> Dict[int, str]:
    """GPT-2's reversible byte -> printable character table."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1))
                 + list(range(0xAE, 0xFF + 1)))
    table = {b: chr(b) for b in printable}
    n = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + n)
            n += 1
    return table


BYTE_ENCODER = bytes_to_unicode()
BYTE_DECODER = {c: b for b, c in BYTE_ENCODER.items()}

_PATTERN: Optional["re.Pattern[str]"] = None


def _class_of(prefix: str) -> str:
    """A regex character class body with every code point whose general category starts with
    `prefix` (Python's `re` has no \\p{..}); built once, from this Python's Unicode tables."""
    parts, start, prev = [], None, None
    for cp in range(0x110000):
        if unicodedata.category(chr(cp)).startswith(prefix):
            if start is None:
                start = cp
            prev = cp
        elif start is not None:
            parts.append((start, prev))
            start = None
    if start is not None:
        parts.append((start, prev))
    esc = lambda cp: "\\U%08x" % cp  # noqa: E731
    return "".join(esc(a) if a == b else f"{esc(a)}-{esc(b)}" for a, b in parts)


def gpt2_pattern() -> "re.Pattern[str]":
    """GPT-2's pre-tokenizer pattern, as the JS library writes it (with the `u` flag)."""
    global _PATTERN
    if _PATTERN is None:
        letters, numbers = _class_of("L"), _class_of("N")
        ws = "".join("\\u%04x" % ord(c) for c in JS_WHITE_SPACE)
        _PATTERN = re.compile(
            r"'s|'t|'re|'ve|'m|'ll|'d"
            rf"| ?[{letters}]+| ?[{numbers}]+| ?[^{ws}{letters}{numbers}]+"
            rf"|[{ws}]+(?![^{ws}])|[{ws}]+")
    return _PATTERN


class ByteLevelBPETokenizer:
    """Encodes/decodes like @huggingface/tokenizers with a byte-level BPE tokenizer.json."""

    def __init__(self, tok_json: dict):
        model = tok_json.get("model") or {}
        if model.get("type") != "BPE":
            raise ValueError(f"tokenizer.json: model.type is {model.get('type')!r}, expected 'BPE'")
        pre = tok_json.get("pre_tokenizer") or {}
        if pre.get("type") != "ByteLevel":
            raise ValueError("tokenizer.json: only the ByteLevel pre-tokenizer (GPT-2's) is mirrored "
                             f"in Python, found {pre.get('type')!r}")
        if tok_json.get("normalizer") is not None:
            raise ValueError("tokenizer.json: a normalizer is not supported by the Python encoder "
                             "(GPT-2's tokenizer has none)")
        for key in ("end_of_word_suffix", "continuing_subword_suffix", "continuing_subword_prefix"):
            if model.get(key):
                raise ValueError(f"tokenizer.json: model.{key} {model[key]!r} is not supported "
                                 "(GPT-2's tokenizer has none)")
        if model.get("byte_fallback"):
            raise ValueError("tokenizer.json: model.byte_fallback is not supported (GPT-2's is false)")
        self.json = tok_json
        self.add_prefix_space = bool(pre.get("add_prefix_space", False))
        self.use_regex = bool(pre.get("use_regex", True))
        self.ignore_merges = bool(model.get("ignore_merges", False))
        self.token_to_id: Dict[str, int] = dict(model.get("vocab") or {})
        merges = model.get("merges") or []
        pairs = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in merges]
        self.ranks: Dict[Tuple[str, str], int] = {}
        for i, p in enumerate(pairs):
            self.ranks.setdefault((p[0], p[1]), i)
        self.unk_token: Optional[str] = model.get("unk_token")
        self.added: Dict[str, dict] = {}
        self.special: set = set()
        for a in tok_json.get("added_tokens", []):
            self.token_to_id[a["content"]] = a["id"]
            self.added[a["content"]] = a
            if a.get("special"):
                self.special.add(a["content"])
        size = max(self.token_to_id.values()) + 1 if self.token_to_id else 0
        self.id_to_token: List[Optional[str]] = [None] * size
        for t, i in self.token_to_id.items():
            self.id_to_token[i] = t
        self.has_decoder = tok_json.get("decoder") is not None
        self._cache: Dict[str, List[str]] = {}

    @classmethod
    def from_file(cls, path: Union[str, Path]) -> "ByteLevelBPETokenizer":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    @property
    def vocab_size(self) -> int:
        return len(self.id_to_token)

    def id(self, token: str) -> int:
        if token not in self.token_to_id:
            raise KeyError(f"token {token!r} is not in the vocabulary")
        return self.token_to_id[token]

    # -- encoding ------------------------------------------------------------------------------

    def _split_added(self, text: str) -> List[str]:
        out = split_on_added_tokens(text, self.added)
        # lstrip/rstrip of an added token eat the whitespace next to it (JS trimEnd/trimStart).
        for j, s in enumerate(out):
            a = self.added.get(s)
            if a is None:
                continue
            if a.get("lstrip") and j > 0 and out[j - 1] not in self.added:
                out[j - 1] = out[j - 1].rstrip(JS_WHITE_SPACE)
            if a.get("rstrip") and j + 1 < len(out) and out[j + 1] not in self.added:
                out[j + 1] = out[j + 1].lstrip(JS_WHITE_SPACE)
        return out

    def pre_tokenize(self, text: str) -> List[str]:
        if self.add_prefix_space and not text.startswith(" "):
            text = " " + text
        pieces = gpt2_pattern().findall(text) if self.use_regex else [text]
        return ["".join(BYTE_ENCODER[b] for b in p.encode("utf-8")) for p in pieces]

    def bpe(self, piece: str) -> List[str]:
        if piece in self._cache:
            return self._cache[piece]
        word = list(piece)
        while len(word) > 1:
            best, best_rank = None, None
            for i in range(len(word) - 1):
                r = self.ranks.get((word[i], word[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = (word[i], word[i + 1]), r
            if best is None:
                break
            merged, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = merged
        self._cache[piece] = word
        return word

    def _model(self, piece: str) -> List[str]:
        if self.ignore_merges and piece in self.token_to_id:
            return [piece]
        out = []
        for t in self.bpe(piece):
            if t in self.token_to_id:
                out.append(t)
            elif self.unk_token is not None:
                out.append(self.unk_token)
            # else: the JS library drops a piece it cannot represent
        return out

    def tokenize(self, text: str) -> List[str]:
        tokens: List[str] = []
        for section in self._split_added(text):
            if not section:
                continue
            if section in self.added:
                tokens.append(section)
                continue
            for piece in self.pre_tokenize(section):
                tokens.extend(self._model(piece))
        return tokens

    def encode(self, text: str) -> List[int]:
        unk = self.token_to_id.get(self.unk_token) if self.unk_token is not None else None
        return [self.token_to_id.get(t, unk) for t in self.tokenize(text)]

    def unknown_words(self, text: str) -> List[str]:
        """Pieces that would become the unknown token (none for a complete byte alphabet)."""
        bad = []
        for section in self._split_added(text):
            if section and section not in self.added:
                for piece in self.pre_tokenize(section):
                    if any(t not in self.token_to_id for t in self.bpe(piece)):
                        bad.append(piece)
        return bad

    # -- decoding ------------------------------------------------------------------------------

    def _bytes_to_text(self, tokens: Sequence[str]) -> str:
        # A character outside the byte alphabet becomes byte 0, as in the JS Uint8Array conversion.
        data = bytes(BYTE_DECODER.get(c, 0) for c in "".join(tokens))
        return data.decode("utf-8", errors="replace")

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        tokens: List[str] = []
        for i in ids:
            i = int(i)
            t = self.id_to_token[i] if 0 <= i < len(self.id_to_token) else None
            tokens.append(t if t is not None else (self.unk_token or ""))
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self.special]
        if not self.has_decoder:
            return _clean_up_tokenization(" ".join(tokens))
        parts, run = [], []
        for t in tokens:
            if t in self.added:
                if run:
                    parts.append(self._bytes_to_text(run))
                    run = []
                parts.append(t)
            else:
                run.append(t)
        if run:
            parts.append(self._bytes_to_text(run))
        return _clean_up_tokenization("".join(parts))


AnyTokenizer = Union[WordTokenizer, ByteLevelBPETokenizer]


def tokenizer_for(tok_json: dict) -> AnyTokenizer:
    """The Python encoder matching a tokenizer.json: WordPiece (ProsQA) or byte-level BPE (GPT-2)."""
    kind = (tok_json.get("model") or {}).get("type")
    if kind == "WordPiece":
        return WordTokenizer(tok_json)
    if kind == "BPE":
        return ByteLevelBPETokenizer(tok_json)
    raise ValueError(f"tokenizer.json: model.type {kind!r} has no Python encoder here; supported: "
                     "WordPiece (training/tokenizer.py) and byte-level BPE (GPT-2)")


def tokenizer_from_file(path: Union[str, Path]) -> AnyTokenizer:
    return tokenizer_for(json.loads(Path(path).read_text(encoding="utf-8")))


if __name__ == "__main__":  # pragma: no cover - manual check: encode argv[2] with argv[1]
    tok = tokenizer_from_file(sys.argv[1])
    ids = tok.encode(sys.argv[2])
    print(ids, repr(tok.decode(ids)))
