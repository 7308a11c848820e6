"""The operator changes the program settings (``chalicelib/machinery/program.py`` reads them).

``point_value_minor`` and ``operator_fee_bps`` move money: a change takes effect from a date (``effective_from``,
default the first day of the next period) and is kept in a schedule on the program item, never applied backwards.
Every other setting applies at once. The currency cannot change once a partner exists (amounts are never converted).
"""

from __future__ import annotations

from datetime import datetime

from chalicelib import cache, db
from chalicelib.db import partners as partners_db
from chalicelib.db import program as program_db
from chalicelib.domain.audit import Change, Stamp, changed
from chalicelib.domain.schedule import PastDate, Schedule
from chalicelib.errors import Unavailable, ValidationFailed
from chalicelib.machinery import audit, program
from chalicelib.machinery.program import MONEY_SETTINGS, Program
from chalicelib.schemas import ProgramSettings, UpdateProgram
from chalicelib.services.message_texts import check_templates

MAX_ATTEMPTS = 5


def _invalid(field_name: str, msg: str, kind: str) -> ValidationFailed:
    return ValidationFailed.at(["body", field_name], msg, kind)


def update(change: UpdateProgram, now_iso: str, stamp: Stamp) -> Program:
    now = datetime.fromisoformat(now_iso)
    requested = change.model_dump(exclude_none=True)
    requested.pop("messages", None)  # a subset of the message settings: the rest keep their values
    messages = change.messages.model_dump(mode="json", exclude_unset=True) if change.messages is not None else None
    day_text = requested.pop("effective_from", None)
    money = {name: requested.pop(name) for name in MONEY_SETTINGS if name in requested}
    if day_text is not None and not money:
        raise _invalid("effective_from", f"effective_from applies only to {', '.join(MONEY_SETTINGS)}", "unused")
    for _ in range(MAX_ATTEMPTS):
        read = program_db.load()
        settings, kept = program.stored_settings(read), program.from_stored(read)
        current = kept.at(now)
        if "currency" in requested and requested["currency"] != current.currency and partners_db.any_exist():
            raise _invalid(
                "currency", "the currency cannot change once partners exist (amounts are never converted)", "locked"
            )
        schedule = Schedule({name: int(settings[name]) for name in MONEY_SETTINGS}, kept.schedule.changes)
        if money:
            day = program.effective_day(day_text, now, current.timezone)
            try:
                schedule = schedule.with_change(money, day, now, current.timezone)
            except PastDate as exc:
                raise _invalid("effective_from", str(exc), "date_in_past") from exc
        merged = {**settings, **requested}
        if messages is not None:
            merged["messages"] = {**settings.get("messages", {}), **messages}
        merged.pop("schedule")
        ProgramSettings.model_validate(merged)
        if messages is not None:
            check_templates(messages.get("templates", {}))
        new_settings = {**merged, "schedule": schedule.to_list()}
        was, now_is = changed(settings, new_settings)
        record = audit.also([Change("program.updated", "program", None, was, now_is)] if now_is else [], stamp)
        try:
            written = program_db.save(new_settings, now_iso, read, also=record)
        except db.TxCancelled:
            continue  # changed concurrently: merge into the fresh settings
        cache.clear()
        return program.from_stored(written).at(now)
    raise Unavailable("The program settings kept changing under this request; nothing was written.")
