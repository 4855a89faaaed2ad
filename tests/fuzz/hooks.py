"""Custom schemathesis checks for scripts/fuzz-api (loaded via SCHEMATHESIS_HOOKS).

Every response of the fuzz run is searched for material that must never be
served: a private key, a plain API key outside the one answer that shows it,
a user-verification secret outside the one answer that shows it, and anything
of a second tenant (in an org the fuzzing user does not belong to). The
script passes the second tenant's id and key, and the verification secret it
created, in NOTIFY_FUZZ_FORBIDDEN (one value per line).

Two hooks keep the local stack's own limits out of the findings, each
documented where it is defined: `before_call` sends what `cargo lambda
watch` cannot pass on (a body or header value that is not UTF-8) the way
API Gateway would deliver it, and `after_call` sends a request again, a
bounded number of times, when the answer came from the local runtime or the
emulator rather than from the service (each resend is printed and counted).
"""

import os
import re
import sys
import time

import requests
import schemathesis
from schemathesis.core import NOT_SET

FORBIDDEN = [
    value.strip()
    for value in os.environ.get("NOTIFY_FUZZ_FORBIDDEN", "").splitlines()
    if value.strip()
]
PLAIN_KEY = re.compile(r"msk_live_[0-9A-Za-z]{8,}")
SECRET_FIELD = re.compile(r'"secret"\s*:\s*"[0-9a-f]{64}"')


def operation_id(case):
    definition = getattr(case.operation, "definition", None)
    raw = getattr(definition, "raw", None) or {}
    return raw.get("operationId", case.operation.label)


def body(response):
    try:
        return response.text or ""
    except Exception:  # an undecodable body cannot carry text we look for
        return ""


@schemathesis.check
def no_private_key_in_responses(ctx, response, case):
    """No answer ever carries a PEM private key."""
    if "-----BEGIN" in body(response):
        raise AssertionError(f"{operation_id(case)} answered a PEM block (`-----BEGIN`)")


@schemathesis.check
def no_plain_api_key_outside_its_creation(ctx, response, case):
    """The plain key is shown once, in the create_api_key answer."""
    if operation_id(case) != "create_api_key" and PLAIN_KEY.search(body(response)):
        raise AssertionError(f"{operation_id(case)} answered a plain API key (`msk_live_...`)")


@schemathesis.check
def no_verification_secret_outside_its_creation(ctx, response, case):
    """The verification secret is shown once, in the create_user_verification answer."""
    if operation_id(case) != "create_user_verification" and SECRET_FIELD.search(body(response)):
        raise AssertionError(f"{operation_id(case)} answered a `secret` field")


@schemathesis.check
def nothing_of_another_tenant(ctx, response, case):
    """Nothing of the second tenant (its id, its key) nor a known verification secret."""
    text = body(response)
    for value in FORBIDDEN:
        if value in text:
            raise AssertionError(
                f"{operation_id(case)} answered data of another tenant or a secret "
                f"(a value that starts with {value[:6]!r})"
            )


MOTO_LOG = os.environ.get("NOTIFY_FUZZ_MOTO_LOG", "")
MOTO_RACE = b"RuntimeError: dictionary changed size during iteration"
MOTO_LOG_SIZE = {}


def moto_log_size():
    try:
        return os.path.getsize(MOTO_LOG) if MOTO_LOG else None
    except OSError:
        return None


def moto_raced_since(size):
    """moto (the emulator) logged its thread-safety failure after `size`.

    Its transact_write_items deep-copies a table while another request (the
    delivery worker's, say) writes to it; it then answers an HTML 500 after
    applying part of the transaction, the SDK retries, and the retry fails
    its conditions. Real DynamoDB transactions are atomic and their retries
    idempotent (ClientRequestToken); only the emulator does this.
    """
    if size is None:
        return False
    try:
        with open(MOTO_LOG, "rb") as log:
            log.seek(size)
            return MOTO_RACE in log.read()
    except OSError:
        return False


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """A body that is not UTF-8 goes as `application/octet-stream`, and header
    values travel as UTF-8.

    `cargo lambda watch` answers a 500 of its own, before any function runs,
    to a body that is not UTF-8 sent with a text type (README, "One
    difference from API Gateway") and to a header value that is not UTF-8
    (schemathesis sends str headers as Latin-1). API Gateway passes a binary
    body base64-encoded, as the functions expect. Sending such data this way
    tests what a deployment does; the values stay just as invalid.
    """
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            case.media_type = "application/octet-stream"
    for name, value in list((case.headers or {}).items()):
        if isinstance(value, str) and not value.isascii():
            case.headers[name] = value.encode("utf-8", "surrogatepass").decode("latin-1")
    MOTO_LOG_SIZE[id(case)] = moto_log_size()


RETRIED = {"runtime": 0, "unavailable": 0, "emulator": 0}


def transient(response, since=None):
    """An answer that says nothing about the service's contract, or None.

    `cargo lambda watch` answers a 500 of its own, as text, while it starts a
    function instance (a `cargo run`) or restarts itself (scripts/dev restarts
    it when it exits, as it did in fuzz runs): the function never ran. And a
    503 `service_unavailable` asks the client to retry after `Retry-After`
    (moto, the emulator, fails some concurrent requests with an error page).
    A 500 counts only when moto logged its race meanwhile (see above).
    """
    if response.status_code == 500 and b"httpstatuses.com/500" in (response.content or b""):
        return "runtime"
    if response.status_code == 503 and b'"service_unavailable"' in (response.content or b""):
        return "unavailable"
    if response.status_code == 500 and moto_raced_since(since):
        return "emulator"
    return None


@schemathesis.hook
def after_call(ctx, case, response):
    """Sends the same request again, as a client following the contract would,
    while the answer is transient (see above): at most 6 times, over about 30 s.
    A function that keeps failing still fails the run."""
    since = MOTO_LOG_SIZE.pop(id(case), None)
    kind = transient(response, since)
    attempt = 0
    while kind and attempt < 6:
        time.sleep(min(2**attempt, 8))
        attempt += 1
        try:
            with requests.Session() as session:
                fresh = session.send(response.request.copy(), timeout=60, allow_redirects=False)
        except requests.RequestException:
            continue
        response.status_code = fresh.status_code
        response.headers = {name.lower(): fresh.raw.headers.getlist(name) for name in fresh.raw.headers}
        response.content = fresh.content
        response.content_size = len(fresh.content or b"")
        response.elapsed = fresh.elapsed.total_seconds()
        response.message = fresh.reason
        response.encoding = fresh.encoding
        response._deserialized = NOT_SET
        response._encoded_body = None
        RETRIED[kind] += 1
        print(
            f"fuzz-api: {kind} answer to {operation_id(case)}: sent again ({RETRIED[kind]} so far)",
            file=sys.stderr,
        )
        kind = transient(response, since)
