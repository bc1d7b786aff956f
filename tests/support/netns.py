"""Runs a server that binds 0.0.0.0 on a fixed port in a network namespace of its own,
reachable only through 127.0.0.1 forwarders, so that several rigs on one machine never
collide and nothing of it listens beyond loopback; with --bind, in a mount namespace of its
own too, where a folder of ours is mounted over a fixed path the server reads.

MetalLB v0.16.1's controller is such a server: its webhook port is 9443 and its metrics
address 0.0.0.0:<port>, neither host configurable (internal/k8s/k8s.go, webhookServer and
New's metricsserver.Options), and its health probe binds ":<port>" (controller/main.go).

    python -m tests.support.netns --api-port P --inner-port 9443 --port-file F -- COMMAND...

writes the host's 127.0.0.1 port that reaches the namespace's 127.0.0.1:9443 into F, then
runs COMMAND in the namespace, where 127.0.0.1:P reaches the host's API server
(so the host's kubeconfig and its certificate for 127.0.0.1 work unchanged inside). The
two sides talk through Unix sockets in a private folder (a Unix socket's path is shared
by both namespaces; a TCP port is not). Ends, with COMMAND, on SIGTERM or when COMMAND exits.

MetalLB's webhook server reads its certificate from controller-runtime's default folder,
/tmp/k8s-webhook-server/serving-certs (webhookServer sets no CertDir; --cert-dir feeds only
the cert rotator, which the rig turns off), hence --bind CERTS:/tmp/k8s-webhook-server/serving-certs.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1


def pump(source: socket.socket, sink: socket.socket) -> None:
    """Copies one direction until its end, then half-closes the other side."""
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for close in (lambda: sink.shutdown(socket.SHUT_WR), source.close):
            try:
                close()
            except OSError:
                pass


def forward(listener: socket.socket, connect: Callable[[], socket.socket]) -> None:
    """Accepts forever; joins each connection to a fresh one from `connect`."""
    while True:
        client, _ = listener.accept()
        try:
            upstream = connect()
        except OSError:
            client.close()
            continue
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=pump, args=(source, sink), daemon=True).start()


def tcp_listener(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    return listener


def unix_listener(path: Path) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    return listener


def tcp_to(port: int) -> Callable[[], socket.socket]:
    return lambda: socket.create_connection(("127.0.0.1", port))


def unix_to(path: Path) -> Callable[[], socket.socket]:
    def connect() -> socket.socket:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(str(path))
        return conn
    return connect


def serve(listener: socket.socket, connect: Callable[[], socket.socket]) -> None:
    threading.Thread(target=forward, args=(listener, connect), daemon=True).start()


def loopback_up() -> None:
    """A new network namespace's lo is down: `ip link set lo up`, without iproute2."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request)[:18])[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def run_until_signalled(command: list[str]) -> int:
    child = subprocess.Popen(command)
    signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    return child.wait()


def inner(args: argparse.Namespace) -> int:
    """In the new namespace: 127.0.0.1:<api port> leads out to the API server, and the
    host side's connections for the server lead to 127.0.0.1:<inner port>."""
    loopback_up()
    for bind in args.bind:
        source, target = bind.split(":", 1)
        os.makedirs(target, exist_ok=True)  # an empty folder on the host; the mount is ours only
        subprocess.run(["mount", "--bind", source, target], check=True)
    folder = Path(args.folder)
    serve(tcp_listener(args.api_port), unix_to(folder / "api.sock"))
    serve(unix_listener(folder / "inner.sock"), tcp_to(args.inner_port))
    return run_until_signalled(args.command)


def outer(args: argparse.Namespace) -> int:
    folder = Path(tempfile.mkdtemp(prefix="netns-"))  # short: a socket path has 107 bytes
    try:
        serve(unix_listener(folder / "api.sock"), tcp_to(args.api_port))
        front = tcp_listener(0)
        serve(front, unix_to(folder / "inner.sock"))
        Path(args.port_file).write_text(str(front.getsockname()[1]))
        mounts = ["--mount"] if args.bind else []
        binds = [f"--bind={bind}" for bind in args.bind]
        return run_until_signalled([
            "unshare", "--net", *mounts, "--", sys.executable, "-m", "tests.support.netns", "--inner",
            "--folder", str(folder), "--api-port", str(args.api_port),
            "--inner-port", str(args.inner_port), *binds, "--", *args.command])
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-port", type=int, required=True)
    parser.add_argument("--inner-port", type=int, required=True)
    parser.add_argument("--port-file", help="where the host's port goes")
    parser.add_argument("--bind", action="append", default=[], metavar="SOURCE:TARGET",
                        help="mount SOURCE over TARGET for COMMAND only")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="+")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return inner(args) if args.inner else outer(args)


if __name__ == "__main__":
    sys.exit(main())
