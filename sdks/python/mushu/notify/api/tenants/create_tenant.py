from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_tenant_request import CreateTenantRequest
from ...models.error import Error
from ...models.tenant import Tenant
from ...types import Response


def _get_kwargs(
    *,
    body: CreateTenantRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/tenants",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | Tenant | None:
    if response.status_code == 200:
        response_200 = Tenant.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = Error.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Error.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Error.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = Error.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Error.from_dict(response.json())

        return response_413

    if response.status_code == 429:
        response_429 = Error.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = Error.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Error.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Error | Tenant]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateTenantRequest,
) -> Response[Error | Tenant]:
    """Create a tenant

     Creates a tenant in `org_id` (default: the caller's personal org, their `sub`), which the caller
    must belong to (else 403). APNs fields (`bundle_id`, `team_id`, `key_id`, `private_key`) come all
    together or not at all; `private_key` must be a P-256 `.p8` key and `fcm_service_account` a Google
    service-account JSON, else 400 `invalid_credentials`. Credentials are stored in AWS Secrets Manager
    and never returned. An org has at most the deployment's maximum of tenants
    (`NOTIFY_MAX_TENANTS_PER_ORG`, default 50): beyond it, 409 `too_many_tenants` naming the limit.

    Args:
        body (CreateTenantRequest): APNs fields (`bundle_id`, `team_id`, `key_id`, `private_key`)
            come all together or not at all (`null` is the same as absent).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Tenant]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: CreateTenantRequest,
) -> Error | Tenant | None:
    """Create a tenant

     Creates a tenant in `org_id` (default: the caller's personal org, their `sub`), which the caller
    must belong to (else 403). APNs fields (`bundle_id`, `team_id`, `key_id`, `private_key`) come all
    together or not at all; `private_key` must be a P-256 `.p8` key and `fcm_service_account` a Google
    service-account JSON, else 400 `invalid_credentials`. Credentials are stored in AWS Secrets Manager
    and never returned. An org has at most the deployment's maximum of tenants
    (`NOTIFY_MAX_TENANTS_PER_ORG`, default 50): beyond it, 409 `too_many_tenants` naming the limit.

    Args:
        body (CreateTenantRequest): APNs fields (`bundle_id`, `team_id`, `key_id`, `private_key`)
            come all together or not at all (`null` is the same as absent).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Tenant
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: CreateTenantRequest,
) -> Response[Error | Tenant]:
    """Create a tenant

     Creates a tenant in `org_id` (default: the caller's personal org, their `sub`), which the caller
    must belong to (else 403). APNs fields (`bundle_id`, `team_id`, `key_id`, `private_key`) come all
    together or not at all; `private_key` must be a P-256 `.p8` key and `fcm_service_account` a Google
    service-account JSON, else 400 `invalid_credentials`. Credentials are stored in AWS Secrets Manager
    and never returned. An org has at most the deployment's maximum of tenants
    (`NOTIFY_MAX_TENANTS_PER_ORG`, default 50): beyond it, 409 `too_many_tenants` naming the limit.

    Args:
        body (CreateTenantRequest): APNs fields (`bundle_id`, `team_id`, `key_id`, `private_key`)
            come all together or not at all (`null` is the same as absent).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Tenant]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: CreateTenantRequest,
) -> Error | Tenant | None:
    """Create a tenant

     Creates a tenant in `org_id` (default: the caller's personal org, their `sub`), which the caller
    must belong to (else 403). APNs fields (`bundle_id`, `team_id`, `key_id`, `private_key`) come all
    together or not at all; `private_key` must be a P-256 `.p8` key and `fcm_service_account` a Google
    service-account JSON, else 400 `invalid_credentials`. Credentials are stored in AWS Secrets Manager
    and never returned. An org has at most the deployment's maximum of tenants
    (`NOTIFY_MAX_TENANTS_PER_ORG`, default 50): beyond it, 409 `too_many_tenants` naming the limit.

    Args:
        body (CreateTenantRequest): APNs fields (`bundle_id`, `team_id`, `key_id`, `private_key`)
            come all together or not at all (`null` is the same as absent).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Tenant
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
