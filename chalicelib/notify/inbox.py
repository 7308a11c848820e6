"""The development inbox: where every message lands under ``make run`` instead of leaving the machine.

Messages are kept in memory (the newest 200), printed to the terminal one line each, and listed by
``GET /dev/inbox`` and ``GET /dev/inbox.json``. It is the one place a one-time code is shown, so it exists only
locally: it refuses to send inside AWS Lambda, and its routes are registered only when ``LOYALTY_DEV_INBOX=1``
(set by ``local/run.py``, never by the deployed stack).
"""

from __future__ import annotations

import os
import re
import sys
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from chalicelib.notify.port import Channel, ChannelNotConfigured, Delivery, Message, mask

PROVIDER = "dev_inbox"
CAPACITY = 200
FLAG = "LOYALTY_DEV_INBOX"
_URL = re.compile(r"https?://[^\s<>\"']+")


def running_in_aws(env: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if env is None else env).get("AWS_LAMBDA_FUNCTION_NAME"))


def dev_inbox_enabled(env: Mapping[str, str] | None = None) -> bool:
    """True under ``make run`` only: the flag is set and this is not a Lambda."""
    env = os.environ if env is None else env
    return env.get(FLAG) == "1" and not running_in_aws(env)


@dataclass(frozen=True)
class InboxEntry:
    to: str
    channel: Channel
    text: str
    code: str | None
    purpose: str
    sent_at: str
    message_id: str

    def as_json(self) -> dict[str, Any]:
        """The contract's shape: to, channel, text, code (when the message carries one), sent_at; plus purpose, id."""
        data = asdict(self)
        if self.code is None:
            del data["code"]
        return data


class Inbox:
    """A bounded ring buffer, safe for the threads of the local server."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._entries: deque[InboxEntry] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def add(self, entry: InboxEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[InboxEntry]:
        """Newest first."""
        with self._lock:
            return list(reversed(self._entries))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


INBOX = Inbox()  # the process's inbox: make run's server threads and its notifier share it


class DevInboxNotifier:
    def __init__(
        self,
        inbox: Inbox | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        out: TextIO | None = None,
    ) -> None:
        self._inbox = INBOX if inbox is None else inbox
        self._now = now
        self._out = out

    def send(self, message: Message) -> Delivery:
        if running_in_aws():
            raise ChannelNotConfigured(
                "no notification channel is configured (the development inbox does not exist in AWS)",
                provider=PROVIDER,
            )
        entry = InboxEntry(
            to=message.to,
            channel=message.channel,
            text=message.text,
            code=message.code,
            purpose=message.purpose,
            sent_at=self._now().astimezone(UTC).isoformat(timespec="seconds"),
            message_id=f"dev_{uuid.uuid4().hex[:16]}",
        )
        self._inbox.add(entry)
        line = " ⏎ ".join(message.text.splitlines())
        print(f"[inbox] {message.channel} to {mask(message.to)}: {line}", file=self._out or sys.stdout, flush=True)
        return Delivery(message.channel, PROVIDER, entry.message_id, mask(message.to))


# --- the page -----------------------------------------------------------------------------------------------------


def inbox_rows(entries: list[InboxEntry]) -> list[dict[str, Any]]:
    """The inbox page's view model: one row per message, its text split into plain parts and http(s) links (so
    portal links are clickable); the template escapes every part."""
    return [
        {
            "sent_at": entry.sent_at.replace("+00:00", "Z"),
            "channel": entry.channel,
            "to": entry.to,
            "purpose": entry.purpose,
            "code": entry.code,
            "segments": _segments(entry.text),
        }
        for entry in entries
    ]


def _segments(text: str) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    position = 0
    for match in _URL.finditer(text):
        if match.start() > position:
            out.append((text[position : match.start()], False))
        out.append((match.group(), True))
        position = match.end()
    if position < len(text):
        out.append((text[position:], False))
    return out
