"""Identifiers. Entry ids sort by time so a customer's history reads newest first straight from the index."""

from __future__ import annotations

import base64
import itertools
import os
import re
import secrets
import threading
from datetime import datetime

from chalicelib.memo import last_answer

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case: sortable, no i/l/o/u


_PAIRS = [high + low for high in _ALPHABET for low in _ALPHABET]  # two digits at once: 10 bits


def _base32(number: int, width: int) -> str:
    """The lowest ``width`` base-32 digits of ``number``, most significant first (every id is made of these: two
    digits per step, read by shifts)."""
    even = width - width % 2
    digits = "".join([_PAIRS[(number >> shift) & 1023] for shift in range(5 * even - 10, -1, -10)])
    return _ALPHABET[(number >> (5 * even)) & 31] + digits if width % 2 else digits


def random_id(prefix: str, length: int = 16) -> str:
    return f"{prefix}_{_base32(secrets.randbits(5 * length), length)}"


_sequence = itertools.count()
_sequence_lock = threading.Lock()
_MILLIS_DIGITS = (1 << 50) - 1  # the 10 digits of milliseconds an id keeps


def sortable_id(prefix: str, moment: datetime) -> str:
    """``prefix_`` + 10 chars of milliseconds + 4 chars of a process sequence + 8 random chars.

    Sorting by id sorts by time; ids minted by one process within the same millisecond keep their order.
    """
    head = _millis_digits(moment)
    with _sequence_lock:
        seq = next(_sequence) % (32**4)
    # 40 random bits are 5 bytes of urandom (what ``secrets.randbits(40)`` reads too).
    return f"{prefix}_{_digits(head, seq, int.from_bytes(os.urandom(5), 'big'))}"


def _millis_of(moment: datetime) -> str:
    """The 10 digits of an instant's milliseconds (since the calendar's first day, as ``toordinal`` counts)."""
    millis = (moment.toordinal() * 86_400 + moment.hour * 3600 + moment.minute * 60 + moment.second) * 1000
    return _base32((millis + moment.microsecond // 1000) & _MILLIS_DIGITS, 10)


# A write's ids share its ``now``: the digits of its milliseconds are worked out once for that very datetime.
_millis_digits = last_answer(_millis_of)


def _digits(head: str, seq: int, random_bits: int) -> str:
    """``head`` (the 10 digits of milliseconds) and ``_base32(seq << 40 | random_bits, 12)``: the 4 and 8 digits of
    the two parts written apart, pair by pair on small numbers (shifting one 110-bit number costs twice as much)."""
    pairs = _PAIRS
    return (
        f"{head}{pairs[seq >> 10]}{pairs[seq & 1023]}{pairs[random_bits >> 30]}{pairs[random_bits >> 20 & 1023]}"
        f"{pairs[random_bits >> 10 & 1023]}{pairs[random_bits & 1023]}"
    )


_B64URL = re.compile(r"[A-Za-z0-9_-]*")  # fullmatch


def b64url(raw: bytes) -> str:
    """URL-safe base64 without padding: the one encoding of public ids, cursors, portal tokens and derived keys."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    """The bytes of :func:`b64url` text; ``ValueError`` (``binascii.Error``) for what it cannot have made.

    Strict: a text has exactly one spelling. Padding, the standard alphabet (``+``, ``/``), whitespace or stray bits
    in the last character are refused, so a token re-encoded by some other tool is not a second valid token (which
    would slip past a check keyed on the text)."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(raw) != text:  # the last character carried bits that encode nothing
        raise ValueError("not canonical base64url")
    return raw


def encode_ref(prefix: str, natural_id: str) -> str:
    """A public id that carries the partner's own order id, so capture/void need no extra lookup item."""
    return f"{prefix}_{b64url(natural_id.encode())}"


def decode_ref(prefix: str, public_id: str) -> str | None:
    head = f"{prefix}_"
    if not public_id.startswith(head):
        return None
    token = public_id[len(head) :]
    try:
        return unb64url(token).decode()
    except (ValueError, UnicodeDecodeError):
        return None
