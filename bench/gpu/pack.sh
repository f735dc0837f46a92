#!/usr/bin/env bash
# Builds the GPU kit in bench/gpu/kit/ (ignored by git), for a GPU machine with Python and torch
# but no Node.js, no npm registry and no internet:
#   autoresearch.mjs  the CLI as one file (esbuild; the plot renderer left out)
#   model.mjs         the scripted model on a local fake API, which starts the CLI (bench/gpu/model.ts)
#   node.xz           this machine's node binary, compressed (skip with --no-node)
#   bwrap             this machine's bubblewrap, for a machine without one (when present here)
# Then: the device call carries bench/gpu/kit and runs `bash bench/gpu/run.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=bench/gpu/kit
WITH_NODE=1
[ "${1:-}" = "--no-node" ] && WITH_NODE=0
rm -rf "$KIT" && mkdir -p "$KIT"
common=(--bundle --platform=node --format=esm --target=node20 --log-level=warning
  "--banner:js=import { createRequire as __kitRequire } from 'node:module'; const require = __kitRequire(import.meta.url);"
  --external:@resvg/resvg-js --external:vega --external:vega-lite --alias:react-devtools-core=./bench/gpu/devtools-stub.js)
version=$(node -p 'require("./package.json").version')
npx esbuild src/cli.ts "${common[@]}" "--define:AUTORESEARCH_BUNDLED_VERSION=\"$version (GPU kit bundle)\"" --outfile="$KIT/autoresearch.mjs"
npx esbuild bench/gpu/model.ts "${common[@]}" --outfile="$KIT/model.mjs"
if [ "$WITH_NODE" = 1 ]; then xz -T0 -6 -c "$(command -v node)" > "$KIT/node.xz"; fi
if command -v bwrap >/dev/null; then cp "$(command -v bwrap)" "$KIT/bwrap"; fi
node --version > "$KIT/node-version.txt"
du -ab "$KIT" | sort -k2 | awk '{ printf "%10.1f MiB  %s\n", $1 / 1048576, $2 }'
total=$(du -sb "$KIT" | cut -f1)
# The device call carries the working tree and the kit together: 64 MiB in all.
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "kit $((total / 1048576)) MiB + tracked tree $((tree / 1048576)) MiB = $(((total + tree) / 1048576)) MiB of the 64 MiB a device call carries"
[ $((total + tree)) -lt $((64 * 1048576)) ] || { echo "too big to carry"; exit 1; }
