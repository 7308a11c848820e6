"""``make run``'s saved tables (local/saved_tables.py): every attribute type saved and restored, a failed save
tried again, saves that never overlap, and the last save made before the stop deadline whatever the webhook
dispatcher is doing."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local import run, saved_tables, servers
from local.dispatcher_loop import DispatcherLoop
from local.saved_tables import SavedTables
from tests.test_embedded_dynamodb import create_table

REGION = "eu-central-1"


class _App:
    """What the saver asks of the served app: its lock and how many writes it has taken."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes = 0


def _fresh_backend() -> None:
    from moto.dynamodb.models import dynamodb_backends

    for regions in dynamodb_backends.values():
        for backend in regions.values():
            backend.tables.clear()


def _make_table(c: Any) -> None:
    create_table(c, "rt")


@pytest.fixture
def served() -> Iterator[Any]:
    _fresh_backend()
    dynamo = servers.start_dynamodb()
    try:
        yield dynamo
    finally:
        dynamo.stop()
        _fresh_backend()


def test_every_attribute_type_survives_save_and_restore(tmp_path: Path, served: Any) -> None:
    """Binary values too (moto holds them as bytes, which JSON cannot write), at any depth; the index answers after."""
    c = boto3.client("dynamodb", region_name=REGION, endpoint_url=served.url)
    _make_table(c)
    item = {
        "pk": {"S": "C#1"},
        "sk": {"S": "x"},
        "g": {"S": "grp"},
        "b": {"B": b"\x00\xffbin"},
        "bs": {"BS": [b"\x01", b"\x02"]},
        "n": {"N": "12345678901234567890.5"},
        "ns": {"NS": ["1", "2"]},
        "ss": {"SS": ["a", "b"]},
        "m": {"M": {"k": {"L": [{"NULL": True}, {"BOOL": False}, {"B": b"\x03"}]}}},
        "u": {"S": "Анна"},
        "ttl": {"N": "1700000000"},
    }
    c.put_item(TableName="rt", Item=item)
    before = c.get_item(TableName="rt", Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
    assert SavedTables(tmp_path / "dynamodb.json", served.app).save()
    _fresh_backend()
    _make_table(c)
    assert SavedTables(tmp_path / "dynamodb.json", served.app).restore() == 1
    after = c.get_item(TableName="rt", Key={"pk": item["pk"], "sk": item["sk"]})["Item"]
    assert after == before
    query = {"KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "grp"}}}
    assert c.query(TableName="rt", IndexName="by_g", **query)["Items"] == [before]


def test_one_failed_save_does_not_stop_the_timer_for_good(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk for a moment: the next tick saves again (else nothing is saved until the stop, and a crash
    loses everything since the failure)."""
    app = _App()
    saver = SavedTables(tmp_path / "dynamodb.json", app)
    real = saved_tables.write_private
    failures = [OSError(28, "No space left on device")]

    def flaky(path: Path, text: str) -> None:
        if failures:
            raise failures.pop()
        real(path, text)

    monkeypatch.setattr(saved_tables, "write_private", flaky)
    app.writes = 1
    saver.start(every=0.05)
    try:
        deadline = time.monotonic() + 3
        while not (tmp_path / "dynamodb.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (tmp_path / "dynamodb.json").exists(), "the disk came back, yet nothing was saved again"
    finally:
        saver._stop.set()


def test_the_last_save_while_the_timer_is_still_writing_leaves_the_newest_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow timer save (a big table, a slow disk) at the stop: the last save waits for it, and each writes its
    own temporary file (they shared one, and the last save failed or an older snapshot won)."""
    app = _App()
    path = tmp_path / "dynamodb.json"
    saver = SavedTables(path, app)
    real_fsync = os.fsync
    in_fsync = threading.Event()

    def slow_fsync(fd: int) -> None:
        if threading.current_thread().name == "timer-save":
            in_fsync.set()
            time.sleep(0.5)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    saver.carried = {"old": [{"pk": {"S": "1"}}]}
    app.writes = 1
    errors: list[BaseException] = []

    def timer_save() -> None:
        try:
            saver.save()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    timer = threading.Thread(target=timer_save, name="timer-save")
    timer.start()
    in_fsync.wait(5)
    saver.carried = {"old": [{"pk": {"S": "1"}}], "new": [{"pk": {"S": "2"}}]}  # a write after the timer's snapshot
    app.writes = 2
    try:
        saver.save()  # the stop's last save
    except BaseException as exc:  # noqa: BLE001 - the test reports it
        errors.append(exc)
    timer.join()
    assert errors == []
    assert set(json.loads(path.read_text())["tables"]) == {"old", "new"}
    assert [p.name for p in tmp_path.iterdir()] == ["dynamodb.json"]  # no temporary file left behind


def test_the_last_save_comes_before_the_stop_deadline_whatever_the_dispatcher_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM while a dispatcher pass waits on a partner's webhook (5 s per attempt): the last save must not wait
    for the pass past the deadline, where the process ends unsaved."""

    class MidDelivery(DispatcherLoop):
        def _run(self) -> None:
            time.sleep(6)  # one pass: a partner's endpoint that accepts and never answers

    saved_at: list[float] = []
    real = saved_tables.write_private

    def noting(path: Path, text: str) -> None:
        real(path, text)
        saved_at.append(time.monotonic())

    monkeypatch.setattr(saved_tables, "write_private", noting)
    app = _App()
    app.writes = 1
    saver = SavedTables(tmp_path / "dynamodb.json", app)
    running = run._Running(dispatcher=MidDelivery().start(), saver=saver)
    signalled = time.monotonic()
    threading.Thread(target=running.stop, daemon=True).start()
    time.sleep(run.STOP_DEADLINE_SECONDS)  # then the stopper's deadline: os._exit(1)
    assert saved_at and saved_at[0] - signalled < run.STOP_DEADLINE_SECONDS, "the process would end unsaved"
