#!/usr/bin/env python3
"""The local stack's identity provider: a Cognito user pool in moto, set up
as template.yaml's (CreateUserPool: users sign in with their email address,
their orgs are the pool's groups, `cognito:groups`), and RS256 ID tokens of
its users. scripts/dev runs it with the virtualenv's Python (boto3 comes
with moto), in the environment `export_local_aws` gives (AWS_ENDPOINT_URL
names moto).

    local_cognito.py setup
        creates the pool and its app client, or finds those of an earlier
        run by name; prints the functions' NOTIFY_OIDC_* as KEY=VALUE lines
    local_cognito.py token EMAIL [ORG ...]
        creates the user if needed, makes its groups exactly ORG ...
        (creating missing groups), signs in and prints the ID token

moto signs every pool's tokens with one RSA key (kid "dummy") and serves it
at {endpoint}/{pool id}/.well-known/jwks.json; the tokens' `iss` is the AWS
form, https://cognito-idp.{region}.amazonaws.com/{pool id}
(docs/local-aws-rules.md).
"""

from __future__ import annotations

import os
import sys

import boto3

POOL_NAME = "notify-local-users"
CLIENT_NAME = "notify-local"
# Meets the pool's password policy; local users only.
PASSWORD = "Local-dev-passw0rd!"
ORGS_CLAIM = "cognito:groups"


def client():
    return boto3.client("cognito-idp", endpoint_url=os.environ["AWS_ENDPOINT_URL"])


def find_pool(idp) -> str | None:
    for page in idp.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            if pool["Name"] == POOL_NAME:
                return pool["Id"]
    return None


def find_client(idp, pool_id: str) -> str | None:
    pages = idp.get_paginator("list_user_pool_clients").paginate(UserPoolId=pool_id, MaxResults=60)
    for page in pages:
        for app in page["UserPoolClients"]:
            if app["ClientName"] == CLIENT_NAME:
                return app["ClientId"]
    return None


def ensure_pool(idp) -> str:
    pool_id = find_pool(idp)
    if pool_id:
        return pool_id
    pool = idp.create_user_pool(
        PoolName=POOL_NAME,
        UsernameAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Schema=[
            {"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True},
            {"Name": "orgs", "AttributeDataType": "String", "Mutable": True},
        ],
    )
    return pool["UserPool"]["Id"]


def ensure_client(idp, pool_id: str) -> str:
    client_id = find_client(idp, pool_id)
    if client_id:
        return client_id
    app = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=CLIENT_NAME,
        GenerateSecret=False,
        # The admin flow lets `token` sign a user in without SRP.
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email", "email_verified", "custom:orgs"],
        WriteAttributes=["email"],
    )
    return app["UserPoolClient"]["ClientId"]


def setup() -> int:
    idp = client()
    pool_id = ensure_pool(idp)
    client_id = ensure_client(idp, pool_id)
    region = idp.meta.region_name
    endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
    print(f"NOTIFY_OIDC_ISSUER=https://cognito-idp.{region}.amazonaws.com/{pool_id}")
    print(f"NOTIFY_OIDC_AUDIENCE={client_id}")
    print(f"NOTIFY_OIDC_ORGS_CLAIM={ORGS_CLAIM}")
    print(f"NOTIFY_OIDC_JWKS_URL={endpoint}/{pool_id}/.well-known/jwks.json")
    return 0


def ensure_user(idp, pool_id: str, email: str) -> None:
    try:
        idp.admin_get_user(UserPoolId=pool_id, Username=email)
        return
    except idp.exceptions.UserNotFoundException:
        pass
    idp.admin_create_user(
        UserPoolId=pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)


def set_groups(idp, pool_id: str, email: str, orgs: list[str]) -> None:
    current = {
        group["GroupName"]
        for page in idp.get_paginator("admin_list_groups_for_user").paginate(UserPoolId=pool_id, Username=email)
        for group in page["Groups"]
    }
    for org in sorted(current - set(orgs)):
        idp.admin_remove_user_from_group(UserPoolId=pool_id, Username=email, GroupName=org)
    for org in orgs:
        if org in current:
            continue
        try:
            idp.create_group(UserPoolId=pool_id, GroupName=org)
        except idp.exceptions.GroupExistsException:
            pass
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=org)


def token(email: str, orgs: list[str]) -> int:
    idp = client()
    pool_id = find_pool(idp)
    client_id = pool_id and find_client(idp, pool_id)
    if not pool_id or not client_id:
        print(f"no user pool {POOL_NAME} with client {CLIENT_NAME} in moto: run `setup` first", file=sys.stderr)
        return 1
    ensure_user(idp, pool_id, email)
    set_groups(idp, pool_id, email, orgs)
    answer = idp.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )
    print(answer["AuthenticationResult"]["IdToken"])
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["setup"] and len(argv) == 1:
        return setup()
    if argv[:1] == ["token"] and len(argv) >= 2 and "@" in argv[1]:
        return token(argv[1], argv[2:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
