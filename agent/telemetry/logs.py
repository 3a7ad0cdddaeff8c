"""Logging set-up for the daemon: text or one JSON object per line (structured logs)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# The log channel the SSH collector gives paramiko's transport (collectors.ssh.client).
SSH_TRANSPORT_LOG = "collectors.ssh.transport"

_STD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STD and not key.startswith("_"):
                out[key] = (
                    value if isinstance(value, str | int | float | bool | None) else str(value)
                )
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    quiet_libraries(root.level)


def quiet_libraries(level: int) -> None:
    """Libraries log WARNING and above only; paramiko's transport thread shows at debug only."""
    for noisy in ("pysnmp", "asyncio", "apscheduler", "uvicorn", "paramiko", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, level))
    # paramiko's transport thread logs every failed handshake (a port that is not SSH, a host
    # that hangs up) with a traceback at ERROR. The same failure reaches the poll as a clear
    # error and is recorded in its poll run, so those lines show only at debug level.
    logging.getLogger(SSH_TRANSPORT_LOG).setLevel(
        logging.DEBUG if level <= logging.DEBUG else logging.CRITICAL
    )
