"""Real local servers for the gateway adapters: nothing here is mocked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.local_servers import LocalHttpServer, StoringHandler
from tests.helpers.local_servers import free_port as _free_port


@pytest.fixture
def http_server() -> Iterator[LocalHttpServer]:
    with LocalHttpServer() as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (it was free a moment ago)."""
    return _free_port()


@pytest.fixture
def free_port() -> int:
    return _free_port()


@pytest.fixture
def smtp_server(free_port: int) -> Iterator[tuple[StoringHandler, int]]:
    """A real aiosmtpd SMTP server on 127.0.0.1 (in its own thread and event loop)."""
    from aiosmtpd.controller import Controller

    handler = StoringHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port)
    controller.start()
    try:
        yield handler, free_port
    finally:
        controller.stop()
