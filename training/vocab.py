"""The ProsQA vocabulary, hard-coded so training, export and tests agree without reading data.

Extracted once from the official validation set (data/prosqa/prosqa_valid.json): every word of
every question, step and answer is one of these. The order below fixes the token ids (see
tokenizer.py): EOS, [UNK], NAMES, CONCEPTS, SENTENCE_WORDS, STRUCTURE_TOKENS, then the three
Coconut specials.
"""

# The 17 person names of official ProsQA (parentless graph nodes).
NAMES = [
    "Alex", "Bob", "Carol", "Davis", "Eva", "Fae", "Gabriel", "Jack", "Max", "Oliver",
    "Polly", "Rex", "Sally", "Sam", "Stella", "Tom", "Wren",
]

# The 38 ProntoQA-style concept words of official ProsQA valid/test, sorted.
CONCEPTS = [
    "bompus", "boompus", "brimpus", "chorpus", "dumpus", "felpus", "fompus", "gerpus",
    "gorpus", "grimpus", "gwompus", "hilpus", "impus", "jelpus", "jompus", "kerpus",
    "lempus", "lorpus", "numpus", "quimpus", "rempus", "rompus", "rorpus", "scrompus",
    "shumpus", "sterpus", "storpus", "terpus", "timpus", "tumpus", "vumpus", "worpus",
    "wumpus", "yerpus", "yimpus", "yumpus", "zhorpus", "zumpus",
]

# Words and punctuation of the sentence templates ("Every X is a Y.", "Name is a Y.",
# "Is Name a A or B?").
SENTENCE_WORDS = ["Every", "is", "a", "Is", "or", ".", "?"]

# Layout tokens of a Coconut training example: question + "\n", steps + "\n", "### " + answer.
STRUCTURE_TOKENS = ["\n", "###"]

EOS = "<|endoftext|>"
UNK = "[UNK]"
BOT = "<|start-latent|>"
EOT = "<|end-latent|>"
LATENT = "<|latent|>"

# All ordinary words in id order (ids 2 .. 2 + len(WORDS) - 1).
WORDS = NAMES + CONCEPTS + SENTENCE_WORDS + STRUCTURE_TOKENS

# The complete token list in id order; the Coconut specials come last, mirroring GPT-2 + Coconut.
TOKENS = [EOS, UNK] + WORDS + [BOT, EOT, LATENT]

assert len(NAMES) == 17 and len(CONCEPTS) == 38
assert len(set(TOKENS)) == len(TOKENS), "duplicate token in the vocabulary"
