#!/usr/bin/env bash
# Ship a training run as the default model: snapshot the run (mid-stage is fine), export the model
# folder, then measure it the way the model card reports it:
#   1. accuracy on the official validation set with the PyTorch reference loop (with path
#      categories and the frontier check: how much of each thought falls on the BFS frontier);
#   2. the same with the engine (`coconut-lens eval`), compared record by record with 1.;
#   3. the k sweep (k = 0..6) with the reference loop;
#   4. accuracy on 500 generated records (seed 777) that neither training nor the choice of
#      checkpoint saw.
# Results go to RESULTS_DIR as JSON; the model card (MODEL_DIR/README.md) is written by hand from them.
#
#   bash training/ship.sh RUN_DIR|SNAPSHOT.pt [MODEL_DIR] [RESULTS_DIR]
#   (a .pt is a snapshot written earlier by training/snapshot.py: shipped as it is)
#   (defaults: models/prosqa-coconut, training/results/prosqa-coconut)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  echo "usage: bash training/ship.sh RUN_DIR|SNAPSHOT.pt [MODEL_DIR] [RESULTS_DIR]" >&2
  exit 2
fi
RUN=$1 MODEL=${2:-models/prosqa-coconut} RES=${3:-training/results/prosqa-coconut}
PY=${PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=PASSIVE
VALID=data/prosqa/prosqa_valid.json
TMP=$(mktemp -d -t coconut-ship-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$MODEL" "$RES"
[ -f dist/cli.js ] || npm run build

if [[ "$RUN" == *.pt ]]; then
  echo "== model checkpoint $RUN (a snapshot taken earlier)"
  cp "$RUN" "$TMP/model.pt"
else
  echo "== snapshot $RUN"
  "$PY" training/snapshot.py "$RUN" "$TMP/model.pt"
fi

echo "== export to $MODEL"
"$PY" training/export.py --checkpoint "$TMP/model.pt" --out "$MODEL" --name prosqa-coconut

echo "== 1. PyTorch reference (k from the manifest), path categories, frontier check"
"$PY" training/evaluate.py --checkpoint "$TMP/model.pt" --data "$VALID" --model-dir "$MODEL" \
  --predictions --categories --frontier --json "$RES/reference.json" > /dev/null

echo "== 2. the engine on the exported ONNX model, compared record by record"
node bin/coconut-lens.js eval "$VALID" --model "$MODEL" --json > "$RES/engine.json" 2> "$TMP/engine.log"
"$PY" training/evaluate.py compare "$RES/reference.json" "$RES/engine.json" | tee "$RES/agreement.txt"

echo "== 3. k sweep 0..6 (reference loop)"
"$PY" training/evaluate.py --checkpoint "$TMP/model.pt" --data "$VALID" --sweep 0-6 --categories \
  --max-new-tokens 64 --json "$RES/sweep.json" > /dev/null
echo "== 4. held-out generated records (never trained on, not used to pick the checkpoint)"
"$PY" training/prosqa_data.py generate --n 500 --seed 777 --out "$TMP/held_out.json" > /dev/null
"$PY" training/evaluate.py --checkpoint "$TMP/model.pt" --data "$TMP/held_out.json" --model-dir "$MODEL" \
  --json "$RES/held_out.json" > /dev/null
"$PY" - "$RES" <<'EOF'
import json, sys
res = sys.argv[1]
ref = json.load(open(f"{res}/reference.json"))
sw = json.load(open(f"{res}/sweep.json"))
print(f"accuracy {ref['accuracy']:.4f} on {ref['n']} official validation records")
held = json.load(open(f"{res}/held_out.json"))
print(f"accuracy {held['accuracy']:.4f} on {held['n']} held-out generated records (seed 777)")
print("k sweep: " + "  ".join(f"k={r['thoughts']} {r['accuracy']:.3f}" for r in sw["results"]))
fr = ref.get("frontier", {})
for key in ("all", "correct_records"):
    if key in fr:
        print(f"frontier ({key}): {json.dumps(fr[key])}")
EOF
