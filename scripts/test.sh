#!/usr/bin/env bash
# Runs the whole suite: installs the tools (Helm 3 and 4, the Python test tools) into .tools/,
# then pytest over tests/ (golden renders, seed, bad values, schema and docs, conformance,
# lint). Extra arguments go to pytest, e.g. scripts/test.sh -k seed or --update-golden.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/bootstrap.sh" all
cd "$root"
# The pinned CRDs and chart-testing files: from a folder the user names, the workplace's
# shared/ beside the repository, or downloaded at their pinned commits into .cache/.
shared=${SYMMETRIC_ROUTING_SHARED:-$root/../shared}
if [[ -z ${SYMMETRIC_ROUTING_CRDS:-} && ! -d "$shared/crds" ]]; then
  "$root/.tools/venv/bin/python" "$root/scripts/fetch_upstream.py"
fi
exec "$root/.tools/venv/bin/python" -m pytest "$@"
