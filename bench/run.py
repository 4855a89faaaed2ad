#!/usr/bin/env python3
"""scripts/bench's driver: every throughput row against one push simulator,
interleaved round by round, then cold starts; prints one table and writes
the same figures as JSON. Standard library only.

Rows (see bench/README.md): h2load against a bare hyper h2 server and
against the simulator (APNs and FCM), our engine (APNs, FCM, and over a
hyper-util client), Parse's push adapter as it ships and in chunks of 1,000;
our engine's Web Push against the web-push library (Node) on the same
simulator.
"""

import argparse
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import coldstart
import fanout
import scale_model

BUNDLE_ID = "com.notify.bench"
HERE = Path(__file__).resolve().parent


def log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def run_measured(cmd, timeout=600):
    """Runs cmd, returns (returncode, stdout, stderr, peak RSS KiB of that child).

    The peak is the child's VmHWM, read every 10 ms until it exits (rusage's
    ru_maxrss would include the Python parent's size, inherited at fork)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        deadline = time.monotonic() + timeout
        peak = 0
        while True:
            peak = max(peak, proc_peak_rss(process.pid) or 0)
            pid, status, _ = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, _ = os.wait4(process.pid, 0)
                break
            time.sleep(0.01)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return process.returncode, out.read(), err.read(), peak


def start_announcing(cmd):
    """Starts a server that prints one JSON line once it listens."""
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    try:
        return process, json.loads(line)
    except json.JSONDecodeError:
        process.kill()
        raise SystemExit(f"{cmd[0]} did not announce itself: {line!r}")


def http_json(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


class Simulator:
    def __init__(self, bin_dir, state_dir, lean):
        cmd = [str(bin_dir / "push-simulator"), "--http-addr", "127.0.0.1:0",
               "--tls-addr", "127.0.0.1:0", "--state-dir", str(state_dir),
               "--log-level", "warn"]
        if lean:
            cmd.append("--lean")
        self.process, announced = start_announcing(cmd)
        self.http_url, self.tls_url, self.ca_pem = (
            announced["http"], announced["tls"], announced["ca_pem"])

    def reset(self):
        http_json("POST", f"{self.http_url}/admin/reset", {})

    def accepted(self):
        return http_json("GET", f"{self.http_url}/stats")["accepted"]

    def peak_rss_kib(self):
        return proc_peak_rss(self.process.pid)


def proc_peak_rss(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def h2load_row(requests, url, headers, body_file, clients, streams):
    cmd = ["h2load", "-n", str(requests), "-c", str(clients), "-m", str(streams), "-t", "1"]
    for header in headers:
        cmd += ["-H", header]
    cmd += ["-d", body_file, url]
    code, out, err, rss = run_measured(cmd)
    rate = re.search(r"finished in [\d.]+\w*, ([\d.]+) req/s", out)
    succeeded = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded", out)
    if code != 0 or not rate or not succeeded:
        raise SystemExit(f"h2load failed ({code}): {out}\n{err}")
    return {"rate": float(rate.group(1)), "sent": requests,
            "succeeded": int(succeeded.group(1)), "peak_rss_kib": rss}


def result_line(what, devices, code, out, err, rss):
    """push-bench's result line (send.mjs prints the same): rate, the
    simulator's count, the sender's CPU seconds. Both exit non-zero after
    it when a push was not delivered: the table says so (NOT DELIVERED)."""
    rate = re.search(r"= +([\d.]+) pushes/s", out)
    accepted = re.search(r"simulator accepted (\d+)", out)
    cpu = re.search(r"CPU client ([\d.]+) s", out)
    if not rate or not accepted:
        raise SystemExit(f"{what} failed ({code}): {out}\n{err}")
    row = {"rate": float(rate.group(1)), "sent": devices,
           "accepted": int(accepted.group(1)), "peak_rss_kib": rss}
    if cpu:
        row["cpu_us_per_push"] = float(cpu.group(1)) * 1e6 / devices
    return row


def engine_row(bin_dir, sim, scenario, devices, transport=None, in_flight=None):
    cmd = [str(bin_dir / "push-bench"), "--http-url", sim.http_url, "--tls-url", sim.tls_url,
           "--ca-file", sim.ca_pem, "--scenarios", scenario, "--rounds", "1",
           "--devices", str(devices)]
    if transport:
        cmd += ["--transport", transport]
    if in_flight:
        cmd += ["--in-flight", str(in_flight)]
    code, out, err, rss = run_measured(cmd)
    return result_line("push-bench", devices, code, out, err, rss)


def web_push_node_row(sim, devices, in_flight, work):
    """bench/webpush-node/send.mjs: web-push's sendNotification, `in_flight`
    at once over a keep-alive https.Agent trusting the simulator's CA."""
    settings = {"origin": sim.tls_url, "ca_pem": sim.ca_pem, "admin_url": sim.http_url,
                "devices": devices, "in_flight": in_flight, "sim_pid": sim.process.pid}
    settings_file = work / "webpush-node.json"
    settings_file.write_text(json.dumps(settings))
    code, out, err, rss = run_measured(["node", str(HERE / "webpush-node" / "send.mjs"),
                                        str(settings_file)])
    return result_line("web-push (node)", devices, code, out, err, rss)


def parse_row(sim, credentials_file, devices, chunk, work):
    settings = json.loads(Path(credentials_file).read_text())
    settings.update({"devices": devices, "chunk": chunk})
    settings_file = work / f"parse-{chunk}.json"
    settings_file.write_text(json.dumps(settings))
    code, out, err, rss = run_measured(["node", str(HERE / "parse" / "send.mjs"),
                                        str(settings_file)])
    try:
        answer = json.loads(out.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise SystemExit(f"Parse adapter run failed ({code}): {out}\n{err}")
    return {"rate": devices / answer["seconds"], "sent": devices,
            "reported_sent": answer["transmitted"], "accepted": sim.accepted(),
            "peak_rss_kib": rss}


def h2load_variables(bin_dir, sim, work):
    code, out, err, _ = run_measured([
        str(bin_dir / "push-bench"), "--http-url", sim.http_url, "--tls-url", sim.tls_url,
        "--ca-file", sim.ca_pem, "h2load-args", "--out-dir", str(work)])
    if code != 0:
        raise SystemExit(f"push-bench h2load-args failed: {err}")
    variables = {}
    for line in out.splitlines():
        name, _, value = line.partition("=")
        variables[name] = shlex.split(value)[0]
    return variables


def parse_credentials(sim, work):
    credentials = http_json("POST", f"{sim.http_url}/admin/credentials", {"bundle_id": BUNDLE_ID})
    key_file = work / "AuthKey.p8"
    key_file.write_text(credentials["private_key"])
    port = int(sim.tls_url.rsplit(":", 1)[1])
    settings = {"address": "127.0.0.1", "port": port, "key_file": str(key_file),
                "key_id": credentials["key_id"], "team_id": credentials["team_id"],
                "topic": credentials["bundle_id"], "admin_url": sim.http_url}
    path = work / "parse-credentials.json"
    path.write_text(json.dumps(settings))
    return path


def summarise(runs):
    """Median rate over rounds, the worst delivery count, the highest peak."""
    summary = {"rate": statistics.median(r["rate"] for r in runs),
               "rates": [round(r["rate"]) for r in runs],
               "sent": runs[0]["sent"]}
    for key in ("accepted", "succeeded", "reported_sent"):
        if key in runs[0]:
            summary[key] = min(r[key] for r in runs)
    summary["peak_rss_kib"] = max(r["peak_rss_kib"] for r in runs)
    if all("cpu_us_per_push" in r for r in runs):
        summary["cpu_us_per_push"] = statistics.median(r["cpu_us_per_push"] for r in runs)
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bin-dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--devices", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--h2load-requests", type=int, default=100_000)
    parser.add_argument("--h2load-clients", type=int, default=4)
    parser.add_argument("--h2load-streams", type=int, default=100)
    parser.add_argument("--parse-chunk", type=int, default=1_000)
    parser.add_argument("--no-lean", action="store_true",
                        help="run the simulator with recording (as tests use it)")
    parser.add_argument("--webpush-in-flight", type=int, default=1000,
                        help="Web Push pushes in flight, ours and web-push's (the engine's default)")
    parser.add_argument("--skip-parse", action="store_true")
    parser.add_argument("--skip-webpush", action="store_true")
    parser.add_argument("--skip-cold-start", action="store_true")
    parser.add_argument("--skip-fan-out", action="store_true")
    parser.add_argument("--functions", default="",
                        help="comma-separated function binaries for cold start (default: all)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    sim = Simulator(args.bin_dir, work / "simulator", lean=not args.no_lean)
    bare, bare_urls = start_announcing([str(args.bin_dir / "bare-h2")])
    try:
        results = throughput(args, sim, bare_urls, work)
        results["simulator_peak_rss_kib"] = sim.peak_rss_kib()
        if not args.skip_fan_out:
            engine_rate = results["rows"]["engine_apns"]["rate"]
            results["fan_out"] = fanout.measure(args.bin_dir, sim, engine_rate, log)
    finally:
        for process in (sim.process, bare):
            process.kill()
            process.wait()
    if not args.skip_cold_start:
        functions = [f for f in args.functions.split(",") if f]
        results["cold_start"] = coldstart.measure(args.bin_dir, functions, work, log)
    results["machine"] = machine()
    table = render(results)  # also fills results["ratios"]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(table)
    print(f"\n(written to {args.out})")
    failures = delivery_failures(results)
    if failures:
        print("\nNOT DELIVERED: " + "; ".join(failures))
        sys.exit(1)


def throughput(args, sim, bare_urls, work):
    variables = h2load_variables(args.bin_dir, sim, work)
    apns_headers = [f"authorization: {variables['APNS_AUTHORIZATION']}",
                    f"apns-topic: {variables['APNS_TOPIC']}",
                    "apns-push-type: alert", "apns-priority: 10"]
    fcm_headers = [f"authorization: {variables['FCM_AUTHORIZATION']}",
                   "content-type: application/json"]
    credentials = None if args.skip_parse else parse_credentials(sim, work)
    h2 = (args.h2load_requests, args.h2load_clients, args.h2load_streams)

    def h2load(base, path, headers, body):
        requests, clients, streams = h2
        return h2load_row(requests, base + path, headers, body, clients, streams)

    def with_sim_count(row_fn):
        def measured():
            sim.reset()
            row = row_fn()
            if "succeeded" in row:
                row["accepted"] = sim.accepted()
            return row
        return measured

    rows = {
        "h2load_bare_hyper": lambda: h2load(bare_urls["tls"], variables["APNS_PATH"],
                                            apns_headers, variables["APNS_BODY"]),
        "h2load_apns": with_sim_count(lambda: h2load(sim.tls_url, variables["APNS_PATH"],
                                                     apns_headers, variables["APNS_BODY"])),
        "engine_apns": lambda: engine_row(args.bin_dir, sim, "apns", args.devices),
        "engine_apns_hyper_util": lambda: engine_row(args.bin_dir, sim, "apns", args.devices,
                                                     transport="hyper-util"),
        "h2load_fcm": with_sim_count(lambda: h2load(sim.tls_url, variables["FCM_PATH"],
                                                    fcm_headers, variables["FCM_BODY"])),
        "engine_fcm": lambda: engine_row(args.bin_dir, sim, "fcm", args.devices),
    }
    if not args.skip_parse:
        rows["parse_as_shipped"] = with_sim_count(
            lambda: parse_row(sim, credentials, args.devices, args.devices, work))
        rows["parse_best"] = with_sim_count(
            lambda: parse_row(sim, credentials, args.devices, args.parse_chunk, work))
    if not args.skip_webpush:
        in_flight = args.webpush_in_flight
        rows["engine_webpush"] = lambda: engine_row(args.bin_dir, sim, "webpush", args.devices,
                                                    in_flight=in_flight)
        rows["webpush_node"] = with_sim_count(
            lambda: web_push_node_row(sim, args.devices, in_flight, work))
    if not engine_supports_hyper_util(args.bin_dir):
        del rows["engine_apns_hyper_util"]

    runs = {name: [] for name in rows}
    for round_number in range(1, args.rounds + 1):
        for name, row in rows.items():
            log(f"round {round_number}/{args.rounds}: {name}")
            result = row()
            runs[name].append(result)
            log(f"  {result['rate']:.0f}/s, peak RSS {result['peak_rss_kib'] / 1024:.0f} MiB")
    return {
        "devices": args.devices,
        "rounds": args.rounds,
        "h2load": {"requests": h2[0], "clients": h2[1], "streams_per_client": h2[2]},
        "parse_chunk": args.parse_chunk,
        "webpush_in_flight": None if args.skip_webpush else args.webpush_in_flight,
        "simulator_lean": not args.no_lean,
        "rows": {name: summarise(result) for name, result in runs.items()},
    }


def engine_supports_hyper_util(bin_dir):
    code, out, _, _ = run_measured([str(bin_dir / "push-bench"), "--help"])
    return code == 0 and "--transport" in out


def ratio(results, top, bottom, key="rate"):
    """Rates: the median of the per-round ratios (rows of one round ran
    back to back, so machine load cancels best there); peaks: of the peaks."""
    rows = results["rows"]
    if top not in rows or bottom not in rows or not rows[bottom].get(key):
        return None
    if key == "rate":
        pairs = zip(rows[top]["rates"], rows[bottom]["rates"])
        return statistics.median(a / b for a, b in pairs if b)
    if not rows[top].get(key):
        return None
    return rows[top][key] / rows[bottom][key]


RATIOS = [
    ("ours / Parse best", "engine_apns", "parse_best", "rate"),
    ("ours / Parse as shipped", "engine_apns", "parse_as_shipped", "rate"),
    ("ours / ceiling (h2load APNs)", "engine_apns", "h2load_apns", "rate"),
    ("simulator / bare hyper (h2load)", "h2load_apns", "h2load_bare_hyper", "rate"),
    ("hyper-util client / ours", "engine_apns_hyper_util", "engine_apns", "rate"),
    ("ours FCM / h2load FCM", "engine_fcm", "h2load_fcm", "rate"),
    ("Parse best peak RSS / ours", "parse_best", "engine_apns", "peak_rss_kib"),
    ("ours vs web-push", "engine_webpush", "webpush_node", "rate"),
    ("web-push CPU per push / ours", "webpush_node", "engine_webpush", "cpu_us_per_push"),
]

# Ratios with a goal (issue 24: ours at least 10x web-push's rate).
GOALS = {"ours vs web-push": 10.0}

LABELS = {
    "h2load_bare_hyper": "h2load -> bare hyper h2 server (APNs requests)",
    "h2load_apns": "h2load -> simulator, APNs (ceiling)",
    "engine_apns": "our engine, APNs",
    "engine_apns_hyper_util": "our engine over hyper-util, APNs",
    "parse_as_shipped": "@parse/push-adapter, one send",
    "parse_best": "@parse/push-adapter, chunks",
    "h2load_fcm": "h2load -> simulator, FCM (ceiling)",
    "engine_fcm": "our engine, FCM",
    "engine_webpush": "ours webpush",
    "webpush_node": "web-push (node)",
}


def render(results):
    lines = [f"{results['devices']:,} devices per sender run, h2load "
             f"{results['h2load']['requests']:,} requests, median of {results['rounds']} "
             f"interleaved rounds; simulator {'lean' if results['simulator_lean'] else 'recording'}",
             "",
             "| row | pushes/s (median) | rounds | delivered (simulator) | peak RSS |",
             "|---|---:|---|---|---:|"]
    for name, row in results["rows"].items():
        delivered = f"{row.get('accepted', row.get('succeeded', 0)):,} / {row['sent']:,}"
        if "reported_sent" in row:
            delivered += f" (reported {row['reported_sent']:,})"
        lines.append(f"| {LABELS.get(name, name)} | {row['rate']:,.0f} | "
                     f"{', '.join(f'{r:,}' for r in row['rates'])} | {delivered} | "
                     f"{row['peak_rss_kib'] / 1024:,.1f} MiB |")
    lines += ["", "| ratio (median of the per-round ratios) | value |", "|---|---:|"]
    results["ratios"] = {}
    for label, top, bottom, key in RATIOS:
        value = ratio(results, top, bottom, key)
        if value is not None:
            results["ratios"][label] = round(value, 3)
            goal = GOALS.get(label)
            mark = "" if goal is None else (
                f" (goal >= {goal:g}x: {'met' if value >= goal else 'NOT met'})")
            lines.append(f"| {label} | {value:.2f}x{mark} |")
    cpu = [f"{LABELS.get(name, name)} {row['cpu_us_per_push']:.1f}"
           for name, row in results["rows"].items() if "cpu_us_per_push" in row]
    if cpu:
        lines.append("\nsender CPU per push (us, median): " + ", ".join(cpu))
    if results.get("simulator_peak_rss_kib"):
        lines.append(f"\nsimulator peak RSS {results['simulator_peak_rss_kib'] / 1024:.1f} MiB")
    if results.get("fan_out"):
        lines += ["", fanout.render(results["fan_out"])]
        results["scale"] = scale_model.model(results)
        lines += ["", scale_model.render(results["scale"])]
    if "cold_start" in results:
        lines += ["", coldstart.render(results["cold_start"])]
    return "\n".join(lines)


def delivery_failures(results):
    failures = []
    for name, row in results["rows"].items():
        if name == "h2load_bare_hyper":
            delivered = row["succeeded"]
        else:
            delivered = row.get("accepted", 0)
        if delivered < row["sent"]:
            failures.append(f"{LABELS.get(name, name)}: {delivered:,} of {row['sent']:,}")
    return failures


def machine():
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "load_average_at_end": os.getloadavg(),
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


if __name__ == "__main__":
    main()
