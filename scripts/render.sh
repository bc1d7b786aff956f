#!/usr/bin/env bash
# Renders the chart for one site, the way `helm install` would apply it.
# Usage: scripts/render.sh [SITE] [RELEASE] [NAMESPACE] [-- extra helm args]
#   SITE      a name under ci/ (seed, multi-vrf, ...) or a path to a values file; default: seed
#   RELEASE   release name; default: tenant-a
#   NAMESPACE release namespace, where EgressServices and Services go; default: test
# Uses the helm on PATH when there is one, else installs Helm 3 into .tools/ first.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
site=${1:-seed}
release=${2:-tenant-a}
namespace=${3:-test}
shift $(( $# < 3 ? $# : 3 ))
[[ ${1:-} == "--" ]] && shift

if [[ -f "$site" ]]; then
  values=$site
elif [[ -f "$root/ci/$site-values.yaml" ]]; then
  values="$root/ci/$site-values.yaml"
else
  echo "render.sh: no site '$site': give a values file or one of: $(cd "$root/ci" && ls ./*-values.yaml | sed 's|./||; s|-values.yaml||' | tr '\n' ' ')" >&2
  exit 2
fi

if command -v helm >/dev/null 2>&1; then
  helm=$(command -v helm)
else
  "$root/scripts/bootstrap.sh" helm >&2
  helm="$root/.tools/bin/helm3"
fi

exec "$helm" template "$release" "$root" --namespace "$namespace" --values "$values" "$@"
