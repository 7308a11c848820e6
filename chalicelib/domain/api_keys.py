"""What a typed API key says before it is checked: a partner's key names its partner and key id in the clear before
its secret (``lk_<partner>.<key id>.<secret>``); the operator's and older keys name none. Made and checked in
``chalicelib/services/auth.py``; the partner portal's sign-in limit counts the secret's first characters
(``chalicelib/machinery/limits.py``)."""

from __future__ import annotations

import re

__all__ = ["KEY_PREFIX", "NAME_SEP", "named_in", "secret_part"]

KEY_PREFIX = "lk_"
NAME_SEP = "."  # never in an id nor in a URL-safe secret


def named_in(token: str) -> tuple[str, str] | None:
    """The (partner id, key id) a partner's key names, or None for a key that names none (the operator's, older
    keys). A name is only a claim: ``auth.authenticate`` believes it once the key's own item says the same."""
    if not token.startswith(KEY_PREFIX):
        return None
    parts = token[len(KEY_PREFIX) :].split(NAME_SEP)
    if len(parts) != 3 or not _PARTNER_ID.fullmatch(parts[0]) or not _KEY_ID.fullmatch(parts[1]) or not parts[2]:
        return None
    return parts[0], parts[1]


# The ids a key can name, as ``ids.random_id`` makes them (ASCII, short): a name of any other shape is no claim, and
# the key is read by its hash alone. What a claim names is read with the request's first read, before the claim is
# checked: a name of any length would make a key DynamoDB refuses (a sort key is at most 1,024 bytes).
_PARTNER_ID = re.compile(r"ptn_[0-9a-z]{1,32}")
_KEY_ID = re.compile(r"key_[0-9a-z]{1,32}")


def secret_part(token: str) -> str:
    """What is secret in a typed key: without the names a partner's key starts with."""
    return token if named_in(token) is None else KEY_PREFIX + token.rsplit(NAME_SEP, 1)[1]
