"""Custom schemathesis checks for scripts/fuzz-api (loaded via SCHEMATHESIS_HOOKS).

Every response of the fuzz run is searched for material that must never be
served: a private key, a plain API key outside the one answer that shows it,
a user-verification secret outside the one answer that shows it, and anything
of a second tenant (in an org the fuzzing user does not belong to). The
script passes the second tenant's id and key, and the verification secrets it
created, in NOTIFY_FUZZ_FORBIDDEN (one value per line).
"""

import os
import re

import schemathesis

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


@schemathesis.hook
def before_call(ctx, case, kwargs):
    """A body that is not UTF-8 goes as `application/octet-stream`.

    `cargo lambda watch` answers such a body sent with a text type itself,
    with a 500 of its own, before any function runs (README, "One difference
    from API Gateway"); API Gateway passes it base64-encoded, as it does any
    binary type, and the functions answer 400. Sending it as binary tests
    what a deployment does.
    """
    body = case.body
    if isinstance(body, (bytes, bytearray)):
        try:
            bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            case.media_type = "application/octet-stream"
