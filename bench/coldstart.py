"""Cold start of each function binary against a minimal local Lambda
runtime API: time from exec to the first `GET .../invocation/next` (init
done) and to the first response posted back; binary sizes. The same for a
minimal Python handler speaking the same API (bench/coldstart_handler.py),
bare and with boto3 imported and a client built at init, as Python
services on Lambda usually are.

Each function gets its own fixture from events/ with the credentials
headers removed, so it answers (401, or health's 200) without calling AWS;
the worker gets an SQS event with no records. AWS endpoints point at a
closed local port: nothing leaves the machine.
"""

import json
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3
PREFIX = "/2018-06-01/runtime"


class Emulator:
    """One invocation per process start; later `next` calls are held."""

    def __init__(self):
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.answered = threading.Event()
        self.event = b"{}"
        self.started = self.next_at = self.response_at = None
        self.served = False
        self.status = None
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_):
                pass

            def do_GET(self):
                now = time.perf_counter()
                if self.path != f"{PREFIX}/invocation/next":
                    return self.reply(404, b"{}")
                with emulator.lock:
                    first = not emulator.served
                    emulator.served = True
                    if first:
                        emulator.next_at = now
                if not first:
                    # The runtime's second poll: nothing more to do.
                    emulator.released.wait(30)
                    try:
                        self.reply(410, b"{}")
                    except OSError:
                        pass  # the process was killed while it waited
                    return
                deadline = int(time.time() * 1000) + 30_000
                self.reply(200, emulator.event, {
                    "Lambda-Runtime-Aws-Request-Id": str(uuid.uuid4()),
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
                    "Lambda-Runtime-Invoked-Function-Arn":
                        "arn:aws:lambda:us-east-1:123456789012:function:bench",
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000",
                })

            def do_POST(self):
                now = time.perf_counter()
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.path.endswith("/response") or self.path.endswith("/error"):
                    with emulator.lock:
                        if emulator.response_at is None:
                            emulator.response_at = now
                            emulator.status = ("error" if self.path.endswith("/error")
                                               else response_status(body))
                    emulator.answered.set()
                    return self.reply(202, b'{"status":"OK"}')
                return self.reply(404, b"{}")

            def reply(self, status, body, headers=None):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        class QuietServer(ThreadingHTTPServer):
            # A measured process is killed while its next `next` call waits:
            # the broken connection is expected, not worth a traceback.
            def handle_error(self, request, client_address):
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def measure(self, cmd, env, event):
        self.event = event
        self.served = False
        self.next_at = self.response_at = self.status = None
        self.released.clear()
        self.answered.clear()
        started = time.perf_counter()
        process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        answered = self.answered.wait(30)
        process.kill()
        process.wait()
        self.released.set()
        if not answered or self.next_at is None:
            return None
        return {"init_ms": (self.next_at - started) * 1000,
                "first_response_ms": (self.response_at - started) * 1000,
                "status": self.status}


def response_status(body):
    try:
        answer = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "?"
    if isinstance(answer, dict) and "statusCode" in answer:
        return answer["statusCode"]
    return "ok"


def environment(runtime_api):
    return {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # A closed port: any AWS call fails fast instead of leaving the machine.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_EC2_METADATA_DISABLED": "true",
        "NOTIFY_TABLE_NAME": "bench",
        "NOTIFY_SIGNING_SECRET_ID": "bench",
        "NOTIFY_TENANT_SECRET_PREFIX": "bench/",
        "NOTIFY_DELIVERY_QUEUE_URL": "http://127.0.0.1:9/000000000000/bench",
        "NOTIFY_DELIVERY_DLQ_URL": "http://127.0.0.1:9/000000000000/bench-dlq",
        "RUST_LOG": "off",
    }


def fixture(function):
    event = json.loads((ROOT / "events" / f"{function}.json").read_text())
    if "Records" in event:
        # An SQS event (the delivery worker, the webhook dispatcher): with no
        # records, so the first response measures start-up, not calls to
        # the closed AWS port and the SDK's retries.
        return json.dumps({"Records": []}).encode()
    headers = event.get("headers") or {}
    for name in list(headers):
        if name.lower() in ("authorization", "x-api-key"):
            del headers[name]
    return json.dumps(event).encode()


def functions_in_workspace():
    return sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "Cargo.toml").exists())


def python_interpreter():
    venv = ROOT / ".venv" / "bin" / "python3"
    return str(venv) if venv.exists() else sys.executable


def measure(bin_dir, functions, work, log):
    emulator = Emulator()
    env = environment(emulator.address)
    rows = {}
    for function in functions or functions_in_workspace():
        binary = Path(bin_dir) / function
        if not binary.exists():
            log(f"cold start: {binary} missing, skipped")
            continue
        rows[function] = timed(emulator, [str(binary)], env, fixture(function), log, function)
        rows[function]["size_bytes"] = binary.stat().st_size
    python = python_interpreter()
    handler = str(Path(__file__).resolve().parent / "coldstart_handler.py")
    event = fixture("health")
    rows["python (stdlib)"] = timed(emulator, [python, handler], env, event, log, "python")
    rows["python + boto3"] = timed(emulator, [python, handler, "--boto3"], env, event, log,
                                   "python + boto3")
    emulator.server.shutdown()
    ours = [r["first_response_ms"] for n, r in rows.items()
            if not n.startswith("python") and r["first_response_ms"] is not None]
    python = rows["python + boto3"]["first_response_ms"]
    ratio = round(python / max(ours), 2) if ours and python else None
    return {"rows": rows, "python_boto3_over_slowest_function": ratio}


def timed(emulator, cmd, env, event, log, name):
    samples = [emulator.measure(cmd, env, event) for _ in range(RUNS)]
    done = [s for s in samples if s]
    if not done:
        log(f"cold start: {name} never answered")
        return {"init_ms": None, "first_response_ms": None, "status": None}
    row = {"init_ms": round(statistics.median(s["init_ms"] for s in done), 1),
           "first_response_ms": round(statistics.median(s["first_response_ms"] for s in done), 1),
           "status": done[0]["status"], "runs": len(done)}
    log(f"cold start {name}: init {row['init_ms']} ms, first response "
        f"{row['first_response_ms']} ms ({row['status']})")
    return row


def render(cold):
    lines = ["| cold start (median of 3) | exec -> first next | exec -> first response | "
             "answer | binary |", "|---|---:|---:|---|---:|"]
    for name, row in cold["rows"].items():
        size = f"{row['size_bytes'] / 1e6:.1f} MB" if "size_bytes" in row else "-"
        init = "-" if row["init_ms"] is None else f"{row['init_ms']:.1f} ms"
        first = "-" if row["first_response_ms"] is None else f"{row['first_response_ms']:.1f} ms"
        lines.append(f"| {name} | {init} | {first} | {row['status']} | {size} |")
    if cold.get("python_boto3_over_slowest_function"):
        lines.append("\npython + boto3 / our slowest function, exec to first response: "
                     f"{cold['python_boto3_over_slowest_function']:.1f}x")
    return "\n".join(lines)
