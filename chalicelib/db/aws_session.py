"""The instance's one botocore session (in db/, the only code that knows botocore), from which every AWS client
is built: DynamoDB's (pynamodb's connection),
SSM's for the secrets (chalicelib/config.py) and SQS's for the jobs' queue.

A session loads the endpoint table (1.2 MB of JSON), the list of services and its event handlers once; a second
session (boto3's default one, or the one pynamodb makes per connection) pays all of it again, ~40 ms of a cold start.
boto3 itself is not needed: its import alone (s3transfer, multiprocessing) costs more than the one call it wraps.

The session reads service models from chalicelib/aws_models/ first: SSM's there holds only the two operations the
function calls (infra/aws_models.py makes it from botocore's), so the secrets' client costs little to build."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from botocore.session import Session, get_session

__all__ = ["client", "session"]

MODELS = Path(__file__).resolve().parents[1] / "aws_models"
_lock = threading.Lock()
_session: list[Session] = []


def session() -> Session:
    """The shared session, made on first use (settings such as the region come from the environment, as boto3's)."""
    with _lock:
        if not _session:
            made = get_session()
            made.get_component("data_loader").search_paths.insert(0, str(MODELS))
            _session.append(made)
        return _session[0]


def client(service: str) -> Any:
    """A new client of ``service`` from the shared session (region and endpoint from the environment, as
    ``boto3.client(service)``). A botocore session is not safe to share between threads while it builds a client."""
    shared = session()
    with _lock:
        return shared.create_client(service)
