"""The operator's console over HTTP: each page reads the services' answers in the operator's language, each form
writes through the same services as the operator's API, refusals come back next to their fields, and read-only staff
can change nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from tests.conftest import OPERATOR_KEY, TRUSTED

NONCE = "A" * 22


def visit(api: Any, path: str, key: str = OPERATOR_KEY) -> tuple[int, str, dict[str, str]]:
    r = api.http.get(path, headers={"Authorization": f"Bearer {key}"})
    return r.status_code, r.body.decode(), dict(r.headers)


def send(api: Any, path: str, form: dict[str, str], key: str = OPERATOR_KEY, nonce: str = NONCE) -> tuple[int, str, dict[str, str]]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-www-form-urlencoded"}
    r = api.http.post(path, headers=headers, body=urlencode({"nonce": nonce, **form}))
    return r.status_code, r.body.decode(), dict(r.headers)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\u00a0", " ")


def partner(api: Any, name: str, **extra: Any) -> dict[str, Any]:
    r = api.post("/v1/admin/partners", {"name": name, **TRUSTED, **extra})
    assert r.status == 201, r.json
    return dict(r.json)
