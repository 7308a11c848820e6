"""docs/BENCHMARKS.md from bench/results.json: every target next to what this run measured, and whether it is met;
and the cost section of docs/deploy.md recomputed from the measured request units."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from infra import build_template

# CloudWatch bills each alarm $0.10 a month: as many as the stack declares (all in infra/'s merge template).
ALARMS = sum(1 for r in build_template.build()["Resources"].values() if r.get("Type") == "AWS::CloudWatch::Alarm")

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("cold", "warm", "cold with Idempotency-Key", "warm with Idempotency-Key")
COST_START, COST_END = "<!-- bench:cost -->", "<!-- /bench:cost -->"
# On-demand prices in us-east-1 since 1 November 2024 (DynamoDB's on-demand throughput halved then).
PRICE_WRITE_PER_M, PRICE_READ_PER_M = 0.625, 0.125
STORAGE_OVERHEAD = 100  # bytes DynamoDB adds to every stored item (and every index copy) for storage billing


Met = bool | str | None  # met or missed; a word when the target is to show a number; None: not measured


def verdict(met: Met) -> str:
    if isinstance(met, str):
        return f"**{met}**"
    return "not measured" if met is None else ("**met**" if met else "**missed**")


def targets(r: dict[str, Any]) -> list[tuple[str, str, str, Met]]:
    """(target, measured, goal, met) per line of the issue's "done when"."""
    rows: list[tuple[str, str, str, Met]] = []
    table = r.get("growth", {}).get("table")
    if table:
        rows.append(
            (
                "accrual on the embedded DynamoDB, 100k items vs 1k",
                f"{table['1000']['accrual_ms']} ms -> {table['100000']['accrual_ms']} ms: x{table['ratio_100k_to_1k']}",
                "<= 1.5x",
                table["ratio_100k_to_1k"] <= 1.5,
            )
        )
    rt = r.get("round_trips")
    if rt:
        for name in ("accrual", "redemption", "hold", "capture", "balance"):
            goal = rt[name]["target_round_trips"]
            seen = [rt[name][v]["round_trips"] for v in VARIANTS]
            rows.append(
                (
                    f"{name}: round trips cold / warm / cold+key / warm+key",
                    " / ".join(str(s) for s in seen),
                    f"{goal}",
                    max(seen) <= goal,
                )
            )
    years = r.get("years")
    if years:
        rows.append(
            (
                "customer item write units over three simulated years",
                " -> ".join(
                    f"{years[k]['write_units']} ({years[k]['bytes']} B)" for k in ("month 3", "year 1", "year 3")
                ),
                "flat",
                bool(years["flat"]),
            )
        )
    cold = r.get("cold_start", {})
    rows.append(
        (
            "cold start of the shipped zip vs the floor (same run)",
            f"{cold['wall_ms']['shipped']} ms vs {cold['wall_ms']['floor']} ms: x{cold['ratio_shipped_to_floor']}"
            if cold.get("measured")
            else cold.get("why", "not run"),
            "<= 1.25x",
            cold["ratio_shipped_to_floor"] <= 1.25 if cold.get("measured") else None,
        )
    )
    cpu = r.get("handler_cpu")
    if cpu:
        # The target as the issue measured it (1.42x and 1.64x then): a bare route on botocore's default client, as
        # `boto3.client("dynamodb")` makes it. Beside it, a stricter floor that also has the handler's own client
        # configuration (validation off, the shipped model): what our code between the calls costs, shown.
        shown: list[tuple[str, str, str, Met]] = []
        for name in ("balance", "accrual"):
            m = cpu[name]
            rows.append(
                (
                    f"handler CPU, {name}, vs a bare route making the same calls on botocore's default client, as "
                    f"the issue measured ({_interpreter(cpu)})",
                    f"{m['handler_cpu_ms']} ms vs {m['bare_validated_cpu_ms']} ms: x{m['ratio_to_validated']}",
                    "<= 1.3x",
                    m["ratio_to_validated"] <= 1.3,
                )
            )
            shown.append(
                (
                    f"handler CPU, {name}, vs the same bare route with the handler's own client configuration "
                    f"(stricter: what our code between the calls adds; {_interpreter(cpu)})",
                    f"{m['handler_cpu_ms']} ms vs {m['bare_cpu_ms']} ms: x{m['ratio']}",
                    "shown: within 1.3x"
                    if m["ratio"] <= 1.3
                    else f"shown: 1.3x would need {m['handler_cpu_ms'] - 1.3 * m['bare_cpu_ms']:.3f} ms less",
                    "shown",
                )
            )
        rows += shown
    load = r.get("load")
    if load:
        m = load["accrual"]["8"]
        rows.append(
            (
                "accrual p99 at 8 clients over HTTP (make run)",
                f"{m['p99_ms']} ms ({m['per_second']}/s, {m['errors']} errors)",
                "shown (6.7 s before the embedded DynamoDB's fix)",
                "shown" if m["errors"] == 0 else False,
            )
        )
    return rows


def per_transaction(r: dict[str, Any]) -> dict[str, float]:
    """Units and new bytes stored per transaction: the mean of a warm accrual and a warm redemption, without key."""
    rows = [r["round_trips"][name]["warm"] for name in ("accrual", "redemption")]

    def mean(key: str) -> float:
        return sum(float(m[key]) for m in rows) / len(rows)

    stored = [sum((w["bytes"] + STORAGE_OVERHEAD) * (1 + w["indexes"]) for w in m["written"] if w["new"]) for m in rows]
    limiter = [sum(w["units"] for w in m["written"] if w["kind"].startswith("RATE")) for m in rows]
    return {
        "read_units": mean("read_units"),
        "write_units": mean("write_units") - sum(limiter) / len(limiter),
        "limiter_write_units": sum(limiter) / len(limiter),
        "index_write_units": mean("index_write_units"),
        "round_trips": mean("round_trips"),
        "stored_bytes": sum(stored) / len(stored),
    }


def cost_section(r: dict[str, Any]) -> str:
    t = per_transaction(r)
    accrual, redemption = r["round_trips"]["accrual"]["warm"], r["round_trips"]["redemption"]["warm"]
    keyed = r["round_trips"]["accrual"]["warm with Idempotency-Key"]
    per_m = {
        "api": 3.50,
        "lambda": 0.20,
        "duration": 0.83,
        "reads": t["read_units"] * PRICE_READ_PER_M,
        "writes": t["write_units"] * PRICE_WRITE_PER_M,
        "limiter": t["limiter_write_units"] * PRICE_WRITE_PER_M,
        "index": t["index_write_units"] * PRICE_WRITE_PER_M,
        "logs": 0.65,
    }
    storage_gb = t["stored_bytes"] * 1_000_000 / 1e9
    storage, pitr = storage_gb * 0.25, storage_gb * 0.20
    total = sum(per_m.values()) + storage + pitr
    lines = [
        COST_START,
        "",
        "List prices of us-east-1 (on-demand DynamoDB since its November 2024 price cut, REST API Gateway, x86",
        'Lambda); other regions are 10-25 % higher. A "transaction" is one accrual or redemption through the API: the',
        "DynamoDB lines are the mean of a warm accrual and a warm redemption as `make bench` measured them",
        f"(`bench/results.json`, `round_trips`; generated {r['generated_at']}), sized by DynamoDB's rules from the",
        "requests the code sent.",
        "",
        "| item | per transaction | x 1,000,000 | price | per month |",
        "|---|---|---|---|---|",
        "| API Gateway REST request | 1 | 1.0 M requests | $3.50 / M | $3.50 |",
        "| Lambda request | 1 | 1.0 M | $0.20 / M | $0.20 |",
        "| Lambda duration, 512 MB x ~100 ms | 0.05 GB-s | 50,000 GB-s | $0.0000166667 / GB-s | $0.83 |",
        f"| DynamoDB reads ({_calls(accrual)} for an accrual; {_calls(redemption)} for a redemption) | "
        f"{t['read_units']:g} RRU | {t['read_units']:g} M RRU | ${PRICE_READ_PER_M} / M | ${per_m['reads']:.2f} |",
        f"| DynamoDB transactional writes ({_items(accrual)}; 2 WRU per started KB) | {t['write_units']:g} WRU | "
        f"{t['write_units']:g} M WRU | ${PRICE_WRITE_PER_M} / M | ${per_m['writes']:.2f} |",
        f"| DynamoDB write of the per-key rate-limit bucket | {t['limiter_write_units']:g} WRU | "
        f"{t['limiter_write_units']:g} M WRU | ${PRICE_WRITE_PER_M} / M | ${per_m['limiter']:.2f} |",
        f"| DynamoDB index writes (the entry in each GSI it projects into) | {t['index_write_units']:g} WRU | "
        f"{t['index_write_units']:g} M WRU | ${PRICE_WRITE_PER_M} / M | ${per_m['index']:.2f} |",
        "| Storage growth: new items x their copies (table + indexes), +100 B each | "
        f"{t['stored_bytes'] / 1024:.1f} KB | "
        f"{storage_gb:.1f} GB | $0.25 / GB-month | ${storage:.2f} (cumulative) |",
        f"| Point-in-time recovery | | {storage_gb:.1f} GB | $0.20 / GB-month | ${pitr:.2f} (cumulative) |",
        "| CloudWatch Logs, ~1 KB per request, + ~0.3 KB access log line | 1.3 KB | 1.3 GB | $0.50 / GB | $0.65 |",
        "",
        f"Total: about **${total:.0f} for the first million transactions**; storage and backups then add about",
        f"${storage + pitr:.2f} a month per million transactions kept. An Idempotency-Key adds its replay record: a",
        f"warm accrual with one writes {keyed['total_write_units']} WRU instead of {accrual['total_write_units']}. The",
        "customer item grows with its history until it is bounded (`docs/BENCHMARKS.md`, three simulated years): each",
        f"started KB of it costs 2 WRU more per transaction. The alarms ({ALARMS} x $0.10) and SNS are under "
        f"${ALARMS * 0.10 + 0.5:.0f}. With",
        "`Tracing=Active`, X-Ray adds $5 per million traces recorded (after 100,000 free a month). A coalition of",
        f"small businesses doing 50,000 transactions a month pays about ${total * 0.05:.2f} plus the alarms.",
        "",
        COST_END,
    ]
    return "\n".join(lines)


def _calls(m: dict[str, Any]) -> str:
    return ", ".join(c for c in m["calls"] if c in ("GetItem", "BatchGetItem", "Query", "TransactGetItems"))


def _items(m: dict[str, Any]) -> str:
    parts = [f"{w['kind']} {w['bytes']} B" for w in m["written"] if not w["kind"].startswith("RATE")]
    return "an accrual writes " + ", ".join(parts)


def update_deploy_doc(r: dict[str, Any], path: Path = ROOT / "docs" / "deploy.md") -> None:
    text = path.read_text()
    section = cost_section(r)
    if COST_START in text:
        text = re.sub(re.escape(COST_START) + ".*?" + re.escape(COST_END), lambda _: section, text, flags=re.S)
    path.write_text(text)


def markdown(r: dict[str, Any]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Generated by `make bench` on {r['generated_at']} in {r['duration_s']} s on a 2-core machine shared with",
        "other work; raw numbers in `bench/results.json`. Each measurement runs in its own process (`bench/<name>.py`,",
        "which can be run alone); comparisons are ratios taken within this one run. Iteration counts are kept small",
        f"so the whole run stays under ten minutes: {r['settings']}.",
        "",
        "## Targets",
        "",
        "| target | measured | goal | |",
        "|---|---|---|---|",
    ]
    for target, measured, goal, met in targets(r):
        lines.append(f"| {target} | {measured} | {goal} | {verdict(met)} |")
    lines += _round_trips(r) + _handler_cpu(r) + _load(r) + _growth(r) + _cold(r) + _years(r)
    return "\n".join(lines) + "\n"


def _round_trips(r: dict[str, Any]) -> list[str]:
    rt = r["round_trips"]
    lines = [
        "",
        "## 1. DynamoDB round trips and request units per operation",
        "",
        "`bench/round_trips.py`. The requests the handler sent, recorded with botocore's events",
        "(`before-parameter-build`, `after-call`), sized by DynamoDB's rules (`bench/sizing.py`): write units per",
        "started KB of the larger of the item before and after, read units per started 4 KB (strongly consistent;",
        "queries of an index eventually consistent, half), transactions x2, a ConditionCheck as a transactional write",
        "of its item, GSI writes for each index of `chalicelib/db/models.py` the item enters, leaves or changes in.",
        "Cold: a fresh runtime, every cache empty. Warm: the same operation just served. Production's rate limits",
        "(defaults) on; the partner is trusted (no customer code).",
        "",
        "| operation | variant | round trips | calls | RRU | WRU (table) | WRU (GSI) | items written |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in rt.items():
        for v in VARIANTS:
            c = m[v]
            lines.append(
                f"| {name} | {v} | {c['round_trips']} | {', '.join(c['calls'])} | {c['read_units']:g} | "
                f"{c['write_units']} | {c['index_write_units']} | {c['items_written']} |"
            )
    warm = rt["accrual"]["warm"]
    lines += [
        "",
        "What a warm accrual writes, item by item (kind is the key's prefixes):",
        "",
        "| item | action | bytes | WRU | GSI WRU |",
        "|---|---|---|---|---|",
    ]
    for w in warm["written"]:
        lines.append(f"| {w['kind']} | {w['action']} | {w['bytes']} | {w['units']} | {w['index_units']} |")
    return lines


def _interpreter(cpu: dict[str, Any]) -> str:
    """Which Python a handler CPU result was measured on."""
    python = f"python {cpu.get('python', '?')}"
    if "development" in cpu:
        return f"{python}, the Lambda runtime's"
    return f"{python}, development; {cpu['why']}" if cpu.get("why") else python


def _handler_cpu(r: dict[str, Any]) -> list[str]:
    cpu = r["handler_cpu"]
    measured = [cpu, *([cpu["development"]] if "development" in cpu else [])]
    lines = [
        "",
        "## 2. Handler CPU against a bare route making the same calls",
        "",
        "`bench/handler_cpu.py`. DynamoDB answered at botocore's transport with the answers the embedded DynamoDB gave",
        "to the very same requests (no moto in the timed part), recorded over consecutive requests so that the per-key",
        "limiter's lease write (one request in five) is in both. The handler (`app(event, context)`, API Gateway",
        "events, warm) against a Chalice route that only makes the recorded calls, in the same order, with one",
        "botocore client configured as the handler's (no client-side parameter validation, and the service model",
        "the function ships, without the parameters botocore would evaluate on every call to choose an endpoint);",
        f"process CPU time over {cpu['rounds']} rounds of {cpu['iterations']} invocations each, interleaved; per",
        "request the median of the rounds, and the median of the rounds' ratios. Beside it, the same bare route on",
        'botocore\'s default client (its own model, parameter validation on), as `boto3.client("dynamodb")` makes it:',
        "the floor the issue measured its 1.42x and 1.64x against, and the one the target is held to. The first floor",
        "is stricter (it has every saving the handler makes in how it calls botocore), so its ratio is what our own",
        "code between the calls adds; it is shown in the targets too.",
        "",
        "Measured on the Python the function ships on (the Lambda runtime's, `.venv-lambda`, in a process of its own:",
        "the result held against the target) and on the development Python, beside it.",
        "",
        "| operation | Python | calls (per recorded window) | handler CPU per request | bare route | ratio "
        "| bare, default client | ratio to it |",
        "|---|---|---|---|---|---|---|---|",
    ]
    split = [
        "",
        "Where it goes (a separate pass with a timer around each botocore call): the CPU inside botocore's",
        "`_make_api_call` and the rest (Chalice, and in the handler our code). The same calls can cost botocore more",
        "inside the handler than in the bare route's tight loop: the handler's own work between the calls leaves",
        "botocore's code and data colder.",
        "",
        "| operation | Python | botocore, handler | botocore, bare route | rest, handler | rest, bare route |",
        "|---|---|---|---|---|---|",
    ]
    for one in measured:
        python = one.get("python", "?")
        for name in ("balance", "accrual"):
            m = one[name]
            window = m.get("calls_per_window")
            calls = ", ".join(f"{op} x{n}" for op, n in window.items()) + f" per {m['window']}" if window else ""
            lines.append(
                f"| {name} | {python} | {calls or ', '.join(m['calls'])} | {m['handler_cpu_ms']} ms "
                f"| {m['bare_cpu_ms']} ms | x{m['ratio']} | {m.get('bare_validated_cpu_ms', '-')} ms "
                f"| x{m.get('ratio_to_validated', '-')} |"
            )
            if "handler_botocore_ms" in m:
                split.append(
                    f"| {name} | {python} | {m['handler_botocore_ms']} ms | {m['bare_botocore_ms']} ms "
                    f"| {m['handler_rest_ms']} ms | {m['bare_rest_ms']} ms |"
                )
    return lines + (split if len(split) > 8 else [])


def _load(r: dict[str, Any]) -> list[str]:
    load = r["load"]
    lines = [
        "",
        "## 3. Load over HTTP against `make run`",
        "",
        "`bench/load.py`. `python -m local.run` in a subprocess (fresh data directory, embedded DynamoDB, answering",
        f"{load['ready_s']} s after start; SIGTERM to exit {load['sigterm_to_exit_s']} s), client threads on loopback,",
        f"each a till of one of four partners with its own customer, back to back for {load['seconds_each']} s per",
        "cell. The per-key rate limit is lifted for this run (`LOYALTY_LIMITS`); everything else as served.",
        "",
        "| operation | clients | requests/s | p50 | p95 | p99 | max | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for op in ("balance", "accrual", "redemption"):
        for clients, m in load[op].items():
            lines.append(
                f"| {op} | {clients} | {m['per_second']} | {m['p50_ms']} ms | {m['p95_ms']} ms | {m['p99_ms']} ms | "
                f"{m['max_ms']} ms | {m['errors']} |"
            )
    lines += [
        "",
        "The embedded DynamoDB serves one request at a time (local/servers.py): throughput is bounded by it, and",
        "latency at 8 and 32 clients is mostly queueing behind it.",
    ]
    return lines


def _growth(r: dict[str, Any]) -> list[str]:
    g = r["growth"]
    lines = [
        "",
        "## 4. Growth",
        "",
        "`bench/growth.py`. Filler items are copies of entries the service wrote, with new keys, put straight into",
        "moto's table (100k puts through the API would take many minutes).",
        "",
        "### The table: 1k -> 100k items (accrual on the embedded DynamoDB)",
        "",
        "| items in the table | accrual (median) | round trips | RRU | WRU | history page (median) |",
        "|---|---|---|---|---|---|",
    ]
    for size in ("1000", "10000", "100000"):
        m = g["table"][size]
        lines.append(
            f"| {m['items']:,} | {m['accrual_ms']} ms | {m['round_trips']} | {m['read_units']:g} | "
            f"{m['total_write_units']} | {m['history_page_ms']} ms |"
        )
    lines += [
        "",
        "The history page's time on the embedded DynamoDB grows with the whole table (moto answers a query on an index",
        "by reading every item); DynamoDB reads the page's items only. Its units do not change.",
        "",
        "### A customer's history: 10 -> 1k -> 10k entries",
        "",
        "| request | entries | round trips | RRU | WRU | time (median) |",
        "|---|---|---|---|---|---|",
    ]
    for name in ("history page", "balance", "accrual"):
        for size in ("10", "1000", "10000"):
            m = g["history"][name][size]
            lines.append(
                f"| {name} | {int(size):,} | {m['round_trips']} | {m['read_units']:g} | {m['total_write_units']} | "
                f"{m['ms']} ms |"
            )
    unchanged = [n for n in ("history page", "balance", "accrual") if g["history"][n]["unchanged"]]
    lines += [
        "",
        f"Round trips and units the same from 1k to 10k entries: {', '.join(unchanged) or 'none'}. A history page",
        "reads one page (its limit), so with 10 entries it reads less than a full page. Times on this shared machine",
        "are noisy (medians of a few requests); the units are exact.",
    ]
    return lines


def _cold(r: dict[str, Any]) -> list[str]:
    c = r["cold_start"]
    lines = ["", "## 5. Cold start of the zip as shipped", ""]
    if not c.get("measured"):
        return [*lines, f"Not measured: {c.get('why')}."]
    return [
        *lines,
        "`bench/cold_start.py` runs `infra/coldstart.py`: fresh processes of the runtime's Python",
        f"({c['python']}), interleaved, {c['repeat']} each; AWS answered from a recording at botocore's transport.",
        "Shipped: `build/deployment.zip` from `make package`, Lambda's environment (settings and secrets at init),",
        "one balance request. Floor: import boto3, pydantic (its `BaseModel`: pydantic 2 loads lazily, and a bare",
        "`import pydantic` loads almost nothing) and Chalice, build a DynamoDB client, one GetItem. The floor as first",
        "written (`import pydantic` only) is shown too.",
        "",
        "| process | wall (median) | CPU (median) | wall vs floor |",
        "|---|---|---|---|",
        f"| floor | {c['wall_ms']['floor']} ms | {c['cpu_ms']['floor']} ms | x1.0 |",
        f"| shipped zip | {c['wall_ms']['shipped']} ms | {c['cpu_ms']['shipped']} ms | "
        f"x{c['ratio_shipped_to_floor']} |",
        f"| the zip without its bytecode | {c['wall_ms']['no_bytecode']} ms | {c['cpu_ms']['no_bytecode']} ms | "
        f"x{c['ratio_no_bytecode_to_floor']} |",
        *(
            [
                f"| floor with a bare `import pydantic` | {c['wall_ms']['floor_lazy_pydantic']} ms | "
                f"{c['cpu_ms']['floor_lazy_pydantic']} ms | shipped x{c['ratio_shipped_to_floor_lazy_pydantic']} |"
            ]
            if "floor_lazy_pydantic" in c["wall_ms"]
            else []
        ),
    ]


def _years(r: dict[str, Any]) -> list[str]:
    y = r["years"]
    lines = [
        "",
        "## 6. The customer item over three simulated years",
        "",
        "`bench/years.py`. One customer on the injected clock: every month purchases at three partners, a",
        "redemption, a hold captured, a hold voided, a partial refund; the expiry job every day. The customer item",
        "as stored, and what an accrual (which rewrites it) costs in all.",
        "",
        "| when | item bytes | item WRU (transactional) | accrual WRU in all | entries in its maps |",
        "|---|---|---|---|---|",
    ]
    for label in ("month 3", "year 1", "year 3"):
        m = y[label]
        maps = ", ".join(f"{k} {v}" for k, v in m["map_entries"].items() if v)
        lines.append(f"| {label} | {m['bytes']} | {m['write_units']} | {m['accrual_total_write_units']} | {maps} |")
    return lines


def main() -> None:
    """Regenerate docs/BENCHMARKS.md and docs/deploy.md's cost from bench/results.json, without measuring."""
    import json

    results = json.loads((ROOT / "bench" / "results.json").read_text())
    (ROOT / "docs" / "BENCHMARKS.md").write_text(markdown(results))
    update_deploy_doc(results)


if __name__ == "__main__":
    main()
