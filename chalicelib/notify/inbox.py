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
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from chalicelib.notify.port import Channel, ChannelNotConfigured, Delivery, Message, mask

PROVIDER = "dev_inbox"
CAPACITY = 200
FLAG = "LOYALTY_DEV_INBOX"
TEMPLATE = Path(__file__).with_name("inbox.html")
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


def render_html(entries: list[InboxEntry], nonce: str) -> str:
    """The inbox page: the template's skeleton with one row per message. Every value goes in as element text or an
    attribute, so ElementTree escapes it; no HTML is assembled from strings."""
    root = ET.fromstring(TEMPLATE.read_text(encoding="utf-8"))  # noqa: S314 - our own file
    style = root.find("./head/style")
    main = root.find("./body/main")
    rows = root.find(".//tbody[@id='rows']")
    empty = root.find(".//p[@id='empty']")
    table = root.find(".//table[@id='messages']")
    assert style is not None and main is not None and rows is not None and empty is not None and table is not None
    style.set("nonce", nonce)
    main.remove(table if not entries else empty)
    for entry in entries:
        row = ET.SubElement(rows, "tr")
        for value in (entry.sent_at.replace("+00:00", "Z"), entry.channel, entry.to, entry.purpose):
            ET.SubElement(row, "td").text = value
        code_cell = ET.SubElement(row, "td")
        if entry.code:
            ET.SubElement(code_cell, "code").text = entry.code
        _linkified(ET.SubElement(row, "td", {"class": "text"}), entry.text)
    return "<!DOCTYPE html>\n" + ET.tostring(root, encoding="unicode", method="html")


def _linkified(cell: ET.Element, text: str) -> None:
    """Text with its http(s) links clickable (portal links in particular)."""
    last: ET.Element | None = None
    position = 0
    for match in _URL.finditer(text):
        _append_text(cell, last, text[position : match.start()])
        last = ET.SubElement(cell, "a", {"href": match.group(), "rel": "noreferrer"})
        last.text = match.group()
        position = match.end()
    _append_text(cell, last, text[position:])


def _append_text(cell: ET.Element, last: ET.Element | None, text: str) -> None:
    if last is None:
        cell.text = (cell.text or "") + text
    else:
        last.tail = (last.tail or "") + text
