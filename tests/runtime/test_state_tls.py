"""Redis over TLS with a private CA (Memorystore's per-cluster CA): the client trusts exactly that CA."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from runtime.contract import environment
from runtime.state.client import connect_redis, tls_options

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI to make a CA")


@dataclass(frozen=True)
class Pki:
    ca_pem: str
    other_ca_pem: str
    cert: Path
    key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(directory: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=directory)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA, a server certificate it signs (naming no IP the client dials), and an unrelated CA."""
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "cluster-ca")
    _ca(d, "other-ca")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=redis-node", "-keyout", "server.key",
             "-out", "server.csr", cwd=d)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "cluster-ca.pem", "-CAkey", "cluster-ca.key",
             "-CAcreateserial", "-days", "1", "-out", "server.pem", cwd=d)
    return Pki((d / "cluster-ca.pem").read_text(), (d / "other-ca.pem").read_text(), d / "server.pem", d / "server.key")


def _commands(buffer: bytes) -> tuple[list[list[bytes]], bytes]:
    """Complete RESP arrays in `buffer`, and what is left over."""
    commands: list[list[bytes]] = []
    while buffer.startswith(b"*"):
        lines = buffer.split(b"\r\n")
        count = int(lines[0][1:])
        if len(lines) < 1 + 2 * count + 1:
            break
        args = [lines[2 + 2 * i] for i in range(count)]
        consumed = sum(len(line) + 2 for line in lines[: 1 + 2 * count])
        commands.append(args)
        buffer = buffer[consumed:]
    return commands, buffer


def _serve(listener: socket.socket, context: ssl.SSLContext, stop: threading.Event) -> None:
    """A TLS endpoint speaking just enough RESP: HELLO -> a RESP3 map, PING -> PONG, anything else -> OK."""
    replies = {b"PING": b"+PONG\r\n", b"HELLO": b"%1\r\n+proto\r\n:3\r\n"}
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            raw, _ = listener.accept()
        except TimeoutError:
            continue
        try:
            with context.wrap_socket(raw, server_side=True) as conn:
                pending = b""
                while data := conn.recv(65536):
                    commands, pending = _commands(pending + data)
                    for command in commands:
                        conn.sendall(replies.get(command[0].upper(), b"+OK\r\n"))
        except (ssl.SSLError, OSError):
            continue  # a client that rejected our certificate


@pytest.fixture(scope="module")
def tls_redis(pki: Pki) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert, pki.key)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(listener, context, stop), daemon=True)
    thread.start()
    yield f"rediss://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    listener.close()


def test_the_client_verifies_the_server_with_the_ca_the_data_layer_hands_over(tls_redis: str, pki: Pki) -> None:
    assert connect_redis(tls_redis, ca_cert=pki.ca_pem).ping() is True


def test_a_server_signed_by_another_ca_is_refused(tls_redis: str, pki: Pki) -> None:
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        connect_redis(tls_redis, ca_cert=pki.other_ca_pem).ping()


def test_without_the_ca_the_system_roots_refuse_the_private_certificate(tls_redis: str) -> None:
    with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
        connect_redis(tls_redis, ca_cert="").ping()


def test_the_ca_comes_from_the_file_the_control_plane_mounts(
    tls_redis: str, pki: Pki, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "ca.crt").write_text(pki.ca_pem)
    monkeypatch.setenv(environment.REDIS_CA_CERT_FILE, str(tmp_path / "ca.crt"))
    assert connect_redis(tls_redis).ping() is True


def test_plain_connections_and_an_empty_ca_take_no_tls_options() -> None:
    assert tls_options("redis://10.0.0.1:6379", "PEM") == {}
    assert tls_options("rediss://10.0.0.1:6379", " ") == {}
    assert tls_options("rediss://10.0.0.1:6379", "PEM")["ssl_ca_data"] == "PEM"
