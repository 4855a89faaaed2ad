"""Checks a deployed Notify stage for what the local stack cannot show
(docs/local-aws-rules.md): it creates a throwaway tenant, then

1. unregisters a Web Push device by its URL-encoded endpoint in the query
   string, and an FCM token whose `:` is sent as `%3A` in the path (API
   Gateway decodes paths before routing; the local router does not);
2. registers devices on that one tenant concurrently (DynamoDB transaction
   conflicts, which moto never produces, must not become 5xx);
3. registers a few hundred devices and deletes the tenant, waiting until the
   deletion reports it entirely gone;

reports each check with its time, and deletes what it made (the tenant and
everything under it) even when a check fails. Standard library only.
Exit status: 0 when every check passed, 1 when one failed, 2 on bad usage.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

# RFC 8291's example subscription keys: a valid P-256 point and auth secret.
# The stage never sends to the endpoint below: nothing is pushed.
P256DH = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"


class Api:
    def __init__(self, base, token, timeout=30):
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout

    def call(self, method, path, body=None, headers=None):
        """(status, parsed JSON or text) of one request; never raises for HTTP errors."""
        status, body, _ = self.call_with_headers(method, path, body, headers)
        return status, body

    def call_with_headers(self, method, path, body=None, headers=None):
        """(status, parsed JSON or text, response headers) of one request."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw, answer_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as err:
            status, raw, answer_headers = err.code, err.read(), err.headers
        except (TimeoutError, urllib.error.URLError) as err:
            # No answer (status 0): the caller decides whether to try again.
            return 0, f"no answer: {err}", {}
        try:
            return status, json.loads(raw or b"null"), answer_headers
        except ValueError:
            return status, raw.decode("utf-8", "replace"), answer_headers


class Report:
    def __init__(self):
        self.rows = []

    def check(self, name, function):
        started = time.monotonic()
        try:
            detail = function()
            ok = True
        except AssertionError as err:
            ok, detail = False, str(err)
        except Exception as err:  # noqa: BLE001 - a check that crashes fails, the run goes on
            ok, detail = False, f"{type(err).__name__}: {err}"
        seconds = time.monotonic() - started
        self.rows.append((name, ok, seconds, detail or ""))
        print(f"{'ok  ' if ok else 'FAIL'} {name} ({seconds:.1f}s) {detail or ''}", flush=True)
        return ok

    def print(self):
        print("\ncheck-deployment summary")
        for name, ok, seconds, detail in self.rows:
            print(f"  {'ok  ' if ok else 'FAIL'} {name:<44} {seconds:6.1f}s  {detail}")
        failed = [row for row in self.rows if not row[1]]
        print(f"{len(self.rows) - len(failed)} of {len(self.rows)} checks passed")
        return not failed


def apns_token(prefix, n):
    return f"{prefix:08x}{n:056x}"


def fcm_token(run, n):
    return f"check{run}{n}:APA91b" + "x_-Z" * 30


def expect(status, body, wanted, what):
    assert status == wanted, f"{what}: {status} {body}"


def create_tenant(api, org):
    status, body = api.call("POST", "/tenants", {"org_id": org})
    expect(status, body, 200, "POST /tenants")
    return body["tenant_id"]


def check_health(api):
    status, body = api.call("GET", "/health")
    expect(status, body, 200, "GET /health")
    return f"version {body.get('version')}"


def check_encoded_unregistration(api, tenant, run):
    base = f"/tenants/{tenant}"
    status, body = api.call("PATCH", base, {"web_push": {"subject": "mailto:check-deployment@example.com"}})
    expect(status, body, 200, "PATCH web_push")
    endpoint = f"https://fcm.googleapis.com/fcm/send/check-{run}:APA91b{run}"
    subscription = {"endpoint": endpoint, "keys": {"p256dh": P256DH, "auth": AUTH}}
    status, body = api.call("POST", f"{base}/devices",
                            {"user_id": "web-user", "platform": "webpush", "subscription": subscription})
    expect(status, body, 200, "register the Web Push device")
    # What API Gateway does with the path form: its own 404 (informational).
    encoded = urllib.parse.quote(endpoint, safe="")
    path_status, _ = api.call("DELETE", f"{base}/devices/{encoded}?user_id=web-user")
    status, body = api.call("DELETE", f"{base}/devices?token={encoded}&user_id=web-user")
    expect(status, body, 200, "DELETE .../devices?token=<encoded endpoint>")
    status, body = api.call("GET", f"{base}/devices?user_id=web-user")
    expect(status, body, 200, "list after unregistering")
    assert body.get("devices") == [], f"the Web Push device is still listed: {body}"
    # An FCM token as the Python SDK sends it: `:` as %3A in the path.
    token = fcm_token(run, 0)
    status, body = api.call("POST", f"{base}/devices",
                            {"user_id": "fcm-user", "token": token, "platform": "android"})
    expect(status, body, 200, "register the FCM device")
    status, body = api.call("DELETE", f"{base}/devices/{urllib.parse.quote(token, safe='')}?user_id=fcm-user")
    expect(status, body, 200, "DELETE .../devices/<token with %3A>")
    return f"path form with an encoded endpoint answered {path_status}"


# Answers the contract asks a client to retry after `Retry-After`, and no
# answer at all (0): registering a token again is harmless.
RETRYABLE = (0, 409, 429, 503)


def register_all(api, tenant, devices, workers, attempts=4):
    """(first status, final status, final body) of concurrent registrations of
    (user_id, token) pairs, each retried after `Retry-After` (at most 5 s)
    while the answer is one the contract says to retry."""
    def register(device):
        user_id, token = device
        first = None
        for attempt in range(attempts):
            status, body, headers = api.call_with_headers(
                "POST", f"/tenants/{tenant}/devices",
                {"user_id": user_id, "token": token, "platform": "ios"})
            first = status if first is None else first
            if status not in RETRYABLE or attempt == attempts - 1:
                break
            try:
                wait = min(float(headers.get("Retry-After", "1")), 5.0)
            except ValueError:
                wait = 1.0
            time.sleep(wait)
        return first, status, body

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(register, devices))


def count(statuses):
    counts = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return counts


def check_concurrent_registrations(api, tenant, how_many, workers):
    devices = [(f"user-{n % 5}", apns_token(0xC0C0, n)) for n in range(how_many)]
    answers = register_all(api, tenant, devices, workers)
    first = count(first for first, _, _ in answers)
    # A conflict may answer 409 (or a busy dependency 503) with Retry-After,
    # and succeed when retried; a 500, or a failure after the retries, is a bug.
    broken = [(s, b) for f, s, b in answers if s != 200 or f == 500]
    assert not broken, f"{len(broken)} registrations failed, e.g. {broken[0]}; first answers: {first}"
    listed = 0
    for user in range(5):
        status, body = api.call("GET", f"/tenants/{tenant}/devices?user_id=user-{user}")
        expect(status, body, 200, "list devices")
        listed += len(body.get("devices", []))
    assert listed == how_many, f"{how_many} registered, {listed} listed"
    return f"{how_many} registrations with {workers} at once, first answers {first}"


def check_purge(api, org, items, workers, wait_seconds, made):
    tenant = create_tenant(api, org)
    made.append(tenant)
    devices = [(f"purge-{n % 50}", apns_token(0xD00D, n)) for n in range(items)]
    answers = register_all(api, tenant, devices, workers)
    failed = [(s, b) for _, s, b in answers if s != 200]
    assert not failed, f"{len(failed)} registrations failed, e.g. {failed[0]}"
    started = time.monotonic()
    # 200 while anything of it is left, 404 once it is entirely gone. A
    # deletion cut short (no answer, a function timeout's 503/504, a 409
    # while a change finishes) is finished by sending it again.
    answers = []
    while True:
        status, body = api.call("DELETE", f"/tenants/{tenant}")
        answers.append(status)
        if status == 404 and len(answers) > 1:
            break
        assert status in (0, 200, 409, 503, 504), f"DELETE: {status} {body}"
        assert time.monotonic() - started < wait_seconds, f"not gone after {wait_seconds}s: {status} {body}"
        time.sleep(2)
    status, body = api.call("GET", f"/tenants/{tenant}")
    expect(status, body, 404, "GET the deleted tenant")
    return (f"{items} devices ({2 * items + min(items, 50)} items) purged in "
            f"{time.monotonic() - started:.1f}s, DELETE answers {count(answers)}")


def delete_quietly(api, tenant):
    for _ in range(30):
        status, _ = api.call("DELETE", f"/tenants/{tenant}")
        if status == 404:
            return True
        time.sleep(2)
    return False


def mint_token(secret_id, org):
    """A one-hour token for `check-deployment` in `org`, minted by notifyctl from
    the stage's signing secret (needs the caller's AWS credentials)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    command = ["cargo", "run", "-q", "--release", "-p", "notifyctl", "--", "mint-token",
               "--sub", "check-deployment", "--org", org, "--ttl", "1h",
               "--signing-secret", secret_id]
    return subprocess.run(command, cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def main(argv):
    parser = argparse.ArgumentParser(
        prog="scripts/check-deployment",
        description="Checks a deployed Notify stage for what the local stack cannot show "
                    "(docs/operations.md#checking-a-deployment). Creates a throwaway tenant, "
                    "reports, and deletes everything it made.")
    parser.add_argument("--api-url", default=os.environ.get("NOTIFY_API_URL"),
                        help="the stage's base URL (env NOTIFY_API_URL)")
    parser.add_argument("--token", default=os.environ.get("NOTIFY_USER_TOKEN"),
                        help="a user token of a member of --org (env NOTIFY_USER_TOKEN)")
    parser.add_argument("--signing-secret-id", default=os.environ.get("NOTIFY_SIGNING_SECRET_ID"),
                        help="operator alternative to --token: mint one with notifyctl from this "
                             "Secrets Manager secret, with your AWS credentials (env NOTIFY_SIGNING_SECRET_ID)")
    parser.add_argument("--org", default=None,
                        help="the org the throwaway tenants go in (default: the token's personal org, its sub)")
    parser.add_argument("--concurrency", type=int, default=50, help="registrations at once (default 50)")
    parser.add_argument("--purge-items", type=int, default=300,
                        help="devices of the tenant that is deleted (default 300)")
    parser.add_argument("--purge-wait", type=int, default=300,
                        help="seconds the deletion may take (default 300)")
    args = parser.parse_args(argv)
    if not args.api_url:
        parser.error("--api-url (or NOTIFY_API_URL) is required")
    org = args.org
    token = args.token
    if not token:
        if not args.signing_secret_id:
            parser.error("give --token (NOTIFY_USER_TOKEN) or --signing-secret-id (NOTIFY_SIGNING_SECRET_ID)")
        org = org or "check-deployment"
        token = mint_token(args.signing_secret_id, org)
    if not org:
        status, body = Api(args.api_url, token).call("GET", "/auth/validate")
        if status != 200:
            print(f"the token is refused: GET /auth/validate answered {status} {body}", file=sys.stderr)
            return 1
        org = body["user_id"]

    api = Api(args.api_url, token)
    run = uuid.uuid4().hex[:8]
    report = Report()
    made = []
    print(f"checking {api.base} as org {org} (run {run})", flush=True)
    try:
        if report.check("health", lambda: check_health(api)):
            tenant = create_tenant(api, org)
            made.append(tenant)
            report.check("encoded unregistration (query and %3A)",
                         lambda: check_encoded_unregistration(api, tenant, run))
            report.check("concurrent registrations on one tenant",
                         lambda: check_concurrent_registrations(api, tenant, args.concurrency,
                                                                args.concurrency))
            report.check("purge of a deleted tenant",
                         lambda: check_purge(api, org, args.purge_items, 16, args.purge_wait, made))
    finally:
        for tenant in made:
            if not delete_quietly(api, tenant):
                print(f"could not delete {tenant}: delete it by hand", file=sys.stderr)
    return 0 if report.print() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
