#!/usr/bin/env bash
# onnxruntime-web for hybrid/web (the browser module) and its tests, from npm, into the
# ignored build/web-deps/ (tests/web skip without it). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/web-deps
cd build/web-deps
[ -f package.json ] || echo '{"private": true}' > package.json
npm install --no-audit --no-fund --silent onnxruntime-web@1.20.1
