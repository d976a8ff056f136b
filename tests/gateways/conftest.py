"""Real local servers for the gateway adapters: nothing here is mocked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.supervisor import free_port
from tests.helpers.local_servers import LocalHttpServer, StoringHandler


@pytest.fixture
def http_server() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (it was free a moment ago)."""
    return free_port()


@pytest.fixture
def smtp_server() -> Iterator[tuple[StoringHandler, int]]:
    """A real aiosmtpd SMTP server on 127.0.0.1 (in its own thread and event loop)."""
    from aiosmtpd.controller import Controller

    handler = StoringHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
