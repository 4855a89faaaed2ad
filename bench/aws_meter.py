"""A counting proxy in front of the AWS emulator (moto), for the fan-out
cost rows: every request is forwarded unchanged except that DynamoDB calls
ask for `ReturnConsumedCapacity: TOTAL`, so the emulator reports the
capacity units each call consumed; for transactions, which moto reports
nothing for, and for PutItem, which it reports as one unit whatever the
item's size, they are computed from the request by AWS's rules; so are a
Query's and a GetItem's read units, which moto reports as one whatever the
items' sizes and the read's consistency. Tallies per service and operation.

    python3 bench/aws_meter.py UPSTREAM_URL   # prints {"url": ...} once listening
    GET  /__meter        the tallies as JSON
    POST /__meter/reset  zeroes them
"""

import base64
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
                if operation == "PutItem":
                    units = put_item_units(body) or units
                if operation in ("Query", "GetItem"):
                    units = billed_read_units(operation, body, answer, units)
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
    per started KB of each item written. A Put's size is its item's
    (item_size); an Update, Delete or ConditionCheck is counted as one item
    under 1 KB."""
    try:
        actions = json.loads(body).get("TransactItems", [])
    except (json.JSONDecodeError, AttributeError):
        return 0.0
    units = 0.0
    for action in actions:
        put = action.get("Put") if isinstance(action, dict) else None
        size = item_size(put["Item"]) if put and isinstance(put.get("Item"), dict) else 1
        units += 2 * max(1, -(-size // 1024))
    return units


def put_item_units(body):
    """moto reports one write unit for every PutItem, whatever its size: AWS
    charges one per started KB of the item (attribute names and values, by
    attribute_size), which is what the progress items' growth costs."""
    try:
        item = json.loads(body).get("Item")
    except (json.JSONDecodeError, AttributeError):
        return 0.0
    if not isinstance(item, dict):
        return 0.0
    return float(max(1, -(-item_size(item) // 1024)))


def billed_read_units(operation, body, answer, reported):
    """AWS bills a Query the items it reads, their sizes summed and rounded
    up to 4 KB, and a GetItem its item rounded up to 4 KB; at least one
    unit either way, and half of it when the read is eventually consistent
    (the default). Items a filter drops are billed too: a Query's answer
    holds only those kept, so `ScannedCount` over `Count` scales them up.
    A COUNT query returns no items: moto's figure stands."""
    try:
        request = json.loads(body)
        reply = json.loads(answer)
    except json.JSONDecodeError:
        return reported
    if operation == "GetItem":
        item = reply.get("Item")
        size = item_size(item) if isinstance(item, dict) else 0
    elif request.get("Select") == "COUNT":
        return reported
    else:
        items = reply.get("Items") or []
        size = sum(item_size(item) for item in items)
        kept, scanned = reply.get("Count") or 0, reply.get("ScannedCount") or 0
        if kept and scanned > kept:
            size = size * scanned // kept
    units = max(1, -(-size // 4096))
    return float(units) if request.get("ConsistentRead") else units / 2


def item_size(item):
    """An item's bytes as DynamoDB bills them: its attributes' names and values."""
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def attribute_size(value):
    """Bytes DynamoDB counts for one attribute value in DynamoDB JSON
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
    strings their UTF-8 bytes, binaries their raw bytes, numbers about one
    byte per two significant digits plus one, lists and maps 3 bytes plus
    one per element."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind == "N":
        return number_size(inner)
    if kind == "SS":
        return sum(len(v.encode()) for v in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(v)) for v in inner)
    if kind == "NS":
        return sum(number_size(v) for v in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in inner.items())
    return 1  # BOOL, NULL


def number_size(text):
    digits = text.lstrip("-").replace(".", "").lstrip("0").rstrip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def total_units(answer):
    consumed = answer.get("ConsumedCapacity") if isinstance(answer, dict) else None
    if consumed is None:
        return 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    return sum(float(entry.get("CapacityUnits") or 0) for entry in entries)


if __name__ == "__main__":
    main()
