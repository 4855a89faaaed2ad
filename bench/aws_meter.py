"""A counting proxy in front of the AWS emulator (moto), for the fan-out
cost rows: every request is forwarded unchanged except that DynamoDB calls
ask for `ReturnConsumedCapacity: TOTAL`, so the emulator reports the
capacity units each call consumed (moto computes them from item sizes);
for transactions, which moto reports nothing for, they are computed from
the request by AWS's rules. Tallies per service and operation.

    python3 bench/aws_meter.py UPSTREAM_URL   # prints {"url": ...} once listening
    GET  /__meter        the tallies as JSON
    POST /__meter/reset  zeroes them
"""

import http.client
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class Meter:
    def __init__(self):
        self.lock = threading.Lock()
        self.calls = {}

    def reset(self):
        with self.lock:
            self.calls = {}

    def add(self, service, operation, read_units, write_units):
        with self.lock:
            entry = self.calls.setdefault(f"{service}.{operation}",
                                          {"calls": 0, "read_units": 0.0, "write_units": 0.0})
            entry["calls"] += 1
            entry["read_units"] += read_units
            entry["write_units"] += write_units


def operation_of(headers, body):
    target = headers.get("x-amz-target", "")
    if target:
        prefix, _, operation = target.partition(".")
        service = "dynamodb" if prefix.startswith("DynamoDB") else (
            "sqs" if "SQS" in prefix else "secretsmanager" if "secretsmanager" in prefix
            else prefix)
        return service, operation
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    action = form.get("Action", ["?"])[0]
    return "sqs", action


READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


def main():
    upstream = urllib.parse.urlparse(sys.argv[1])
    meter = Meter()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_GET(self):
            if self.path == "/__meter":
                with meter.lock:
                    body = json.dumps(meter.calls).encode()
                return self.answer(200, {"content-type": "application/json"}, body)
            self.forward()

        def do_POST(self):
            if self.path == "/__meter/reset":
                meter.reset()
                return self.answer(200, {"content-type": "application/json"}, b"{}")
            self.forward()

        def do_DELETE(self):
            self.forward()

        def do_PUT(self):
            self.forward()

        def forward(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            service, operation = operation_of(
                {k.lower(): v for k, v in self.headers.items()}, body)
            if service == "dynamodb" and body:
                try:
                    request = json.loads(body)
                    request["ReturnConsumedCapacity"] = "TOTAL"
                    body = json.dumps(request).encode()
                except json.JSONDecodeError:
                    pass
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            reply_headers = {k: v for k, v in response.getheaders()
                             if k.lower() not in HOP_BY_HOP}
            connection.close()
            read_units = write_units = 0.0
            if service == "dynamodb" and response.status == 200:
                try:
                    units = total_units(json.loads(answer))
                except json.JSONDecodeError:
                    units = 0.0
                if not units and operation == "TransactWriteItems":
                    units = transact_write_units(body)
                if operation in READS:
                    read_units = units
                else:
                    write_units = units
            meter.add(service, operation, read_units, write_units)
            self.answer(response.status, reply_headers, answer)

        def answer(self, status, headers, body):
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(json.dumps({"url": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    server.serve_forever()


def transact_write_units(body):
    """moto reports no capacity for transactions: AWS charges 2 write units
    per started KB of each item written. A Put's size is estimated from its
    request JSON (an overestimate: DynamoDB JSON carries type tags); an
    Update, Delete or ConditionCheck is counted as one item under 1 KB."""
    try:
        actions = json.loads(body).get("TransactItems", [])
    except (json.JSONDecodeError, AttributeError):
        return 0.0
    units = 0.0
    for action in actions:
        put = action.get("Put") if isinstance(action, dict) else None
        size = len(json.dumps(put["Item"])) if put and "Item" in put else 1
        units += 2 * max(1, -(-size // 1024))
    return units


def total_units(answer):
    consumed = answer.get("ConsumedCapacity") if isinstance(answer, dict) else None
    if consumed is None:
        return 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    return sum(float(entry.get("CapacityUnits") or 0) for entry in entries)


if __name__ == "__main__":
    main()
