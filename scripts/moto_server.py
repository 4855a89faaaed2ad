#!/usr/bin/env python3
"""moto's server (same options as `moto_server`), answering DynamoDB
requests one at a time.

DynamoDB applies a write and its condition atomically: of two concurrent
conditional writes to one item, one fails. moto's server answers every
request on a thread of its own and evaluates a condition and applies the
write without a lock, so both may pass (a tenant claimed twice, a counter
passed). Serialising DynamoDB's requests makes the emulator play
DynamoDB's rule. Only DynamoDB's: an SQS long poll holds its request for
seconds and must not hold the others (docs/local-aws-rules.md).
"""

import sys
import threading

from moto import server


class DynamoDbOneAtATime:
    """A WSGI middleware: DynamoDB requests (`X-Amz-Target: DynamoDB_...`)
    are answered whole, one at a time; others pass through."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            answer = self.app(environ, start_response)
            try:
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close is not None:
                    close()


def main():
    run_simple = server.run_simple

    def serialised(host, port, app, **options):
        return run_simple(host, port, DynamoDbOneAtATime(app), **options)

    server.run_simple = serialised
    server.main(sys.argv[1:])


if __name__ == "__main__":
    main()
