"""A DNS server on a loopback UDP port that answers one name with several IPv4
addresses, for the test of a name that resolves to several replicas: gRPC's
DNS resolver (c-ares) asks the server a target names (``dns://<server>/<name>:<port>``),
so the test needs neither /etc/hosts nor a real zone. Every other question is
answered NXDOMAIN (AAAA for the name: no records)."""

from __future__ import annotations

import socket
import struct
import threading

_TYPE_A = 1
_CLASS_IN = 1
_TTL_SECONDS = 1


class FakeDns:
    """Answers A queries for ``name`` with ``addresses`` until closed."""

    def __init__(self, name: str, addresses: list[str]) -> None:
        self._name = name.lower()
        self._addresses = addresses
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        #: The questions asked, as ``name/type``.
        self.questions: list[str] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def authority(self) -> str:
        """``127.0.0.1:<port>``, the DNS server part of a gRPC ``dns:`` target."""
        return f"127.0.0.1:{self._socket.getsockname()[1]}"

    def close(self) -> None:
        self._socket.close()
        self._thread.join(5)

    def _serve(self) -> None:
        while True:
            try:
                packet, peer = self._socket.recvfrom(512)
            except OSError:
                return  # closed
            self._socket.sendto(self._answer(packet), peer)

    def _answer(self, packet: bytes) -> bytes:
        (ident,) = struct.unpack(">H", packet[:2])
        labels, at = [], 12
        while packet[at]:
            labels.append(packet[at + 1 : at + 1 + packet[at]].decode("ascii"))
            at += 1 + packet[at]
        question_type, _ = struct.unpack(">HH", packet[at + 1 : at + 5])
        question = packet[12 : at + 5]
        name = ".".join(labels).lower()
        self.questions.append(f"{name}/{question_type}")
        records = b""
        count = 0
        if name == self._name and question_type == _TYPE_A:
            for address in self._addresses:
                # A pointer to the name in the question, then type, class, TTL, length, address.
                records += b"\xc0\x0c" + struct.pack(">HHIH", _TYPE_A, _CLASS_IN, _TTL_SECONDS, 4)
                records += socket.inet_aton(address)
                count += 1
        # A response, recursion available; NXDOMAIN (3) for names it does not know.
        flags = 0x8180 | (0 if name == self._name else 3)
        return struct.pack(">HHHHHH", ident, flags, 1, count, 0, 0) + question + records
