"""JSON logs with the request id on every line (structlog over stdlib logging).

Every record, from our code, uvicorn or SQLAlchemy, goes through one
``ProcessorFormatter``: one JSON object per line with ``timestamp``, ``level``,
``logger``, ``event``, ``service``, ``request_id`` and any ``extra=`` fields.
Nothing here logs headers, bodies or query strings: tokens, passwords and
personal answers never reach a log line.

Nor does any line echo unbounded input: every text of a record (the event,
each extra field, an exception's message and traceback) is cut to a fixed
size by ``cap_lengths``, the last processor before rendering. An exception
that carries a value someone sent (a 64 MB string in a file-name error) adds
at most ``MAX_LINE`` characters per traceback line and ``MAX_EXCEPTION`` in
all. SQL errors carry no statement parameters at all (``servicekit.db``).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_configured = False

MAX_VALUE = 1024  # characters of any one field of a record
MAX_LINE = 512  # characters of one line of a traceback
MAX_EXCEPTION = 16 * 1024  # characters of a whole formatted exception


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit} more characters]"


def _cap(value: Any) -> Any:
    if isinstance(value, str):
        return _cut(value, MAX_VALUE)
    if isinstance(value, (list, tuple)):
        return [_cap(v) for v in value[:50]]
    if isinstance(value, dict):
        return {_cut(str(k), 128): _cap(v) for k, v in list(value.items())[:50]}
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    return _cut(repr(value), MAX_VALUE)


def cap_lengths(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: no field of a log record is unbounded."""
    for key, value in list(event_dict.items()):
        if key == "exception" and isinstance(value, str):
            lines = [_cut(line, MAX_LINE) for line in value.splitlines()]
            text = "\n".join(lines)
            # The end of a traceback says what failed: keep it.
            event_dict[key] = text if len(text) <= MAX_EXCEPTION else "... [cut] " + text[-MAX_EXCEPTION:]
        else:
            event_dict[key] = _cap(value)
    return event_dict


def configure_logging(service: str, level: str = "INFO", *, json: bool = True) -> None:
    global _configured
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            cap_lengths,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # Our middleware writes one access line per request, with the request id.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request at INFO with its full URL (query strings may
    # carry secrets such as calendar-feed tokens): keep it to warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    _configured = True
