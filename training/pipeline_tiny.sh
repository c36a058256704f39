#!/usr/bin/env bash
# End to end on CPU with training/configs/tiny.json: generate ProsQA -> train every curriculum
# stage a few steps -> export the model directory -> evaluate with the PyTorch reference ->
# evaluate the exported ONNX model with the TypeScript engine (`coconut-lens eval`) -> the two
# accuracies must agree. About a minute on one core.
#
#   training/pipeline_tiny.sh [--python-only] [OUT_DIR]
#
# --python-only stops after the PyTorch evaluation and says so (the Python test suite uses it; the
# TypeScript half is run by npm test, which has built dist/cli.js). Without it, a missing
# bin/coconut-lens.js or dist/cli.js is an error, never a silent skip.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=PASSIVE

PY_ONLY=0
if [ "${1:-}" = "--python-only" ]; then PY_ONLY=1; shift; fi
if [ -n "${1:-}" ]; then
  OUT=$1
else
  # A folder of our own: removed at the end, whatever happens (pass OUT_DIR to keep the files).
  OUT=$(mktemp -d -t coconut-tiny-XXXXXX)
  trap 'rm -rf "$OUT"' EXIT
fi
mkdir -p "$OUT"
N_EVAL=${N_EVAL:-24}

step() { printf '\n== %s\n' "$*"; }

step "1/6 generate 400 training records"
"$PY" training/prosqa_data.py generate --n 400 --seed 7 --out "$OUT/train.jsonl"
"$PY" training/prosqa_data.py stats "$OUT/train.jsonl"

step "2/6 the evaluation set: the first $N_EVAL official validation records"
VALID=$("$PY" -c 'import sys; sys.path.insert(0, "training"); import prosqa_data as D; print(D.OFFICIAL_VALID)')
"$PY" - "$VALID" "$OUT/eval.json" "$N_EVAL" <<'EOF'
import json, sys
recs = json.load(open(sys.argv[1]))[: int(sys.argv[3])]
json.dump(recs, open(sys.argv[2], "w"), indent=1)
EOF

step "3/6 train (tiny.json: stages 0..6, a few steps each)"
rm -rf "$OUT/run"
"$PY" training/train.py --config training/configs/tiny.json --out-dir "$OUT/run" \
  --set data.train_file="$OUT/train.jsonl" --set eval.file="$OUT/eval.json"

step "4/6 export"
rm -rf "$OUT/model"
"$PY" training/export.py --checkpoint "$OUT/run/model.pt" --out "$OUT/model" --name prosqa-tiny

step "5/6 evaluate with the PyTorch reference (k and max_new_tokens from the manifest)"
"$PY" training/evaluate.py --checkpoint "$OUT/run/model.pt" --data "$OUT/eval.json" \
  --model-dir "$OUT/model" --predictions --json "$OUT/py_eval.json" > /dev/null
"$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); print("PyTorch reference: accuracy %.4f on %d records" % (r["accuracy"], r["n"]))' "$OUT/py_eval.json"

if [ "$PY_ONLY" = 1 ]; then
  step "6/6 TypeScript engine: NOT RUN (--python-only was given)"
  echo "pipeline (Python half) OK: $OUT"
  exit 0
fi

step "6/6 evaluate the ONNX model with the TypeScript engine and compare"
for f in bin/coconut-lens.js dist/cli.js; do
  if [ ! -f "$f" ]; then
    echo "error: $f is missing; run \`npm run build\` first (or pass --python-only to run only the Python half)" >&2
    exit 1
  fi
done
node bin/coconut-lens.js eval "$OUT/eval.json" --model "$OUT/model" --json > "$OUT/ts_eval.json"
"$PY" training/evaluate.py compare "$OUT/py_eval.json" "$OUT/ts_eval.json"
echo "pipeline OK: $OUT"
