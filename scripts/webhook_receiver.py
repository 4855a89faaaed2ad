"""A small local webhook receiver, for the walk-through and for trying
webhooks on a laptop: it verifies each call with the `standardwebhooks`
library (as a production receiver should) and prints one JSON line per call.

    .venv/bin/python3 scripts/webhook_receiver.py --secret-file FILE [--port 0]

The first line printed is {"url": "http://127.0.0.1:PORT/notify-events"}.
Then, per call: {"verified": true, "webhook_id": ..., "type": ..., "data": ...}
for a call whose signature holds (answered 204), or {"verified": false,
"error": ...} for one that does not (answered 400). The secret is read from
FILE at every call, so the receiver can start before the webhook (and its
secret) exists; until FILE holds a secret, calls are answered 503.
"""

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from standardwebhooks import Webhook, WebhookVerificationError

PATH = "/notify-events"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret-file", required=True, type=Path, help="a file holding the whsec_ secret")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    args = parser.parse_args()

    def emit(line: dict) -> None:
        print(json.dumps(line), flush=True)

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            secret = args.secret_file.read_text().strip() if args.secret_file.exists() else ""
            if not secret:
                self.answer(503)
                return
            try:
                event = Webhook(secret).verify(body, dict(self.headers))
            except WebhookVerificationError as error:
                emit({"verified": False, "error": str(error)})
                self.answer(400)
                return
            emit({"verified": True, "webhook_id": self.headers.get("webhook-id"), **event})
            self.answer(204)

        def answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Receiver)
    emit({"url": f"http://127.0.0.1:{server.server_port}{PATH}"})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
