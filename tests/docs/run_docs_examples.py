"""Runs every code block of docs/ against the running local stack.

Each fenced block in docs/*.md must be preceded (on the line just before its
opening fence) by an annotation; docs/contributing-docs.md describes them:

    <!-- docs-test: illustrative -->            shown, not run (an answer, a
                                                 deployment-only command)
    <!-- docs-test: run [check...] -->          run it, require exit 0 (or
                                                 `exit=N`), then each check

Blocks run by their fence's language: sh/bash with `bash -euo pipefail`,
python with the project virtualenv's Python (the SDK installed from
sdks/python), js with node. Each page gets a fresh tenant whose credentials
point at the push simulator, an API key, and a user `user-123` with an
iPhone and an Android phone; blocks see them in their environment (see
`page_environment`). An unannotated block, a failing block or a failing
check fails the run.

Usage: run_docs_examples.py [DIR_OR_PAGE...] (default docs/), in the
environment of `scripts/dev env` plus MUSHU_CLI_BIN_DIR (scripts/docs-test).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ANNOTATION = re.compile(r"^<!--\s*docs-test:\s*(?P<body>.*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<lang>[\w+-]*)\s*$")
INTERPRETERS = {"sh": "bash", "bash": "bash", "python": "python", "js": "node", "javascript": "node"}
BLOCK_TIMEOUT_SECONDS = 120
# What the Node.js examples import (scripts/docs-test installs tests/docs/package.json).
NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
REPO_SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
USER_ID = "user-123"
IPHONE = "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad"
ANDROID = (
    "fXk2PtYgjmUhBel31iEl2h:APA91bpChYgCfrL1spNxnyVmihA-2O76UMFxFkM-R5Kjp1vRt_1fjORS-6ilI8ihN5KXSc7Tvo-"
    "hBKqFYY-kv5ZJr3J1TWDtkwtDDb_xHKas1VOqg6YYZYn9ZhyiA4uoRgnatmUdjAWt"
)


@dataclass
class Block:
    path: Path
    line: int
    lang: str
    code: str
    annotation: str | None

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


@dataclass
class Context:
    """One page's tenant, key and devices, and what the checks compare against."""

    tenant_id: str
    api_key: str
    spare_key_id: str
    spare_key: str
    apns_key_id: str
    fcm_client_email: str
    env: dict[str, str]
    deliveries_before: int = 0
    keys_before: set[str] = field(default_factory=set)


# --- HTTP ---------------------------------------------------------------------


def call(method: str, url: str, body=None, headers=None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text or b"{}")
        except json.JSONDecodeError:
            return error.code, {"raw": text.decode(errors="replace")}


def expect_200(method: str, url: str, body=None, headers=None) -> dict:
    status, answer = call(method, url, body, headers)
    if status != 200:
        raise RuntimeError(f"{method} {url} answered {status}: {answer}")
    return answer


# --- setup --------------------------------------------------------------------


def base_environment() -> dict[str, str]:
    api = os.environ["NOTIFY_API_URL"]
    env = dict(os.environ)
    env.update(
        {
            "MUSHU_NOTIFY_URL": api,
            "MUSHU_AUTH_URL": api,
            # Nothing a block writes under $HOME (the mushu CLI's ~/.mushu)
            # outlives the page or touches the real home directory.
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def new_page_context(home: Path) -> Context:
    api = os.environ["NOTIFY_API_URL"]
    simulator = os.environ["NOTIFY_SIMULATOR_URL"]
    user = {"Authorization": f"Bearer {os.environ['NOTIFY_USER_TOKEN']}"}
    credentials = expect_200("POST", f"{simulator}/admin/credentials", {"bundle_id": "com.example.app"})
    tenant = expect_200("POST", f"{api}/tenants", {**credentials, "org_id": "dev-org", "use_sandbox": True}, user)
    tenant_id = tenant["tenant_id"]
    key = expect_200("POST", f"{api}/tenants/{tenant_id}/api-keys", {"name": "backend-server"}, user)
    spare = expect_200("POST", f"{api}/tenants/{tenant_id}/api-keys", {"name": "old-server"}, user)
    for token, platform in ((IPHONE, "ios"), (ANDROID, "android")):
        expect_200(
            "POST",
            f"{api}/tenants/{tenant_id}/devices",
            {"user_id": USER_ID, "token": token, "platform": platform},
            {"X-API-Key": key["key"]},
        )
    apns_key = home / "AuthKey.p8"
    apns_key.write_text(credentials["private_key"])
    env = base_environment()
    env.update(
        {
            "HOME": str(home),
            "TENANT_ID": tenant_id,
            "MUSHU_API_KEY": key["key"],
            "KEY_ID": spare["key_id"],
            "APNS_KEY_FILE": str(apns_key),
            "APNS_TEAM_ID": credentials["team_id"],
            "APNS_KEY_ID": credentials["key_id"],
            "PATH": f"{os.environ['MUSHU_CLI_BIN_DIR']}:{env['PATH']}",
        }
    )
    return Context(
        tenant_id,
        key["key"],
        spare["key_id"],
        spare["key"],
        credentials["key_id"],
        credentials["fcm_service_account"]["client_email"],
        env,
    )


# --- checks ---------------------------------------------------------------------
# Each takes the page's context and the block's output, and raises on failure.


def delivered_count(context: Context) -> int:
    """Pushes the simulator received for user-123's devices from this page's
    tenant (every page registers the same tokens; the tenant's own APNs key id
    and FCM service account tell its pushes apart)."""
    simulator = os.environ["NOTIFY_SIMULATOR_URL"]
    total = 0
    for token in (IPHONE, ANDROID):
        answer = expect_200("GET", f"{simulator}/deliveries?token={urllib.request.quote(token)}")
        total += sum(
            1
            for delivery in answer["deliveries"]
            if delivery.get("key_id") == context.apns_key_id
            or delivery.get("client_email") == context.fcm_client_email
        )
    return total


def key_ids(context: Context) -> set[str]:
    api = os.environ["NOTIFY_API_URL"]
    user = {"Authorization": f"Bearer {os.environ['NOTIFY_USER_TOKEN']}"}
    answer = expect_200("GET", f"{api}/tenants/{context.tenant_id}/api-keys", headers=user)
    return {key["key_id"] for key in answer["keys"]}


def check_delivered(context: Context, output: str) -> None:
    """The simulator received a push for user-123's devices since the block began."""
    deadline = time.monotonic() + 60  # a bulk send is delivered by the worker
    while delivered_count(context) <= context.deliveries_before:
        if time.monotonic() > deadline:
            raise AssertionError("the simulator received no push for user-123's devices")
        time.sleep(1)


def check_key_created(context: Context, output: str) -> None:
    """The tenant lists a key it did not have before, and the block printed its key_id."""
    new = key_ids(context) - context.keys_before
    if not new:
        raise AssertionError("the tenant has no new API key")
    if not any(key_id in output for key_id in new):
        raise AssertionError(f"the output does not show the new key's id {sorted(new)}")


def check_key_deleted(context: Context, output: str) -> None:
    """$KEY_ID is no longer listed, and its key is refused with 401 at once."""
    if context.spare_key_id in key_ids(context):
        raise AssertionError(f"{context.spare_key_id} is still listed")
    api = os.environ["NOTIFY_API_URL"]
    status, answer = call(
        "GET",
        f"{api}/tenants/{context.tenant_id}/devices?user_id={USER_ID}",
        headers={"X-API-Key": context.spare_key},
    )
    if status != 401:
        raise AssertionError(f"the deleted key answered {status}, not 401: {answer}")


def check_stdout(pattern: str):
    def check(context: Context, output: str) -> None:
        if not re.search(pattern, output, re.MULTILINE):
            raise AssertionError(f"the output does not match /{pattern}/")

    return check


CHECKS = {
    "delivered": check_delivered,
    "key-created": check_key_created,
    "key-deleted": check_key_deleted,
}


@dataclass
class Plan:
    block: Block
    run: bool
    exit_status: int = 0
    checks: list = field(default_factory=list)


def parse_annotation(block: Block) -> Plan:
    """What a block's annotation asks for; raises on anything unknown."""
    if block.annotation is None:
        raise ValueError("no <!-- docs-test: ... --> annotation on the line before the block")
    words = re.findall(r'(\w[\w-]*=(?:"[^"]*"|\S+)|\S+)', block.annotation)
    if words == ["illustrative"]:
        return Plan(block, run=False)
    if not words or words[0] != "run":
        raise ValueError(f"unknown annotation {block.annotation!r} (run ... or illustrative)")
    if block.lang not in INTERPRETERS:
        raise ValueError(f"cannot run a block of language {block.lang!r}; mark it illustrative")
    plan = Plan(block, run=True)
    checks = plan.checks
    for word in words[1:]:
        if re.fullmatch(r"exit=\d+", word):
            plan.exit_status = int(word.removeprefix("exit="))
        elif word.startswith("stdout="):
            checks.append(check_stdout(word.removeprefix("stdout=").strip('"')))
        elif word in CHECKS:
            checks.append(CHECKS[word])
        else:
            raise ValueError(f"unknown check {word!r} (known: {', '.join(CHECKS)}, stdout=REGEX, exit=N)")
    return plan


# --- extraction -----------------------------------------------------------------


def blocks_of(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        previous = lines[index - 1].strip() if index > 0 else ""
        annotation = ANNOTATION.match(previous)
        body, end = [], index + 1
        while end < len(lines) and lines[end].strip() != fence:
            body.append(lines[end].removeprefix(indent))
            end += 1
        blocks.append(
            Block(path, index + 1, opening["lang"].lower(), "\n".join(body) + "\n", annotation["body"] if annotation else None)
        )
        index = end + 1
    return blocks


# --- running --------------------------------------------------------------------


def run_block(block: Block, exit_status: int, context: Context, workdir: Path) -> str:
    interpreter = INTERPRETERS[block.lang]
    suffix = {"bash": ".sh", "python": ".py", "node": ".mjs"}[interpreter]
    script = workdir / f"block-{block.line}{suffix}"
    script.write_text(block.code)
    command = {
        "bash": ["bash", "-euo", "pipefail", str(script)],
        "python": [sys.executable, str(script)],
        "node": ["node", str(script)],
    }[interpreter]
    result = subprocess.run(
        command,
        cwd=workdir,
        env=context.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_SECONDS,
    )
    if result.returncode != exit_status:
        raise AssertionError(
            f"exited with {result.returncode}, not {exit_status}\n--- stdout\n{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
        )
    return result.stdout + result.stderr


def main() -> int:
    pages = []
    for target in map(Path, sys.argv[1:] or ["docs"]):
        pages += sorted(target.glob("**/*.md")) if target.is_dir() else [target]
    failures, ran, shown = [], 0, 0
    started = time.monotonic()
    for page in pages:
        blocks = blocks_of(page)
        plans = []
        for block in blocks:
            try:
                plans.append(parse_annotation(block))
            except ValueError as error:
                failures.append(f"{block.where}: {error}")
        runnable = [plan for plan in plans if plan.run]
        shown += len(plans) - len(runnable)
        if not runnable:
            continue
        with tempfile.TemporaryDirectory(prefix="notify-docs-") as scratch:
            home = Path(scratch) / "home"
            home.mkdir()
            # Node.js resolves an example's imports from its own folder up.
            (Path(scratch) / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
            # `scripts/dev token ...` runs as a reader types it in the checkout.
            (Path(scratch) / "scripts").symlink_to(REPO_SCRIPTS, target_is_directory=True)
            try:
                context = new_page_context(home)
            except (RuntimeError, KeyError, OSError) as error:
                failures.append(f"{page.name}: could not set up its tenant: {error}")
                continue
            for plan in runnable:
                block = plan.block
                block_started = time.monotonic()
                try:
                    context.deliveries_before = delivered_count(context)
                    context.keys_before = key_ids(context)
                    output = run_block(block, plan.exit_status, context, Path(scratch))
                    for check in plan.checks:
                        check(context, output)
                except (AssertionError, RuntimeError, subprocess.TimeoutExpired) as error:
                    failures.append(f"{block.where} ({block.lang}): {error}")
                    print(f"FAIL {block.where}", file=sys.stderr)
                    continue
                ran += 1
                print(f"ok   {block.where} ({block.lang}, {time.monotonic() - block_started:.1f}s)", file=sys.stderr)
            shutil.rmtree(home, ignore_errors=True)
    for failure in failures:
        print(f"\nFAILED {failure}", file=sys.stderr)
    print(
        f"docs examples: {ran} passed, {len(failures)} failed, {shown} illustrative "
        f"({len(pages)} pages, {time.monotonic() - started:.0f}s)",
        file=sys.stderr,
    )
    return 1 if failures or ran == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
