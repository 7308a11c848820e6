"""Mutants of the guards that keep scale exact: a campaign's budget shards (allowances that sum to the budget, closed
shards), the reconciliation run's guarded saves, the expiry's segments handed out once."""

from __future__ import annotations

from bench.mutant_sets import Mutant

MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "budget shards' allowances sum to more than the budget",
        "    return [base + (1 if k < extra else 0) for k in range(shards)]",
        "    return [base + 1 for k in range(shards)]",
        (
            "tests/test_award_decision.py::test_a_budget_splits_into_allowances_that_sum_to_it_exactly",
            "tests/test_campaign_shards.py::test_simultaneous_awards_spread_over_the_shards_and_use_the_budget_exactly",
        ),
    ),
    Mutant(
        "a closed budget shard still awards",
        "    guard = CampaignShardItem.closed.does_not_exist()",
        "    guard = CampaignShardItem.closed.does_not_exist() | CampaignShardItem.closed.exists()",
        ("tests/test_db_repositories.py::test_a_closed_shard_refuses_awards_even_with_room",),
    ),
    Mutant(
        "a reconciliation page saved without its version guard",
        "    return _put(run, (R.job_id == run.job_id) & (R.version == run.version - 1))",
        "    return _put(run, R.job_id == run.job_id)",
        ("tests/test_scale_jobs.py::test_a_page_saved_by_another_worker_is_not_counted_twice",),
    ),
    Mutant(
        "a reconciliation started over one under way",
        '    condition = R.pk.does_not_exist() | (R.status == "done") | (R.touched < int(stale_before.timestamp()))',
        '    condition = R.pk.does_not_exist() | (R.status == "done") | R.touched.exists()',
        ("tests/test_scale_jobs.py::test_two_runs_started_at_once_make_one",),
    ),
    Mutant(
        "expiry segments handed out again while their worker still runs",
        "        & (ExpirySegmentItem.touched < int(saved_before.timestamp())),",
        "        & ExpirySegmentItem.touched.exists(),",
        (
            "tests/test_scale_jobs.py::"
            "test_the_expiry_hands_out_one_task_per_segment_and_workers_settle_them_with_their_own_cursors",
        ),
    ),
    Mutant(
        "the close keeps a reconciliation made while the month was open",
        "    partial = whole and existing is not None and _open_when_started(period, existing.started_at)",
        "    partial = False",
        (
            "tests/test_scale_jobs.py::test_the_close_reconciles_the_whole_month_not_a_run_made_while_it_was_open",
            "tests/test_scale_jobs.py::test_the_close_does_not_adopt_a_run_still_reading_the_open_month",
        ),
    ),
    Mutant(
        "the close cannot replace a run still reading the open month",
        "    return _put(run, condition | (R.job_id == replacing) if replacing is not None else condition)",
        "    return _put(run, condition)",
        ("tests/test_scale_jobs.py::test_the_close_does_not_adopt_a_run_still_reading_the_open_month",),
    ),
    Mutant(
        "the expiry reminder counts only what her last write left in her lots",
        "    lots = as_of(customer.wallet, now, program.load().timezone).lots",
        "    lots = customer.wallet.lots",
        (
            "tests/test_customer_reminders.py::test_an_idle_customer_is_reminded_of_points_that_matured_from_a_return_window",
        ),
    ),
    Mutant(
        "an open month's reconciliation not marked provisional",
        '    return out.model_copy(update={"provisional": _open_when_started(run.period, run.started_at)})',
        '    return out.model_copy(update={"provisional": False})',
        (
            "tests/test_scale_jobs.py::"
            "test_a_purchase_during_an_open_months_run_is_marked_provisional_and_the_closes_run_is_exact",
        ),
    ),
    Mutant(
        "a frozen report in one item whatever its size",
        '    chunks = [packed[i : i + PART_CHARS] for i in range(0, len(packed), PART_CHARS)] or [""]',
        "    chunks = [packed]",
        (
            "tests/test_scale_jobs.py::"
            "test_a_frozen_report_bigger_than_an_item_even_compressed_is_stored_over_parts_and_read_back_whole",
        ),
    ),
    Mutant(
        "pending points of an ended month left unmarked by the expiry job",
        "        if split_lot_key(lot)[0] <= month:",
        "        if False:",
        (
            "tests/test_lifecycle.py::"
            "test_points_stored_pending_in_a_lot_that_ends_before_they_mature_are_booked_as_expired_once_they_do",
        ),
    ),
    Mutant(
        "a reconciliation's folded figures stored unpacked",
        "        sums=pack(figures_to_json(run.sums)),  # one figure per issuer and acceptor: 400 KB at ~130 partners",
        "        sums=figures_to_json(run.sums),",
        ("tests/test_scale_jobs.py::test_a_run_whose_folded_figures_pass_an_items_size_is_saved_and_resumed_whole",),
    ),
    Mutant(
        "a reconciliation's result stored unpacked",
        "        result=pack(run.result) if run.result else None,  "
        "# every difference, by issuer too: as big as the sums",
        "        result=run.result,",
        ("tests/test_scale_jobs.py::test_a_run_whose_folded_figures_pass_an_items_size_is_saved_and_resumed_whole",),
    ),
)
