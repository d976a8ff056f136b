"""Logging: one line per event, with the request id; IINs are never logged (a filter
replaces anything that looks like one)."""

from __future__ import annotations

import contextvars
import logging
import re

from server.config import Settings

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_IIN = re.compile(r"(?<!\d)\d{12}(?!\d)")


class Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _IIN.search(message):
            record.msg = _IIN.sub("[iin]", message)
            record.args = None
        record.request_id = request_id.get()
        return True


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    handler.addFilter(Redact())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for name in ("uvicorn.access",):
        logging.getLogger(name).addFilter(Redact())
