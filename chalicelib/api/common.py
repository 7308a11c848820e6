"""What the JSON API's route modules share: the error statuses most routes declare, the key pepper."""

from __future__ import annotations

from chalicelib import runtime

AUTH_ERRORS = (401, 403)
WRITE_ERRORS = (400, 401, 403, 409, 413, 415, 422)
BODY_ERRORS = (400, 401, 403, 404, 413, 415, 422)  # a body to validate, nothing recorded


def pepper() -> str:
    return runtime.get().settings.key_pepper
