"""The period's reconciliation run in the table (``RECON#<YYYY-MM>`` / ``RUN``): started, saved page by page under
a version guard, read by the route. The computation is ``chalicelib/services/reconciliation.py``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import cast

from pynamodb.expressions.condition import Condition

from chalicelib.db import keys
from chalicelib.db.packed import pack, unpack_json
from chalicelib.db.reads import connection, get_one
from chalicelib.db.scale_models import ReconciliationItem
from chalicelib.db.tx import Transaction, TxCancelled
from chalicelib.domain.reconciliation import Run, RunStatus, figures_from_json, figures_to_json

__all__ = ["load", "save", "start"]


def _run(item: ReconciliationItem) -> Run:
    return Run(
        period=item.pk.removeprefix("RECON#"),
        job_id=item.job_id,
        status=cast(RunStatus, item.status),
        started_at=item.started_at,
        updated_at=item.updated_at,
        finished_at=item.finished_at,
        partners=list(json.loads(item.partners)),
        unit=int(item.unit),
        start_key=item.start_key,
        entries=int(item.entries),
        pages=int(item.pages),
        sums=figures_from_json(unpack_json(item.sums)),
        result=unpack_json(item.result) if item.result else None,
        version=int(item.version),
    )


def _item(run: Run) -> ReconciliationItem:
    return ReconciliationItem(
        *keys.reconciliation(run.period),
        job_id=run.job_id,
        status=run.status,
        started_at=run.started_at,
        updated_at=run.updated_at,
        touched=int(datetime.fromisoformat(run.updated_at).timestamp()),
        finished_at=run.finished_at,
        partners=json.dumps(run.partners),
        unit=run.unit,
        start_key=run.start_key,
        entries=run.entries,
        pages=run.pages,
        sums=pack(figures_to_json(run.sums)),  # one figure per issuer and acceptor: 400 KB at ~130 partners
        result=pack(run.result) if run.result else None,  # every difference, by issuer too: as big as the sums
        version=run.version,
    )


def load(period: str) -> Run | None:
    item = get_one(ReconciliationItem, *keys.reconciliation(period))
    return None if item is None else _run(item)


def _put(run: Run, condition: Condition) -> bool:
    tx = Transaction()
    tx.put(_item(run), condition=condition)
    try:
        tx.commit(connection())
    except TxCancelled:
        return False
    return True


def start(run: Run, stale_before: datetime, replacing: str | None = None) -> bool:
    """Store a new run unless one is under way (running and saved since ``stale_before``); False if one is.
    ``replacing``: the job id of a run under way that may be replaced all the same (its worker stops: its saves
    are refused once the job id changed)."""
    R = ReconciliationItem
    condition = R.pk.does_not_exist() | (R.status == "done") | (R.touched < int(stale_before.timestamp()))
    return _put(run, condition | (R.job_id == replacing) if replacing is not None else condition)


def save(run: Run) -> bool:
    """Save the run's progress if nobody saved it since it was read (same job, ``version`` one less); False if
    another worker did (the page is then theirs, counted once)."""
    R = ReconciliationItem
    return _put(run, (R.job_id == run.job_id) & (R.version == run.version - 1))
