"""Fan-out cost of a bulk push: a 10,000-user bulk, two devices each.

The worker side is measured: `push-bench worker` runs the real delivery
worker (`Worker::process`, ten queue messages at once as one invocation)
against moto behind bench/aws_meter.py, which counts every AWS call and the
capacity units moto reports. moto serves ~300 DynamoDB requests/s, so two
small runs (10 messages of 5 and of 20 users) give each operation's calls
and units per message and per user, and the 10,000-user bulk (20 messages
of 500 users, as notify/bulk chunks it) is extrapolated linearly from them.

The enqueue side (notify/bulk's handler) and the SQS event source's polling
are counted from the code, not measured: see ENQUEUE below.

Prices: AWS on-demand, us-east-1, see PRICES; the date is PRICES_DATE.
"""

import json
import math
import os
import re
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

USERS = 10_000
DEVICES_PER_USER = 2
USERS_PER_CHUNK = 500          # shared/src/service/bulk.rs MAX_USERS_PER_CHUNK
MESSAGES_PER_INVOCATION = 10   # template.yaml WorkerBatchSize default
WORKER_MEMORY_GB = 0.5         # template.yaml: the worker's MemorySize 512
RUNS = (5, 20)                 # users per message in the two metered runs
MESSAGES = 10                  # bench/src/worker.rs MESSAGES

# us-east-1 on-demand list prices, arm64 Lambda (the template's
# architecture). DynamoDB's are those after AWS's November 2024 on-demand
# price cut. Taken from AWS's public pricing pages as published in 2025
# (not re-checked live from this machine, which has no internet).
PRICES_DATE = "2025 (AWS pricing pages; DynamoDB after the 2024-11-01 cut)"
PRICES = {
    "dynamodb_write_request_unit": 0.625 / 1e6,
    "dynamodb_read_request_unit": 0.125 / 1e6,
    "sqs_request": 0.40 / 1e6,          # standard queue, per 64 KB chunk
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm64": 0.0000133334,
}
SNS_MOBILE_PUSH_PER_MILLION = 0.50

# notify/bulk for one 10,000-user request, from shared/src/service/bulk.rs:
# the API key look-up (GetItem), insert_batch (PutItem), enqueue (20
# messages in SendMessageBatch calls of 10), settle_batch_state (UpdateItem);
# then the event source mapping receives and deletes each invocation's 10
# messages (ReceiveMessage, DeleteMessageBatch). Items are under 1 KB: one
# unit each (eventually consistent reads: half a unit).
CHUNKS = math.ceil(USERS / USERS_PER_CHUNK)
INVOCATIONS = math.ceil(CHUNKS / MESSAGES_PER_INVOCATION)
ENQUEUE = {
    "dynamodb.GetItem (API key)": {"calls": 1, "read_units": 0.5, "write_units": 0},
    "dynamodb.PutItem (batch)": {"calls": 1, "read_units": 0, "write_units": 1},
    "dynamodb.UpdateItem (batch open)": {"calls": 1, "read_units": 0, "write_units": 1},
    "sqs.SendMessageBatch": {"calls": math.ceil(CHUNKS / 10), "read_units": 0, "write_units": 0},
    "sqs.ReceiveMessage (event source)": {"calls": INVOCATIONS, "read_units": 0,
                                          "write_units": 0},
    "sqs.DeleteMessageBatch (event source)": {"calls": INVOCATIONS, "read_units": 0,
                                              "write_units": 0},
}


# notify/bulk for an all-users send (shared/src/service/bulk/audience.rs):
# the API key look-up, insert_batch (PutItem), the first page's message
# (SendMessage), settle_batch_state (UpdateItem); the pages' own calls are
# metered (bench/src/audience.rs).
AUDIENCE_PAGE_USERS = 1000     # shared/src/store/audience.rs AUDIENCE_PAGE_USERS
AUDIENCE_REQUEST = {
    "dynamodb.GetItem (API key)": {"calls": 1, "read_units": 0.5, "write_units": 0},
    "dynamodb.PutItem (batch)": {"calls": 1, "read_units": 0, "write_units": 1},
    "dynamodb.UpdateItem (batch open)": {"calls": 1, "read_units": 0, "write_units": 1},
    "sqs.SendMessage (first page)": {"calls": 1, "read_units": 0, "write_units": 0},
}


# One API request made with an API key (a device registration, a listing, a
# send before its pushes), counted from shared/src/auth and
# shared/src/limits: one strongly consistent BatchGetItem of the key's
# lookup item, its tenant and the tenant's key rates (3 items under 4 KB:
# 3 read units), and one UpdateItem of the key's usage window that both
# counts and limits the request (1 write unit). A tenant whose keys together
# may exceed its requests_per_second adds a few lease writes per instance
# and second, not counted here; neither is the request's own work.
API_REQUEST = {"read_units": 3, "write_units": 1}
API_FUNCTION_MEMORY_GB = 0.25   # template.yaml Globals MemorySize 256
# The function's duration: the median single send through the local stack
# (docs/operations.md, "D"), a request that does more than most.
API_REQUEST_SECONDS = 0.033
HTTP_API_REQUEST = 1.00 / 1e6


def api_request_cost():
    """Dollars per million API requests, by service."""
    dollars = {
        "api_gateway": HTTP_API_REQUEST,
        "lambda": PRICES["lambda_request"]
        + API_REQUEST_SECONDS * API_FUNCTION_MEMORY_GB * PRICES["lambda_gb_second_arm64"],
        "dynamodb": API_REQUEST["read_units"] * PRICES["dynamodb_read_request_unit"]
        + API_REQUEST["write_units"] * PRICES["dynamodb_write_request_unit"],
    }
    per_million = {k: round(v * 1e6, 4) for k, v in dollars.items()}
    return {"per_million": per_million, "total_per_million": round(sum(per_million.values()), 4),
            "counted": API_REQUEST, "seconds": API_REQUEST_SECONDS}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def moto_binary():
    binary = ROOT / ".venv" / "bin" / "moto_server"
    return binary if binary.exists() else None


def wait_for(url, seconds=30):
    import urllib.request
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def measure(bin_dir, sim, engine_rate, log):
    moto = moto_binary()
    if moto is None:
        log("fan-out: .venv/bin/moto_server missing (scripts/bench installs it); skipped")
        return None
    port = int(os.environ.get("NOTIFY_BENCH_MOTO_PORT") or free_port())
    processes = []
    try:
        processes.append(subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if not wait_for(f"http://127.0.0.1:{port}/moto-api/"):
            log("fan-out: moto did not start; skipped")
            return None
        meter = subprocess.Popen(["python3", str(Path(__file__).with_name("aws_meter.py")),
                                  f"http://127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
        processes.append(meter)
        meter_url = json.loads(meter.stdout.readline())["url"]
        runs = {}
        for users in RUNS:
            log(f"fan-out: worker run, {MESSAGES} messages x {users} users x "
                f"{DEVICES_PER_USER} devices, against moto through the meter")
            runs[users] = worker_calls(bin_dir, sim, meter_url, users, log)
            if runs[users] is None:
                return None
    finally:
        for process in processes:
            process.kill()
            process.wait()
    return cost(runs, engine_rate)


def worker_calls(bin_dir, sim, meter_url, users, log):
    env = dict(os.environ, NOTIFY_TEST_AWS_ENDPOINT=meter_url, NOTIFY_BENCH_AWS_METER=meter_url)
    result = subprocess.run(
        [str(bin_dir / "push-bench"), "--http-url", sim.http_url, "--tls-url", sim.tls_url,
         "--ca-file", sim.ca_pem, "--rounds", "1", "worker", "--users-per-message", str(users),
         "--devices-per-user", str(DEVICES_PER_USER)],
        env=env, capture_output=True, text=True, timeout=900)
    match = re.search(r"aws calls \(round 1\): (\{.*\})", result.stdout)
    page = re.search(r"aws calls \(audience page of \d+ users\): (\{.*\})", result.stdout)
    if result.returncode != 0 or not match or not page:
        log(f"fan-out: push-bench worker failed ({result.returncode}): "
            f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        return None
    return {"worker": json.loads(match.group(1)), "audience_page": json.loads(page.group(1))}


def project(c1, c2, x1, x2, units_per_run, unit_count):
    """Per operation, from two metered runs of `units_per_run` units (queue
    messages, audience pages) of `x1` and `x2` users each: calls (and
    units) = per_unit + per_user * users a unit, scaled to `unit_count`
    units of USERS users in all."""
    projected_all = {}
    for operation in sorted(set(c1) | set(c2)):
        a, b = c1.get(operation, {}), c2.get(operation, {})
        projected = {}
        for key in ("calls", "read_units", "write_units"):
            x, y = a.get(key, 0), b.get(key, 0)
            per_user = (y - x) / (units_per_run * (x2 - x1))
            per_unit = x / units_per_run - per_user * x1
            projected[key] = max(0.0, unit_count * per_unit + USERS * per_user)
        projected_all[operation] = {k: round(v, 1) for k, v in projected.items()}
    return projected_all


def dollars_per_million(every, invocations, gb_seconds, pushes):
    read_units = sum(v["read_units"] for v in every.values())
    write_units = sum(v["write_units"] for v in every.values())
    sqs_calls = sum(v["calls"] for k, v in every.items() if k.startswith("sqs"))
    dollars = {
        "dynamodb": write_units * PRICES["dynamodb_write_request_unit"]
        + read_units * PRICES["dynamodb_read_request_unit"],
        "sqs": sqs_calls * PRICES["sqs_request"],
        "lambda": invocations * PRICES["lambda_request"]
        + gb_seconds * PRICES["lambda_gb_second_arm64"],
    }
    return {k: v / pushes * 1e6 for k, v in dollars.items()}


def all_users_cost(runs, worker, worker_seconds, pushes):
    """An all-users send of USERS users: the same chunks as a list (the
    worker's projection), the audience read a page of AUDIENCE_PAGE_USERS
    at a time (metered: one page in each run, of MESSAGES x u users), and a
    request that records the batch and queues its first page."""
    (u1, r1), (u2, r2) = sorted(runs.items())
    users1, users2 = MESSAGES * u1, MESSAGES * u2
    pages = math.ceil(USERS / AUDIENCE_PAGE_USERS)
    reader = project(r1["audience_page"], r2["audience_page"], users1, users2, 1, pages)
    every = {f"{operation} (chunks)": counted for operation, counted in worker.items()}
    every.update({f"{operation} (audience pages)": counted for operation, counted in reader.items()})
    every.update(AUDIENCE_REQUEST)
    # Page messages ride in the worker's invocations (ten records each).
    page_invocations = math.ceil(pages / MESSAGES_PER_INVOCATION)
    every["sqs.ReceiveMessage+DeleteMessageBatch (event source, pages)"] = {
        "calls": 2 * page_invocations, "read_units": 0, "write_units": 0}
    invocations = INVOCATIONS + page_invocations + 1
    gb_seconds = worker_seconds * WORKER_MEMORY_GB + (0.1 * 0.25) + pages * 0.1 * WORKER_MEMORY_GB
    per_million = dollars_per_million(every, invocations, gb_seconds, pushes)
    return {
        "pages": pages,
        "reader_calls_projected": reader,
        "cost_per_million_pushes": {k: round(v, 4) for k, v in per_million.items()},
        "total_per_million_pushes": round(sum(per_million.values()), 4),
    }


def cost(runs, engine_rate):
    """Per operation: calls = MESSAGES * (per_message + per_user * users)."""
    (u1, c1), (u2, c2) = sorted((users, run["worker"]) for users, run in runs.items())
    worker = project(c1, c2, u1, u2, MESSAGES, CHUNKS)
    pushes = USERS * DEVICES_PER_USER
    every = dict(worker)
    every.update(ENQUEUE)
    dynamodb_calls = sum(v["calls"] for k, v in every.items() if k.startswith("dynamodb"))
    sqs_calls = sum(v["calls"] for k, v in every.items() if k.startswith("sqs"))
    read_units = sum(v["read_units"] for v in every.values())
    write_units = sum(v["write_units"] for v in every.values())
    # The worker's push phase at the engine's measured rate; the notify/bulk
    # invocation is a few DynamoDB/SQS calls (counted as 100 ms).
    worker_seconds = pushes / engine_rate if engine_rate else 0
    gb_seconds = worker_seconds * WORKER_MEMORY_GB + 0.1 * 0.25
    invocations = INVOCATIONS + 1
    per_million = dollars_per_million(every, invocations, gb_seconds, pushes)
    total = sum(per_million.values())
    everyone = all_users_cost(runs, worker, worker_seconds, pushes)
    return {
        "all_users": everyone,
        "users": USERS, "devices_per_user": DEVICES_PER_USER, "pushes": pushes,
        "metered_runs_users_per_message": list(RUNS),
        "worker_calls_projected": worker, "enqueue_counted_from_code": ENQUEUE,
        "dynamodb_calls": round(dynamodb_calls), "sqs_calls": round(sqs_calls),
        "read_units": round(read_units, 1), "write_units": round(write_units, 1),
        "lambda_invocations": invocations, "lambda_gb_seconds": round(gb_seconds, 3),
        "prices": PRICES, "prices_date": PRICES_DATE,
        "cost_per_million_pushes": {k: round(v, 4) for k, v in per_million.items()},
        "total_per_million_pushes": round(total, 4),
        "sns_mobile_push_per_million": SNS_MOBILE_PUSH_PER_MILLION,
        "sns_over_ours": round(SNS_MOBILE_PUSH_PER_MILLION / total, 1) if total else None,
        "api_request": api_request_cost(),
    }


def render(fanout):
    per = fanout["cost_per_million_pushes"]
    return "\n".join([
        f"fan-out, {fanout['users']:,} users x {fanout['devices_per_user']} devices "
        f"({fanout['pushes']:,} pushes): {fanout['dynamodb_calls']:,} DynamoDB calls "
        f"({fanout['read_units']:,} RRU, {fanout['write_units']:,} WRU), "
        f"{fanout['sqs_calls']:,} SQS calls, {fanout['lambda_invocations']} Lambda invocations, "
        f"{fanout['lambda_gb_seconds']} GB-s",
        f"cost per million pushes: ${fanout['total_per_million_pushes']:.4f} "
        f"(DynamoDB ${per['dynamodb']:.4f}, SQS ${per['sqs']:.4f}, Lambda ${per['lambda']:.4f}) "
        f"vs SNS mobile push ${fanout['sns_mobile_push_per_million']:.2f}: "
        f"SNS costs {fanout['sns_over_ours']}x ours",
        render_all_users(fanout),
        render_api_request(fanout.get("api_request") or api_request_cost()),
    ])


def render_all_users(fanout):
    everyone = fanout.get("all_users")
    if not everyone:
        return "all-users send: not measured"
    per = everyone["cost_per_million_pushes"]
    return (
        f"all-users send of the same {fanout['users']:,} users ({everyone['pages']} audience pages "
        f"read by the worker): ${everyone['total_per_million_pushes']:.4f} per million pushes "
        f"(DynamoDB ${per['dynamodb']:.4f}, SQS ${per['sqs']:.4f}, Lambda ${per['lambda']:.4f})"
    )


def render_api_request(request):
    per = request["per_million"]
    return (
        f"cost per million API requests (metering and limits included, the request's own work "
        f"not): ${request['total_per_million']:.4f} (API Gateway ${per['api_gateway']:.4f}, "
        f"Lambda ${per['lambda']:.4f} at {request['seconds'] * 1000:.0f} ms of 256 MB, "
        f"DynamoDB ${per['dynamodb']:.4f}: {request['counted']['read_units']} RRU + "
        f"{request['counted']['write_units']} WRU, counted from the code)"
    )
