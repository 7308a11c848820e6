"""A partner's DNS server that answers as it likes: a public address to the first lookup of a name, a private one
to every later lookup (DNS rebinding), and a network that records where connections go. TLS stops at the handshake
(a stub context records the name it would check), so nothing leaves the machine."""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass, field
from typing import Any

PUBLIC = "93.184.216.34"


@dataclass
class Rebinding:
    asked: list[str] = field(default_factory=list)  # names looked up
    connected: list[tuple[str, int]] = field(default_factory=list)  # where sockets went
    names: list[str | None] = field(default_factory=list)  # the names TLS checked (SNI)


def rebinding(monkeypatch: Any, public_answers: int = 1) -> Rebinding:
    """Install the stub (production mode on: only public https may be called) and return what it records: a name
    answers ``public_answers`` lookups with a public address, every later one with 127.0.0.1."""
    seen = Rebinding()
    lookups: dict[str, int] = {}

    def resolve(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        seen.asked.append(host)
        if host[0].isdigit():
            address = host
        else:
            lookups[host] = lookups.get(host, 0) + 1
            address = PUBLIC if lookups[host] <= public_answers else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        host, port = address  # what socket.create_connection does: resolve, then connect
        seen.connected.append(resolve(host, port)[0][4])
        return socket.socket()

    class Context(ssl.SSLContext):
        def wrap_socket(self, sock: Any, *args: Any, server_hostname: str | None = None, **kwargs: Any) -> Any:
            seen.names.append(server_hostname)
            sock.close()
            raise ssl.SSLError("stub")

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "loyalty-test")
    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(ssl, "create_default_context", lambda *a, **kw: Context(ssl.PROTOCOL_TLS_CLIENT))
    return seen
