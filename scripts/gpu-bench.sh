#!/usr/bin/env bash
# Runs `coconut-lens bench` on the GPU machine from the folder scripts/gpu-pack.sh made: unpacks
# Node, node_modules and dist, installs the Vulkan/X11 libraries WebGPU needs there, then benches
# WebGPU (KV cache copied back each step, and kept on the GPU) with the PyTorch CUDA reference
# beside it, and the CPU with the PyTorch CPU reference. Results go to $OUT (at most 7 files):
#   machine.txt  bench.log  bench-cpu.json  bench-webgpu.json  bench-webgpu-kvgpu.json
#   bench-webgpu-kvgpu-6x512.json  bench-cpu-6x512.json   (with --big)
#
#   bash scripts/gpu-bench.sh [--cpu-only | --webgpu-only] [--runs N] [--threads N] [--python PATH]
#                             [--dataset FILE] [--limit N] [--gpu-limit N] [--big]
# --dataset FILE  also evaluates FILE record by record and in batches (bench --dataset): the first
#                 --limit N records on the CPU (default 500), --gpu-limit N on WebGPU (default 50: there a
#                 record costs ~150 ms one by one, so 100 records at every k took over 2 minutes)
# --big           also benches a random 6 x 512 model (exported there by its own PyTorch)
# Environment: OUT (default test-output/gpu-bench), GPU_PACK (default .gpu-pack),
# STEP_TIMEOUT seconds per bench (default 240; a device call has 10 minutes in all, so with
# --dataset and --big pass a smaller one, or the per-bench ones: TIMEOUT_<name> with the name's
# dashes as underscores, e.g. TIMEOUT_bench_cpu=120).
# --cpu-only skips the Vulkan setup and the WebGPU runs (to check the script on a machine without a GPU);
# --webgpu-only skips the CPU runs (a second call, when the first one's CPU figures came back).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACK="${GPU_PACK:-$ROOT/.gpu-pack}"
OUT="${OUT:-$ROOT/test-output/gpu-bench}"
CPU_ONLY=0
GPU_ONLY=0
RUNS=10
THREADS="$(nproc)"
PY="${PYTHON:-python3}"
STEP_TIMEOUT="${STEP_TIMEOUT:-240}"
DATASET=""
LIMIT=500
GPU_LIMIT=50
BIG=0

while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-only) CPU_ONLY=1; shift ;;
    --webgpu-only) GPU_ONLY=1; shift ;;
    --runs) RUNS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --python) PY="$2"; shift 2 ;;
    --dataset) DATASET="$2"; shift 2 ;;
    --limit) LIMIT="$2"; shift 2 ;;
    --gpu-limit) GPU_LIMIT="$2"; shift 2 ;;
    --big) BIG=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "gpu-bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

mkdir -p "$OUT"
LOG="$OUT/bench.log"
: >"$LOG"
log() { echo "gpu-bench: $*" | tee -a "$LOG" >&2; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# tar's xz support needs the xz binary; Python's tarfile (lzma) is the fallback.
untar() {
  tar xJf "$1" -C "$2" 2>/dev/null ||
    "$PY" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
}

# --- Node, node_modules, dist, model -------------------------------------------------------------
if [ -f "$PACK/node.tar.xz" ]; then
  untar "$PACK/node.tar.xz" "$WORK" || { log "cannot unpack $PACK/node.tar.xz"; exit 1; }
  NODE="$WORK/node/bin/node"
elif command -v node >/dev/null; then
  NODE="$(command -v node)"
else
  log "no Node: run scripts/gpu-pack.sh here and carry .gpu-pack"; exit 1
fi
if [ ! -d "$ROOT/node_modules/onnxruntime-node" ]; then
  untar "$PACK/node_modules.tar.xz" "$ROOT" || { log "cannot unpack node_modules"; exit 1; }
fi
if [ ! -f "$ROOT/dist/cli.js" ]; then
  untar "$PACK/dist.tar.xz" "$ROOT" || { log "cannot unpack dist"; exit 1; }
fi
if [ -f "$PACK/models.tar.xz" ] && [ ! -d "$ROOT/models/prosqa-coconut" ]; then
  untar "$PACK/models.tar.xz" "$ROOT"
fi

# --- Vulkan for WebGPU ---------------------------------------------------------------------------
if [ "$CPU_ONLY" = 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v dpkg >/dev/null; then
    for d in "$PACK"/debs/*.deb; do dpkg -x "$d" /; done
    ldconfig
  else
    # Not root: unpack into a private prefix and point the loader at it.
    mkdir -p "$WORK/vk"
    for d in "$PACK"/debs/*.deb; do
      if command -v dpkg >/dev/null; then dpkg -x "$d" "$WORK/vk"; else (cd "$WORK" && ar x "$d" data.tar.xz && tar xJf data.tar.xz -C "$WORK/vk"); fi
    done
    export LD_LIBRARY_PATH="$WORK/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$icd" ]; then export VK_DRIVER_FILES="$icd"; break; fi
  done
  log "VK_DRIVER_FILES=${VK_DRIVER_FILES:-<none found: WebGPU will fall back to the CPU>}"
fi

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  uname -a
  echo "cores: $(nproc)"
  echo "node: $("$NODE" -v)"
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>&1
  command -v nvidia-smi >/dev/null && nvidia-smi 2>&1
  [ -f "$PACK/MANIFEST.txt" ] && { echo "--- pack"; cat "$PACK/MANIFEST.txt"; }
} >"$OUT/machine.txt"

# Random benchmark models are exported here by PyTorch (training/bench_reference.py make-random).
export COCONUT_LENS_BENCH_MODELS="$WORK/bench-models"
export COCONUT_LENS_CACHE_DIR="$WORK/cache"
export OMP_WAIT_POLICY=PASSIVE

bench() {
  local name="$1"; shift
  local var="TIMEOUT_${name//-/_}"
  local limit="${!var:-$STEP_TIMEOUT}"
  log "$name (at most $limit s): coconut-lens bench $*"
  local t0=$SECONDS
  (cd "$ROOT" && timeout "$limit" "$NODE" bin/coconut-lens.js bench "$@" --json >"$OUT/$name.json" 2>>"$LOG")
  local rc=$?
  log "$name: exit $rc after $((SECONDS - t0)) s"
  [ "$rc" = 0 ] || rm -f "$OUT/$name.json"
  return 0
}

# A relative --dataset is the caller's; the benches run from the repository root.
[ -n "$DATASET" ] && DATASET="$(realpath "$DATASET")"
data() { [ -n "$DATASET" ] && echo "--dataset $DATASET --limit $1"; }

BIG_MODEL="$WORK/bench-models/random-6x512"
if [ "$BIG" = 1 ]; then
  log "exporting a random 6 x 512 model with $PY"
  "$PY" "$ROOT/training/bench_reference.py" make-random --out "$BIG_MODEL" --n-layer 6 --n-head 8 --n-embd 512 --n-positions 512 >>"$LOG" 2>&1 ||
    { log "the 6 x 512 export failed (see above): its benches are skipped"; BIG=0; }
fi

# Most telling first: a device call that runs out of time loses the last ones. The dataset runs on
# WebGPU with the cache copied back (the engine's own path: evaluation never keeps it on the GPU).
COMMON=(--threads "$THREADS" --runs "$RUNS" --vs-pytorch --python "$PY")
if [ "$CPU_ONLY" = 0 ]; then
  bench bench-webgpu-kvgpu --provider webgpu --kv-on-gpu --torch-device cuda --growth "${COMMON[@]}"
  # shellcheck disable=SC2046 # data's words are meant to split
  bench bench-webgpu --provider webgpu --torch-device cuda --no-cold $(data "$GPU_LIMIT") "${COMMON[@]}"
fi
# shellcheck disable=SC2046
[ "$GPU_ONLY" = 0 ] && bench bench-cpu --provider cpu --torch-device cpu --growth $(data "$LIMIT") "${COMMON[@]}"
if [ "$BIG" = 1 ]; then
  [ "$CPU_ONLY" = 0 ] && bench bench-webgpu-kvgpu-6x512 --model "$BIG_MODEL" --provider webgpu --kv-on-gpu --torch-device cuda --no-cold "${COMMON[@]}"
  [ "$GPU_ONLY" = 0 ] && bench bench-cpu-6x512 --model "$BIG_MODEL" --provider cpu --torch-device cpu --no-cold "${COMMON[@]}"
fi

ls -la "$OUT" | tee -a "$LOG" >&2
