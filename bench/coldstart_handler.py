"""A minimal Python Lambda handler speaking the runtime API directly (no
awslambdaric): the reference our function binaries' cold start is compared
with. `--boto3` imports boto3 and builds a DynamoDB client at init, as a
Python push service would.
"""

import json
import os
import sys
import urllib.request

if "--boto3" in sys.argv:
    import boto3

    DYNAMODB = boto3.client("dynamodb")

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"


def handle(event):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"status": "ok", "path": event.get("rawPath")})}


while True:
    with urllib.request.urlopen(f"{API}/next") as invocation:
        request_id = invocation.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.load(invocation)
    answer = json.dumps(handle(event)).encode()
    urllib.request.urlopen(urllib.request.Request(
        f"{API}/{request_id}/response", data=answer, method="POST"))
