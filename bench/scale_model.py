"""The scale model of docs/scaling.md, computed from one `scripts/bench` run.

Measured by the run (printed as such): the engine's CPU time per push for
APNs and FCM (push-bench's user + system time over its timed round), and the fan-out's DynamoDB and SQS calls and units per user and
per audience page (bench/fanout.py, through bench/aws_meter.py). Everything
else is an assumption printed with its source: the deployment's template
defaults, AWS's published sizes and prices, provider limits, and a DynamoDB
call latency (moto's is no guide).

    python3 bench/scale_model.py [results.json]   # the model of a saved run
"""

import math

import fanout

# template.yaml defaults (Parameters).
WORKER_MAXIMUM_CONCURRENCY = 10     # WorkerMaximumConcurrency, 2 to 1000
WORKER_BATCH_SIZE = 10              # WorkerBatchSize
WORKER_TENANT_SHARE = 2             # WorkerTenantShare: a tenant's records per invocation
WORKER_MEMORY_MB = 512
LOOKUP_CONCURRENCY = 32             # shared/src/service/worker WorkerSettings
WAVE_USERS = 100                    # WorkerSettings::wave_users: one progress item a wave
USERS_PER_CHUNK = fanout.USERS_PER_CHUNK
AUDIENCE_PAGE_USERS = fanout.AUDIENCE_PAGE_USERS

ASSUMED = {
    "lambda_mb_per_vcpu": (1769, "AWS Lambda: a function has one vCPU at 1,769 MB "
                                 "(docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html)"),
    "dynamodb_call_seconds": (0.005, "DynamoDB: single-digit milliseconds per call in-region "
                                     "(aws.amazon.com/dynamodb); moto's latency is no guide"),
    "event_source_ramp": ((5, 300), "SQS event source: 5 concurrent pollers at first, then up "
                                    "to 300 more instances a minute while messages wait "
                                    "(docs.aws.amazon.com/lambda/latest/dg/"
                                    "services-sqs-scaling.html)"),
    "dynamodb_on_demand_reads_per_second": (12_000, "a new on-demand table serves up to "
                                                    "12,000 read units a second before it "
                                                    "scales (double its previous peak after); "
                                                    "WarmThroughput raises it ahead "
                                                    "(docs.aws.amazon.com/amazondynamodb/latest/"
                                                    "developerguide/on-demand-capacity-mode.html)"),
    "provider_response_seconds": (0.05, "a push's answer from APNs or FCM, from AWS us-east-1; "
                                        "neither provider publishes one: an assumption"),
    "fcm_messages_per_minute": (600_000, "FCM HTTP v1: 600,000 messages a minute per project "
                                         "(firebase.google.com/docs/cloud-messaging/concept-options"
                                         "#fanout_throttling)"),
    "apns_rate": (None, "APNs publishes no rate limit per team or app; it asks providers to "
                        "keep connections open and reuse them (developer.apple.com, 'Sending "
                        "notification requests to APNs')"),
    "stored_bytes_per_device": (700, "two items per device (the tenant's device item and the "
                                     "user's index item), about 250 bytes of attributes each "
                                     "plus DynamoDB's 100 bytes of overhead per item"),
    "storage_per_gb_month": (0.25, "DynamoDB Standard storage, us-east-1"),
    "secret_per_month": (0.40, "Secrets Manager, one secret per tenant with provider credentials"),
    "registration_write_units": (8, "a registration's transaction: device item, user index "
                                    "item, two counters, 2 WRU each (shared/src/store/devices)"),
    "idle_poll_requests_per_month": (650_000, "the SQS event source's long polling with no "
                                              "messages (docs/operations.md)"),
}


def assumed(name):
    return ASSUMED[name][0]


def measured_inputs(results):
    """What the run measured that the model uses, or None when it lacks it."""
    rows, fan = results.get("rows", {}), results.get("fan_out")
    if not fan or "engine_apns" not in rows or "engine_fcm" not in rows:
        return None
    users = fan["users"]
    everyone = fan.get("all_users") or {}
    pages = everyone.get("pages") or 1
    reader = everyone.get("reader_calls_projected") or {}

    def cpu_per_push(row):
        # push-bench's own CPU time over the round; without it, one busy
        # core at the row's rate.
        if row.get("cpu_us_per_push"):
            return row["cpu_us_per_push"] / 1e6
        return 1 / row["rate"]

    return {
        "cpu_seconds_per_push_apns": cpu_per_push(rows["engine_apns"]),
        "cpu_seconds_per_push_fcm": cpu_per_push(rows["engine_fcm"]),
        "devices_per_user": fan["devices_per_user"],
        "read_units_per_user": fan["read_units"] / users,
        "write_units_per_user": fan["write_units"] / users,
        "dynamodb_calls_per_user": fan["dynamodb_calls"] / users,
        "sqs_calls_per_user": fan["sqs_calls"] / users,
        "page_read_units": sum(v["read_units"] for v in reader.values()) / pages,
        "page_write_units": sum(v["write_units"] for v in reader.values()) / pages,
        "page_calls": sum(v["calls"] for k, v in reader.items()
                          if k.startswith(("dynamodb", "sqs"))) / pages,
    }


def dollars(read_units, write_units, sqs_requests, gb_seconds, invocations):
    prices = fanout.PRICES
    return (read_units * prices["dynamodb_read_request_unit"]
            + write_units * prices["dynamodb_write_request_unit"]
            + sqs_requests * prices["sqs_request"]
            + gb_seconds * prices["lambda_gb_second_arm64"]
            + invocations * prices["lambda_request"])


def delivery(m, users, cpu_per_push, concurrency, tenant_share):
    """One tenant's send to `users` users: what it costs and how long the
    worker fleet takes, each invocation giving the tenant `tenant_share`
    chunks (the rest set aside to the back of the queue, a receive and a
    send each pass)."""
    pushes = users * m["devices_per_user"]
    chunks = math.ceil(users / USERS_PER_CHUNK)
    vcpu = WORKER_MEMORY_MB / assumed("lambda_mb_per_vcpu")
    per_invocation = min(tenant_share, WORKER_BATCH_SIZE)
    pushes_per_invocation = per_invocation * USERS_PER_CHUNK * m["devices_per_user"]
    # An invocation's chunks run side by side, each in waves of WAVE_USERS
    # users: a wave's pushes are in flight together and end with one
    # progress write; the next wave's lookups overlap them. A wave lasts its
    # CPU time, or a provider answer plus the write, whichever is longer.
    waves = math.ceil(USERS_PER_CHUNK / WAVE_USERS)
    wave_cpu = pushes_per_invocation / waves * cpu_per_push / min(vcpu, 1.0)
    wave_lookups = WAVE_USERS / LOOKUP_CONCURRENCY * assumed("dynamodb_call_seconds")
    wave_seconds = max(wave_cpu, wave_lookups,
                       assumed("provider_response_seconds") + assumed("dynamodb_call_seconds"))
    # Before the waves: the batch, the tenant and the chunk's progress.
    invocation_seconds = waves * wave_seconds + 3 * assumed("dynamodb_call_seconds")
    invocations = math.ceil(chunks / per_invocation)
    seconds = ramped_seconds(invocations, invocation_seconds, concurrency)
    passes = WORKER_BATCH_SIZE / per_invocation
    sqs_requests = m["sqs_calls_per_user"] * users + chunks * (passes - 1) * 2 / 10
    gb_seconds = invocations * invocation_seconds * WORKER_MEMORY_MB / 1024
    cost = dollars(m["read_units_per_user"] * users, m["write_units_per_user"] * users,
                   sqs_requests, gb_seconds, invocations)
    reads = m["read_units_per_user"] * users
    return {
        "read_floor_seconds": round(reads / assumed("dynamodb_on_demand_reads_per_second"), 1),
        "pushes": pushes, "chunks": chunks, "sqs_messages": round(chunks * passes),
        "sqs_requests": round(sqs_requests),
        "read_units": round(m["read_units_per_user"] * users),
        "write_units": round(m["write_units_per_user"] * users),
        "lambda_concurrency": concurrency, "invocations": invocations,
        "invocation_seconds": round(invocation_seconds, 3),
        "worker_seconds": round(seconds, 1), "cost": round(cost, 2),
        "cost_per_million_pushes": round(cost / pushes * 1e6, 4),
    }


def ramped_seconds(invocations, invocation_seconds, concurrency):
    """Seconds to run `invocations` of `invocation_seconds` each while the
    event source ramps its concurrency up to `concurrency`."""
    start, per_minute = assumed("event_source_ramp")
    done, elapsed, step = 0.0, 0.0, 0.1
    while done < invocations:
        running = min(concurrency, start + per_minute * elapsed / 60)
        done += running * step / invocation_seconds
        elapsed += step
    return elapsed


def fcm_floor_seconds(pushes):
    return pushes / assumed("fcm_messages_per_minute") * 60


def bulk_send(m, users):
    rows = {}
    for concurrency in (WORKER_MAXIMUM_CONCURRENCY, 100, 1000):
        for provider in ("apns", "fcm"):
            cpu = m[f"cpu_seconds_per_push_{provider}"]
            row = delivery(m, users, cpu, concurrency, WORKER_TENANT_SHARE)
            floor = fcm_floor_seconds(row["pushes"]) if provider == "fcm" else 0
            row["provider_floor_seconds"] = round(floor, 1)
            row["seconds_to_last_push"] = round(
                max(row["worker_seconds"], floor, row["read_floor_seconds"]), 1)
            rows[f"{provider}, {concurrency} workers"] = row
    return rows


def broadcast(m, devices):
    """An all-users send: the audience is read one page after another (each
    page's message enqueues the next), while earlier pages' chunks are
    delivered."""
    users = devices // m["devices_per_user"]
    pages = math.ceil(users / AUDIENCE_PAGE_USERS)
    # Each call of a page waits for the one before (query, write, count,
    # enqueue, the next page's message).
    page_seconds = m["page_calls"] * assumed("dynamodb_call_seconds")
    rows = {}
    for concurrency in (WORKER_MAXIMUM_CONCURRENCY, 100, 1000):
        for provider in ("apns", "fcm"):
            row = delivery(m, users, m[f"cpu_seconds_per_push_{provider}"], concurrency,
                           WORKER_TENANT_SHARE)
            row["audience_pages"] = pages
            row["audience_read_seconds"] = round(pages * page_seconds, 1)
            page_units = (pages * m["page_read_units"], pages * m["page_write_units"])
            row["read_units"] += round(page_units[0])
            row["write_units"] += round(page_units[1])
            row["cost"] = round(row["cost"] + dollars(*page_units, 0, 0, 0), 2)
            row["cost_per_million_pushes"] = round(row["cost"] / row["pushes"] * 1e6, 4)
            floor = fcm_floor_seconds(row["pushes"]) if provider == "fcm" else 0
            row["provider_floor_seconds"] = round(floor, 1)
            row["seconds_to_last_push"] = round(
                max(row["worker_seconds"], floor, row["audience_read_seconds"],
                    row["read_floor_seconds"]), 1)
            rows[f"{provider}, {concurrency} workers"] = row
    return rows


def fleet(tenants, devices):
    storage_gb = devices * assumed("stored_bytes_per_device") / 1e9
    per_month = {
        "dynamodb_storage": storage_gb * assumed("storage_per_gb_month"),
        "tenant_secrets": tenants * assumed("secret_per_month"),
        "idle_polling": assumed("idle_poll_requests_per_month") * fanout.PRICES["sqs_request"],
    }
    registration = assumed("registration_write_units") * fanout.PRICES[
        "dynamodb_write_request_unit"] + fanout.api_request_cost()["total_per_million"] / 1e6
    return {"tenants": tenants, "devices": devices, "storage_gb": round(storage_gb, 1),
            "per_month": {k: round(v, 2) for k, v in per_month.items()},
            "per_month_total": round(sum(per_month.values()), 2),
            "per_million_registrations": round(registration * 1e6, 2)}


def model(results):
    m = measured_inputs(results)
    if m is None:
        return None
    return {
        "measured": {k: round(v, 9) for k, v in m.items()},
        "assumed": {k: {"value": v, "source": s} for k, (v, s) in ASSUMED.items()},
        "template": {"WorkerMaximumConcurrency": WORKER_MAXIMUM_CONCURRENCY,
                     "WorkerBatchSize": WORKER_BATCH_SIZE,
                     "WorkerTenantShare": WORKER_TENANT_SHARE,
                     "worker_memory_mb": WORKER_MEMORY_MB},
        "fleet": fleet(10_000, 100_000_000),
        "bulk_1m_users": bulk_send(m, 1_000_000),
        "broadcast_10m_devices": broadcast(m, 10_000_000),
    }


def render(scale):
    if not scale:
        return "scale model: needs the engine rows and the fan-out rows"
    lines = ["scale model (docs/scaling.md). Measured inputs:"]
    lines += [f"  {k} = {v:g}" for k, v in scale["measured"].items()]
    lines.append("Assumed inputs:")
    lines += [f"  {k} = {v['value']}: {v['source']}" for k, v in scale["assumed"].items()]
    lines.append("Template defaults: " + ", ".join(f"{k} {v}" for k, v in scale["template"].items()))
    f = scale["fleet"]
    lines.append(f"\n{f['tenants']:,} tenants, {f['devices']:,} devices: {f['storage_gb']} GB stored; "
                 f"per month ${f['per_month_total']:,} ("
                 + ", ".join(f"{k} ${v:,}" for k, v in f["per_month"].items())
                 + f"); ${f['per_million_registrations']} per million registrations")
    for title, key in (("1,000,000-user bulk send", "bulk_1m_users"),
                       ("10,000,000-device broadcast (all users)", "broadcast_10m_devices")):
        lines.append(f"\n| {title} | pushes | SQS messages (requests) | RRU | WRU | cost | "
                     "invocation s | worker s | provider floor s | new-table read floor s | to last push |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, r in scale[key].items():
            extra = (f" (audience read {r['audience_read_seconds']} s)"
                     if "audience_read_seconds" in r else "")
            lines.append(
                f"| {name} | {r['pushes']:,} | {r['sqs_messages']:,} ({r['sqs_requests']:,}) | "
                f"{r['read_units']:,} | {r['write_units']:,} | ${r['cost']:,} "
                f"(${r['cost_per_million_pushes']}/M) | {r['invocation_seconds']} | "
                f"{r['worker_seconds']:,} | {r['provider_floor_seconds']:,} | "
                f"{r['read_floor_seconds']:,} | "
                f"{r['seconds_to_last_push']:,} s{extra} |")
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys
    from pathlib import Path

    # python3 bench/scale_model.py [results.json]: the model of a saved run.
    default = Path.home() / ".cache/notify/target/bench/results.json"
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    print(render(model(json.loads(path.read_text()))))
