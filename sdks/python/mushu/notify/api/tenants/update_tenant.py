from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.tenant import Tenant
from ...models.update_tenant_request import UpdateTenantRequest
from ...types import Response


def _get_kwargs(
    tenant_id: str,
    *,
    body: UpdateTenantRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/tenants/{tenant_id}".format(
            tenant_id=quote(str(tenant_id), safe=""),
        ),
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

    if response.status_code == 404:
        response_404 = Error.from_dict(response.json())

        return response_404

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
    tenant_id: str,
    *,
    client: AuthenticatedClient,
    body: UpdateTenantRequest,
) -> Response[Error | Tenant]:
    """Change a tenant's settings or credentials

     Takes the creation fields to change or add (not `org_id`). New APNs key fields come together
    (`bundle_id` may be left out to keep the current one); a new `bundle_id` alone needs APNs to be
    configured already. At least one field is required. Changes of one tenant are serialised: a PATCH
    made from a stale read of the tenant, or while another change of it is under way, changes nothing
    and answers 409 `tenant_changed` (read the tenant again and retry after `Retry-After`).

    Args:
        tenant_id (str):
        body (UpdateTenantRequest): The creation fields to change or add; `org_id` cannot change.
            At least one field that is not `null`. New APNs key fields (`team_id`, `key_id`,
            `private_key`) come together; `bundle_id` alone, or left out beside them, needs APNs to be
            configured already (else 400).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Tenant]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    tenant_id: str,
    *,
    client: AuthenticatedClient,
    body: UpdateTenantRequest,
) -> Error | Tenant | None:
    """Change a tenant's settings or credentials

     Takes the creation fields to change or add (not `org_id`). New APNs key fields come together
    (`bundle_id` may be left out to keep the current one); a new `bundle_id` alone needs APNs to be
    configured already. At least one field is required. Changes of one tenant are serialised: a PATCH
    made from a stale read of the tenant, or while another change of it is under way, changes nothing
    and answers 409 `tenant_changed` (read the tenant again and retry after `Retry-After`).

    Args:
        tenant_id (str):
        body (UpdateTenantRequest): The creation fields to change or add; `org_id` cannot change.
            At least one field that is not `null`. New APNs key fields (`team_id`, `key_id`,
            `private_key`) come together; `bundle_id` alone, or left out beside them, needs APNs to be
            configured already (else 400).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Tenant
    """

    return sync_detailed(
        tenant_id=tenant_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    tenant_id: str,
    *,
    client: AuthenticatedClient,
    body: UpdateTenantRequest,
) -> Response[Error | Tenant]:
    """Change a tenant's settings or credentials

     Takes the creation fields to change or add (not `org_id`). New APNs key fields come together
    (`bundle_id` may be left out to keep the current one); a new `bundle_id` alone needs APNs to be
    configured already. At least one field is required. Changes of one tenant are serialised: a PATCH
    made from a stale read of the tenant, or while another change of it is under way, changes nothing
    and answers 409 `tenant_changed` (read the tenant again and retry after `Retry-After`).

    Args:
        tenant_id (str):
        body (UpdateTenantRequest): The creation fields to change or add; `org_id` cannot change.
            At least one field that is not `null`. New APNs key fields (`team_id`, `key_id`,
            `private_key`) come together; `bundle_id` alone, or left out beside them, needs APNs to be
            configured already (else 400).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | Tenant]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    tenant_id: str,
    *,
    client: AuthenticatedClient,
    body: UpdateTenantRequest,
) -> Error | Tenant | None:
    """Change a tenant's settings or credentials

     Takes the creation fields to change or add (not `org_id`). New APNs key fields come together
    (`bundle_id` may be left out to keep the current one); a new `bundle_id` alone needs APNs to be
    configured already. At least one field is required. Changes of one tenant are serialised: a PATCH
    made from a stale read of the tenant, or while another change of it is under way, changes nothing
    and answers 409 `tenant_changed` (read the tenant again and retry after `Retry-After`).

    Args:
        tenant_id (str):
        body (UpdateTenantRequest): The creation fields to change or add; `org_id` cannot change.
            At least one field that is not `null`. New APNs key fields (`team_id`, `key_id`,
            `private_key`) come together; `bundle_id` alone, or left out beside them, needs APNs to be
            configured already (else 400).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | Tenant
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            client=client,
            body=body,
        )
    ).parsed
