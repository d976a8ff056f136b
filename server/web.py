"""The HTTP server's protocol: uvicorn's h11 protocol with Nagle's algorithm off.

A kept-alive connection otherwise waits ~40 ms for the client's delayed ACK before the
small second write of a response goes out (seen with KEZEK_WEB_WORKERS > 1, where
uvicorn's worker processes leave TCP_NODELAY unset: uvicorn issue #3149).
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    # As in uvicorn's own: asyncio types the argument BaseTransport, a TCP server gives a Transport.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)
