// The text of `coconut-lens --help`, kept apart so each command's file is about running it.
import { DEFAULT_MODEL_RELATIVE } from '../engine/model-dir';

export const USAGE = `coconut-lens: run Coconut (Chain of Continuous Thought) models and decode their thoughts

Usage:
  coconut-lens inspect FILE [--record N] [--model DIR] [--thoughts K] [--top-k N]
                            [--max-new-tokens N] [--provider P] [--threads N] [--json]
                            [--intervene SPEC]... [--export FILE.json|FILE.csv] [--force]
  coconut-lens sweep FILE [--record N] [--from K] [--to K] [--model DIR] [--max-new-tokens N]
                          [--intervene SPEC]... [--provider P] [--threads N] [--json]
  coconut-lens eval DATASET [--model DIR] [--thoughts K | --sweep A..B] [--limit N] [--batch N]
                            [--provider P] [--threads N] [--json]
  coconut-lens bench [--model DIR] [--provider P] [--threads N] [--runs N] [--vs-pytorch] [--growth]
                     [--dataset FILE | --no-dataset] [--json]
                     (coconut-lens bench --help for all its options)

FILE / DATASET   a prompt file: .json (one record or an array), .jsonl (one record per line) in the
                 Coconut schema {"question", "steps", "answer", ...}, or plain text (the question)
--record N       which record of FILE to inspect, counted from 0 (default 0)
--model DIR      model folder with coconut.json (default: ${DEFAULT_MODEL_RELATIVE} in the package)
--thoughts K     number of continuous thoughts (default: the model's thoughts.default)
--top-k N        tokens listed per thought (default 10)
--max-new-tokens N  answer length limit (default: the model's generation.max_new_tokens)
--limit N        evaluate only the first N records
--batch N        records per decoder call (default 16, fewer where their cache buffers would pass 256 MB; left-padded, by prompt length); 1 runs them one by one.
                 The answers are the same either way
--sweep A..B     eval at every k from A to B (or a list: 0,2,4): accuracy per k, and for ProsQA
                 records with a graph the path categories (correct path, longer path,
                 hallucination, wrong target, correct label, incorrect label)
--from K --to K  the range of k of a sweep (default 0 to the model's thoughts.max)
--intervene SPEC change a thought before it is fed back, then rerun the rest (repeatable):
                 N:zero, N:scale=F, N:token=WORD (that token's input embedding),
                 N:vector=FILE.json (a list of n_embd numbers) or N:vector=TRACE.json#J
                 (thought J of an exported trace); thoughts are counted from 1
--export FILE    save the trace: FILE.json (schema coconut-lens/trace@1, docs/trace-schema.md)
                 or FILE.csv (one row per thought and rank); never overwrites without --force
--force          let --export overwrite an existing file
--provider P     auto | cpu | webgpu | cuda (default auto: the fastest, measured once per model and
                 machine and remembered); a provider that cannot start falls back to cpu with a notice
--threads N      onnxruntime intra-op threads (default: 1 or the cores left after one for the
                 editor, at most 4, whichever runs the model faster here; measured once, remembered)
--json           machine-readable output on stdout

Exit codes: 0 success, 2 bad input or usage, 1 internal error.`;
