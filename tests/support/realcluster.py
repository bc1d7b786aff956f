"""A real Kubernetes control plane on 127.0.0.1 for the tests: etcd and kube-apiserver of the
release pinned in rig/go/kube/go.mod, built into .tools/bin by scripts/bootstrap.sh.

The API server runs as envtest starts it (controller-runtime pkg/internal/testing/controlplane
apiserver.go, configureAPIServer): secure port only, bound to 127.0.0.1, a CA of our own for
its serving certificate and for client certificates, RBAC authorization, and a service-account
issuer with its signing key so TokenRequest gives real tokens. The admin is a client
certificate in system:masters (the group the RBAC authorizer lets do anything: k8s.io/apiserver
pkg/authentication/user/user.go SystemPrivilegedGroup). The CRDs of ../shared/crds are applied
and waited for until Established, so the server enforces their schemas and CEL rules.

kube-controller-manager runs beside it with the controllers hook Jobs need (CONTROLLERS),
and `add_node` registers Nodes as a kubelet would. Nothing here is a model: every answer
comes from the real server. A missing binary fails the
test that needs it, naming the bootstrap step, never skips it.
"""

from __future__ import annotations

import ctypes
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from tests.support import helm, kubeclient, upstream

TOOLS = helm.CHART / ".tools" / "bin"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
# kube-controller-manager's controllers for hook Jobs (cmd/kube-controller-manager/names):
# Jobs make Pods; a deleted Job loses its Pods and a deleted Node its enactments (garbage
# collector); a deleted namespace is emptied; each namespace gets its `default` account and
# the kube-root-ca.crt ConfigMap that a pod's projected token volume reads.
CONTROLLERS = ("job-controller", "garbage-collector-controller", "namespace-controller",
               "serviceaccount-controller", "serviceaccount-token-controller",
               "root-ca-certificate-publisher-controller", "ttl-after-finished-controller")
# The CIDRs the API server hands out Service addresses from; the chart's sites name the
# OpenShift defaults (172.30.0.0/16 services) as the cluster's, so the server uses the same.
# Dual stack (fd02::/112, the dual-stack sites' service network): their Services ask for
# ipFamilyPolicy RequireDualStack, which a single-stack server refuses.
SERVICE_CIDR = "172.30.0.0/16,fd02::/112"
START_TIMEOUT = 90.0


def binary(name: str) -> Path:
    """A rig binary, or a failure that says how to build it."""
    path = TOOLS / name
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: run scripts/bootstrap.sh rig (needs Go; see CONTRIBUTING.md)")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Pki:
    """A throwaway CA, the API server's serving certificate for 127.0.0.1, an admin client
    certificate (system:masters) and the service-account signing key, as files."""

    folder: Path
    ca_file: Path = field(init=False)
    server_cert: Path = field(init=False)
    server_key: Path = field(init=False)
    admin_cert: Path = field(init=False)
    admin_key: Path = field(init=False)
    sa_key: Path = field(init=False)
    sa_pub: Path = field(init=False)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "symrouting rig CA")])
        ca = (
            x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
            .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        self.ca_file = self._pem("ca.crt", ca)

        def issue(name: str, subject: x509.Name, usage: x509.ObjectIdentifier,
                  sans: list[x509.GeneralName]) -> tuple[Path, Path]:
            key = ec.generate_private_key(ec.SECP256R1())
            builder = (
                x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            )
            if sans:
                builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            cert = builder.sign(ca_key, hashes.SHA256())
            return self._pem(f"{name}.crt", cert), self._key(f"{name}.key", key)

        self.server_cert, self.server_key = issue(
            "apiserver", x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
            x509.oid.ExtendedKeyUsageOID.SERVER_AUTH,
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
        self.admin_cert, self.admin_key = issue(
            "admin", x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rig-admin"),
                                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters")]),
            x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH, [])
        sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.sa_key = self._key("sa.key", sa)
        self.sa_pub = self.folder / "sa.pub"
        self.sa_pub.write_bytes(sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def _pem(self, name: str, cert: x509.Certificate) -> Path:
        path = self.folder / name
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return path

    def _key(self, name: str, key: Any) -> Path:
        path = self.folder / name
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
        return path


@dataclass
class Process:
    """A rig binary running in the background, its output in a log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                # kube-apiserver with the rig's watches still open takes 15 s to drain them;
                # its data is thrown away with the folder, so nothing is lost by not waiting
                self.popen.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def _signal_at_parent_death(signum: int) -> None:
    """In the child: signum when the test process dies, even by SIGKILL (a timeout), so that
    nothing of a session outlives it on the shared machine (prctl PR_SET_PDEATHSIG = 1)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signum)


def die_with_parent() -> None:
    """SIGKILL at the test process's death, for the control plane. Not SIGTERM: all of them
    get it at once, etcd goes first, and kube-apiserver's graceful shutdown then waits on it
    for good."""
    _signal_at_parent_death(signal.SIGKILL)


def terminate_with_parent() -> None:
    """SIGTERM at the test process's death: for a wrapper whose handler stops its own children."""
    _signal_at_parent_death(signal.SIGTERM)


def start_process(name: str, args: list[str], folder: Path) -> Process:
    log = folder / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen([str(binary(name)), *args], stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True,
                                 preexec_fn=die_with_parent)
    return Process(name, popen, log)


@dataclass
class RealCluster:
    """etcd and kube-apiserver on 127.0.0.1 until stop(); `kubeconfig` is the admin's."""

    folder: Path
    pki: Pki = field(init=False)
    url: str = field(init=False)
    kubeconfig: Path = field(init=False)
    processes: list[Process] = field(default_factory=list)
    # More kube-apiserver flags, e.g. --runtime-config to switch an API off.
    apiserver_args: list[str] = field(default_factory=list)
    # Seconds from start() until each part was ready, for the suite's report.
    timings: dict[str, float] = field(default_factory=dict)

    def start(self, crd_files: list[Path] | None = None) -> RealCluster:
        for name in BINARIES:
            binary(name)
        began = time.monotonic()
        self.pki = Pki(self.folder / "pki")
        try:
            self._start_etcd()
            self.timings["etcd"] = time.monotonic() - began
            self._start_apiserver()
            self.timings["kube-apiserver"] = time.monotonic() - began
            self.kubeconfig = self.write_kubeconfig(self.folder / "admin.kubeconfig")
            self.apply_crds(crd_files if crd_files is not None else default_crd_files())
            self.timings["crds"] = time.monotonic() - began
            self._start_controller_manager()
            self.timings["kube-controller-manager"] = time.monotonic() - began
        except BaseException:
            self.stop()
            raise
        return self

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        etcd = start_process("etcd", [
            "--name", "rig", "--data-dir", str(self.folder / "etcd"),
            "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
            "--initial-cluster", f"rig=http://127.0.0.1:{peer}",
            "--listen-metrics-urls", f"http://127.0.0.1:{free_port()}",
            # Tests need no durability; fsync is most of etcd's write latency on a shared disk.
            "--unsafe-no-fsync", "--log-level", "warn",
        ], self.folder)
        self.processes.append(etcd)
        self._wait(etcd, lambda: _http_ok(f"{self.etcd_url}/health"))

    def _start_apiserver(self) -> None:
        port = free_port()
        self.url = f"https://127.0.0.1:{port}"
        pki = self.pki
        apiserver = start_process("kube-apiserver", [
            "--etcd-servers", self.etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(port),
            "--tls-cert-file", str(pki.server_cert), "--tls-private-key-file", str(pki.server_key),
            "--client-ca-file", str(pki.ca_file),
            "--authorization-mode", "RBAC",
            "--service-cluster-ip-range", SERVICE_CIDR,
            "--service-account-issuer", self.url,
            "--service-account-key-file", str(pki.sa_pub),
            "--service-account-signing-key-file", str(pki.sa_key),
            "--allow-privileged=true",
            "--cert-dir", str(self.folder / "apiserver-certs"),
            "--v", "1",
            *self.apiserver_args,
        ], self.folder)
        self.processes.append(apiserver)
        self._wait(apiserver, lambda: self._readyz())

    def _start_controller_manager(self) -> None:
        """kube-controller-manager with only CONTROLLERS, each under its own service account
        (--use-service-account-credentials, as kubeadm runs it, so that each controller has
        only the rights of the real bootstrap policy); no serving port."""
        manager = start_process("kube-controller-manager", [
            "--kubeconfig", str(self.kubeconfig),
            "--controllers", ",".join(CONTROLLERS), "--use-service-account-credentials",
            "--service-account-private-key-file", str(self.pki.sa_key),
            "--root-ca-file", str(self.pki.ca_file),
            "--leader-elect=false", "--secure-port", "0", "--v", "1",
        ], self.folder)
        self.processes.append(manager)
        # Working when the serviceaccount controller has given `default` its account.
        self._wait(manager, lambda: self._exists("/api/v1/namespaces/default/serviceaccounts/default"))

    def _exists(self, path: str) -> bool:
        try:
            self.request("GET", path)
            return True
        except ApiError:
            return False

    def client(self) -> kubeclient.Client:
        """A keep-alive client as the admin, for the rig's own controllers."""
        return kubeclient.Client(self.url, self.ssl_context())

    def add_node(self, name: str, labels: dict[str, str], address: str, pod_cidr: str) -> dict[str, Any]:
        """A Node as a kubelet registers it (pkg/kubelet/kubelet_node_status.go, initialNode:
        the hostname, os and arch labels) with its InternalIP and a Ready condition in status,
        and the podCIDR node-ipam would give it."""
        node = self.request("POST", "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                                  "kubernetes.io/arch": "amd64", **labels}},
            "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]}})
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        node["status"] = {
            "addresses": [{"type": "InternalIP", "address": address}, {"type": "Hostname", "address": name}],
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                            "lastTransitionTime": now}],
            "nodeInfo": {"kubeletVersion": self.version()["gitVersion"], "operatingSystem": "linux",
                         "architecture": "amd64", "osImage": "rig", "kernelVersion": "", "machineID": "",
                         "systemUUID": "", "bootID": "", "containerRuntimeVersion": "", "kubeProxyVersion": ""}}
        return dict(self.request("PUT", f"/api/v1/nodes/{name}/status", node))

    def _readyz(self) -> bool:
        try:
            self.request("GET", "/readyz")
            return True
        except (OSError, urllib.error.URLError, ApiError):
            return False

    def _wait(self, process: Process, ready: Any) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.tail()}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{process.name} not ready after {START_TIMEOUT:.0f} s:\n{process.tail()}")

    def ssl_context(self, client_cert: bool = True) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.ca_file))
        if client_cert:
            context.load_cert_chain(str(self.pki.admin_cert), str(self.pki.admin_key))
        return context

    def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                content_type: str = "application/json") -> Any:
        """One request as the admin (or with a bearer token); the decoded JSON answer, or
        ApiError carrying the server's Status."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(client_cert=token is None), timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raise ApiError(err.code, err.read()) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def write_kubeconfig(self, path: Path, token: str | None = None) -> Path:
        """A kubeconfig for the admin's client certificate, or for a bearer token."""
        user: dict[str, str] = (
            {"token": token} if token else
            {"client-certificate": str(self.pki.admin_cert), "client-key": str(self.pki.admin_key)})
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "rig",
            "clusters": [{"name": "rig", "cluster": {"server": self.url,
                                                     "certificate-authority": str(self.pki.ca_file)}}],
            "users": [{"name": "user", "user": user}],
            "contexts": [{"name": "rig", "context": {"cluster": "rig", "user": "user"}}],
        }))
        return path

    def kubectl(self, *args: str, input: str | None = None, kubeconfig: Path | None = None,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        """The real kubectl against this server; a failure raises with what kubectl said."""
        done = subprocess.run(
            [str(TOOLS / "kubectl"), "--kubeconfig", str(kubeconfig or self.kubeconfig), *args],
            input=input, capture_output=True, text=True, timeout=120)
        if check and done.returncode:
            raise RuntimeError(f"kubectl {' '.join(args[:3])} ... failed ({done.returncode}):\n"
                               f"{done.stderr.strip() or done.stdout.strip()}")
        return done

    def apply_crds(self, files: list[Path]) -> None:
        """Applies the CRD files (server-side, as an operator's install does) and waits until
        each is Established."""
        if not files:
            return
        args = ["apply", "--server-side", "--force-conflicts"]
        for path in files:
            args += ["-f", str(path)]
        self.kubectl(*args)
        # kubectl wait fails on a CRD whose status has no conditions yet, so poll the list.
        deadline = time.monotonic() + 60
        while True:
            crds = self.request("GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")["items"]
            pending = [c["metadata"]["name"] for c in crds if not any(
                cond["type"] == "Established" and cond["status"] == "True"
                for cond in c.get("status", {}).get("conditions") or [])]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"CRDs not Established after 60 s: {', '.join(pending)}")
            time.sleep(0.2)

    def token(self, namespace: str, service_account: str, seconds: int = 3600) -> str:
        """A real bound token for a ServiceAccount (TokenRequest, authentication.k8s.io/v1)."""
        answer = self.request(
            "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"expirationSeconds": seconds}})
        return str(answer["status"]["token"])

    def admin_token(self, service_account: str) -> str:
        """A day-long bound token of a new cluster-admin ServiceAccount in kube-system: Helm,
        kubectl and the hooks' clients use it where a client certificate would end at a TLS
        proxy in front of the server (tests/support/proxy.py)."""
        self.request("POST", "/api/v1/namespaces/kube-system/serviceaccounts",
                     {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": service_account}})
        self.request("POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": service_account},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": service_account, "namespace": "kube-system"}]})
        return self.token("kube-system", service_account, seconds=24 * 3600)

    def version(self) -> dict[str, Any]:
        return dict(self.request("GET", "/version"))

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()


class ApiError(Exception):
    """A non-2xx answer: the HTTP code and the server's Status object (or its raw text)."""

    def __init__(self, code: int, body: bytes) -> None:
        self.code = code
        try:
            self.status: dict[str, Any] = json.loads(body)
        except ValueError:
            self.status = {"message": body.decode(errors="replace")}
        super().__init__(f"{code} {self.status.get('reason', '')}: {self.status.get('message', '')}")


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def default_crd_files() -> list[Path]:
    """The pinned upstream CRDs the chart renders or reads (ci/upstream-files.yaml, found in
    ../shared/crds or the fetch cache: tests/support/upstream.py)."""
    pinned = [upstream.locate(pin["local"]) for pin in upstream.pins() if pin["local"].startswith("crds/")]
    # The status kinds (enactments, node states, MetalLB's and FRR-K8s's states) are in
    # shared/crds beside the pinned ones.
    beside = sorted({p for d in {path.parent.parent for path in pinned} for p in d.glob("*/*.yaml")})
    # Argo CD's CRDs are the largest and only the Argo CD tests need them: they ask for them.
    return sorted(p for p in set(pinned) | set(beside) if p.parent.name != "argoproj.io")


def start(folder: Path, crd_files: list[Path] | None = None, apiserver_args: list[str] | None = None) -> RealCluster:
    """Starts a control plane in `folder` (its PKI, etcd data and logs stay there)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return RealCluster(folder, apiserver_args=list(apiserver_args or [])).start(crd_files)


def env_folder(default: Path) -> Path:
    """Where a test session keeps its control plane: SYMROUTING_RIG_DIR or `default`."""
    return Path(os.environ.get("SYMROUTING_RIG_DIR", str(default)))
