"""Chalice entry point: wiring only. Routes: chalicelib.api.routes; scheduled work: chalicelib.services.jobs."""

import os
from typing import Any

from chalice.app import Chalice, Cron, Rate

from chalicelib import route_index

app = Chalice(app_name="coalition-loyalty")

# Every route, each loading its module on its first request (chalicelib/route_index.py: a cold start pays for the
# route it serves, not for the whole table).
route_index.register(app)

if os.environ.get("LOYALTY_DEV_INBOX") == "1":  # GET /dev/inbox(.json): `make run` only (local/run.py), never in AWS
    from chalicelib.web import dev_inbox

    dev_inbox.register(app)

# Last: every other path, every method, answers 404 (API Gateway would answer its own 403 without this route).
from chalicelib.web import site  # noqa: E402

site.register(app)
if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # chalice local and the test client: {proxy+} as API Gateway
    site.match_greedy_locally()

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # In AWS the settings and secrets (one batched SSM call, chalicelib/config.py) load while the instance starts,
    # not inside its first request: a provisioned or snapshotted instance then serves that request without them.
    from chalicelib import runtime

    runtime.get()


@app.schedule(Cron(15, 21, "*", "*", "?", "*"), name="expire_points")  # 00:15 Moscow time, daily
def expire_points(event: Any) -> dict[str, Any]:
    """Plans the night's expiry: one task per expiry-index segment to the jobs' queue (run_job_task works them)."""
    from chalicelib import runtime
    from chalicelib.services import jobs

    run = jobs.expire_points(runtime.get().clock.now())
    return {"months": run.months, "segments": run.segments, "customers": run.customers}


@app.schedule(Cron(0, 22, "*", "*", "?", "*"), name="close_settlements")  # 01:00 Moscow time, daily
def close_settlements(event: Any) -> dict[str, Any]:
    """Closes last month once it has ended (on the other days it finds it closed already) and starts its
    reconciliation."""
    from chalicelib import runtime
    from chalicelib.services import jobs

    return jobs.close_settlements(runtime.get().clock.now())


@app.schedule(Cron(5, "*", "*", "*", "?", "*"), name="send_customer_messages")  # hourly; quiet hours do nothing
def send_customer_messages(event: Any) -> dict[str, Any]:
    """Reminders before points expire and birthday greetings that are due (chalicelib/services/reminders.py)."""
    from chalicelib import runtime
    from chalicelib.services import reminders

    done = reminders.run(runtime.get().clock.now())
    return {"quiet": done.quiet, "reminders": done.reminders, "greetings": done.greetings, "failed": done.failed}


# The jobs' worker: one task a message (an expiry segment, a page run of a reconciliation) of the stack's JobsQueue,
# whose event source (one message a batch) and redrive policy (to the jobs' dead-letter queue after a few tries) are
# declared in infra/build_template.py: the queue's name differs per stack, which a decorator cannot know.
@app.lambda_function(name="run_job_task")
def run_job_task(event: dict[str, Any], context: Any) -> None:
    from chalicelib import runtime
    from chalicelib.services import jobs

    for record in event.get("Records", []):
        jobs.run_task(record["body"], runtime.get().clock.now())


# The events' dispatcher: the table's stream (outbox inserts only), its batch failure reporting and its dead-letter
# queue are declared in infra/build_template.py. Answers which records failed, so the stream retries from there.
@app.lambda_function(name="dispatch_events")
def dispatch_events(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from chalicelib import runtime
    from chalicelib.services import dispatcher

    return dispatcher.handle_stream(event, runtime.get().clock.now())


@app.schedule(Rate(1, unit=Rate.MINUTES), name="retry_deliveries")
def retry_deliveries(event: Any) -> dict[str, Any]:
    """Webhook attempts that are due (backoff), and anything the stream left in the outbox."""
    from chalicelib import runtime
    from chalicelib.services import dispatcher

    return {"attempts": dispatcher.poll(runtime.get().clock.now())}
