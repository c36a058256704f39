#!/usr/bin/env bash
# One training segment in the background: starts a run, or resumes it exactly (model, optimizer,
# data position, RNG) from OUT_DIR/state.pt, and stops cleanly (state saved) after MINUTES.
#   bash training/segment.sh CONFIG OUT_DIR MINUTES [--set key=value ...]
# One torch thread per run: at these model sizes a second thread adds little, so two runs side by
# side do twice the work. The log is OUT_DIR/train.log; the process id OUT_DIR/pid.
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: bash training/segment.sh CONFIG OUT_DIR MINUTES [--set key=value ...]" >&2
  exit 2
fi
config=$1 out=$2 minutes=$3
shift 3
cd "$(dirname "$0")/.."
py=/usr/bin/python3
[ -x "$py" ] || py=python3
"$py" -c 'import torch' 2>/dev/null || {
  echo "PyTorch is missing for $py: apt-get install -y python3-torch libopenblas0-pthread" >&2
  exit 2
}
mkdir -p "$out"
resume=()
if [ -e "$out/state.pt" ] || [ -e "$out/model.pt" ]; then resume=(--resume); fi
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
# the hard limit leaves the trainer time to write its state after its own limit
nohup timeout --signal=TERM --kill-after=120 "$(( ${minutes%.*} * 60 + 300 ))" "$py" training/train.py \
  --config "$config" --out-dir "$out" "${resume[@]}" --stop-after-minutes "$minutes" "$@" \
  >> "$out/train.log" 2>&1 &
echo $! > "$out/pid"
echo "training in the background (pid $!, ${minutes} min): tail -f $out/train.log"
# To stop it early and keep everything: kill -TERM "$(cat OUT_DIR/pid)" (it saves state.pt first).
