"""MetalLB's real controller in the loopback cluster, its webhooks live.

The controller is the one rig/go/metallb pins (scripts/bootstrap.sh builds it as
.tools/bin/metallb-controller). It runs as its Deployment runs it in MetalLB's own
manifest of that version (config/manifests/metallb-frr-k8s.yaml: METALLB_BGP_TYPE=frr-k8s,
the namespace, the pod name), except that the rig makes its webhook certificate
(--disable-cert-rotation, the certificate mounted where the webhook server reads it), as
controller-runtime's envtest does:
the ValidatingWebhookConfiguration of MetalLB's config/webhook/manifests.yaml and the
BGPPeer CRD's conversion (config/crd/patches/crd-conversion-patch-bgppeers.yaml), both read
from the module's source, are pointed at https://127.0.0.1:<port> with the rig's CA
(sigs.k8s.io/controller-runtime v0.22.3 pkg/envtest/webhook.go updateClientConfig and
crd.go modifyConversionWebhooks).

Its listeners are fixed to 0.0.0.0 and its webhook to port 9443 (tests/support/netns.py
says where), so it runs in a network namespace of its own behind 127.0.0.1 forwarders.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support import helm
from tests.support.realcluster import RealCluster, terminate_with_parent

MODULE = helm.CHART / "rig" / "go" / "metallb"
CONTROLLER = helm.TOOLS / "metallb-controller"
NAMESPACE = "metallb-system"  # values.yaml metallb.namespace, as in MetalLB's manifests
POD = "controller"  # the Deployment's pod; the controller reads its own pod at start
WEBHOOK_PORT = 9443  # metallb internal/k8s/k8s.go webhookServer
# controller-runtime's default (pkg/webhook/server.go): webhookServer sets no CertDir, and the
# controller's --cert-dir reaches only the cert rotator (internal/k8s/webhook.go)
WEBHOOK_CERT_DIR = "/tmp/k8s-webhook-server/serving-certs"
# internal/k8s/k8s.go: validatingWebhookName, the name config/webhook/kustomization.yaml gives
WEBHOOK_CONFIGURATION = "metallb-webhook-configuration"
CONFIGURATION_STATE = "controller"  # internal/k8s/k8s.go New: configStateName


def module_version() -> str:
    """The MetalLB version rig/go/metallb/go.mod pins (its only fact of it)."""
    match = re.search(r"^\s*go\.universe\.tf/metallb (v\S+)", (MODULE / "go.mod").read_text(), re.M)
    assert match, "rig/go/metallb/go.mod does not require go.universe.tf/metallb"
    return match.group(1)


def module_source() -> Path:
    """MetalLB's module source at that version, from the Go module cache (fetched once)."""
    proc = subprocess.run(["go", "mod", "download", "-json", f"go.universe.tf/metallb@{module_version()}"],
                          cwd=MODULE, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"go mod download go.universe.tf/metallb failed: {proc.stderr or proc.stdout}")
    return Path(json.loads(proc.stdout)["Dir"])


def webhook_configuration(source: Path, url: str, ca_pem: bytes) -> dict[str, Any]:
    """MetalLB's ValidatingWebhookConfiguration, each webhook's service turned into the URL."""
    [manifest] = [doc for doc in yaml.safe_load_all((source / "config/webhook/manifests.yaml").read_text()) if doc]
    manifest["metadata"] = {"name": WEBHOOK_CONFIGURATION}
    for webhook in manifest["webhooks"]:
        service = webhook["clientConfig"].pop("service")
        webhook["clientConfig"] = {"url": url + service["path"], "caBundle": base64.b64encode(ca_pem).decode()}
    return manifest


def bgppeer_conversion(source: Path, url: str, ca_pem: bytes) -> dict[str, Any]:
    """The BGPPeer CRD's spec.conversion from MetalLB's patch, pointed at the URL."""
    patch = yaml.safe_load((source / "config/crd/patches/crd-conversion-patch-bgppeers.yaml").read_text())
    conversion = patch["spec"]["conversion"]
    service = conversion["webhook"]["clientConfig"].pop("service")
    conversion["webhook"]["clientConfig"] = {"url": url + service["path"],
                                             "caBundle": base64.b64encode(ca_pem).decode()}
    return conversion


def make_serving_cert(folder: Path) -> bytes:
    """A CA and a certificate for 127.0.0.1 signed by it, as tls.crt and tls.key in the
    folder (controller-runtime's webhook server reads those names); returns the CA."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "metallb webhook test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM)


def apply(cluster: RealCluster, *documents: dict[str, Any]) -> None:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager", "metallb-rig",
                    "-f", "-", input="\n---\n".join(json.dumps(doc) for doc in documents))


def own_objects() -> list[dict[str, Any]]:
    """The namespace, and the pod the controller finds itself as (it owns the
    ConfigurationState it writes). No kubelet runs it: the rig does."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "controller", "namespace": NAMESPACE}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": POD, "namespace": NAMESPACE,
                                                         "labels": {"app": "metallb", "component": "controller"}},
         "spec": {"serviceAccountName": "controller", "automountServiceAccountToken": False,
                  "containers": [{"name": "controller", "image": f"quay.io/metallb/controller:{module_version()}"}]}},
    ]


@dataclass
class MetalLB:
    process: subprocess.Popen[str]
    url: str
    log: Path
    cluster: RealCluster

    def configuration_state(self) -> dict[str, Any] | None:
        proc = self.cluster.kubectl("get", "configurationstates.metallb.io", CONFIGURATION_STATE,
                                    "-n", NAMESPACE, "-o", "json", check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(cluster: RealCluster, folder: Path, timeout: float = 120) -> MetalLB:
    """Starts the controller against the API server, registers its webhooks and waits until
    they answer. Fails loudly (naming the fix) where the rig was not built."""
    if not CONTROLLER.exists():
        raise RuntimeError(f"{CONTROLLER} is missing: run scripts/bootstrap.sh rig")
    source = module_source()
    ca_pem = make_serving_cert(folder / "certs")
    folder.mkdir(parents=True, exist_ok=True)
    apply(cluster, *own_objects())
    log = folder / "metallb-controller.log"
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig), "METALLB_BGP_TYPE": "frr-k8s"}
    command = [str(CONTROLLER), "--namespace", NAMESPACE, "--pod-name", POD, "--disable-cert-rotation",
               "--port", "0", "--health-probe-port", "0", "--log-level", "info"]
    port_file = folder / "webhook.port"
    port_file.unlink(missing_ok=True)
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.netns", "--api-port", str(urlsplit(cluster.url).port),
             "--inner-port", str(WEBHOOK_PORT), "--port-file", str(port_file),
             f"--bind={folder / 'certs'}:{WEBHOOK_CERT_DIR}", "--", *command],
            cwd=helm.CHART, env=env, stdout=log_file, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            # a killed pytest takes the wrapper along; its SIGTERM handler stops the controller
            preexec_fn=terminate_with_parent)
    metallb = MetalLB(process, "", log, cluster)
    try:
        while not port_file.exists() or not port_file.read_text():
            if process.poll() is not None:
                raise RuntimeError(f"the MetalLB rig exited ({process.returncode}):\n{metallb.log_tail()}")
            time.sleep(0.1)
        metallb.url = url = f"https://127.0.0.1:{int(port_file.read_text())}"
        apply(cluster, webhook_configuration(source, url, ca_pem))
        cluster.kubectl("patch", "crd", "bgppeers.metallb.io", "--type", "merge",
                        "-p", json.dumps({"spec": {"conversion": bgppeer_conversion(source, url, ca_pem)}}))
        wait_ready(metallb, timeout)
    except BaseException:
        metallb.stop()
        raise
    return metallb


PROBE = {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
         "metadata": {"name": "rig-readiness-probe", "namespace": NAMESPACE}, "spec": {"addresses": ["not-a-cidr"]}}


def wait_ready(metallb: MetalLB, timeout: float) -> None:
    """Ready when MetalLB's own webhook refuses a pool it must refuse (a server-side dry
    run, so nothing is stored) and the controller has written its ConfigurationState."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if metallb.process.poll() is not None:
            raise RuntimeError(f"metallb-controller exited ({metallb.process.returncode}):\n{metallb.log_tail()}")
        proc = metallb.cluster.kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(PROBE), check=False)
        last = proc.stderr or proc.stdout
        if proc.returncode != 0 and "ipaddresspoolvalidationwebhook.metallb.io" in last and "denied" in last:
            if metallb.configuration_state() is not None:
                return
        time.sleep(1)
    raise RuntimeError(f"MetalLB's webhook did not answer in {timeout:.0f}s (last: {last.strip()}):\n"
                       f"{metallb.log_tail()}")
