from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.bulk_status import BulkStatus
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    tenant_id: str,
    batch_id: UUID,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/tenants/{tenant_id}/notify/bulk/{batch_id}".format(
            tenant_id=quote(str(tenant_id), safe=""),
            batch_id=quote(str(batch_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BulkStatus | Error | None:
    if response.status_code == 200:
        response_200 = BulkStatus.from_dict(response.json())

        return response_200

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
) -> Response[BulkStatus | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    tenant_id: str,
    batch_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[BulkStatus | Error]:
    """Cancel a scheduled bulk send

     Cancels a batch that is still `scheduled`: it is never delivered and its status turns `cancelled`.
    Cancelling again answers the same. Once delivery has begun (or for a batch that was never
    scheduled): 409 `not_cancellable`.

    Args:
        tenant_id (str):
        batch_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BulkStatus | Error]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        batch_id=batch_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    tenant_id: str,
    batch_id: UUID,
    *,
    client: AuthenticatedClient,
) -> BulkStatus | Error | None:
    """Cancel a scheduled bulk send

     Cancels a batch that is still `scheduled`: it is never delivered and its status turns `cancelled`.
    Cancelling again answers the same. Once delivery has begun (or for a batch that was never
    scheduled): 409 `not_cancellable`.

    Args:
        tenant_id (str):
        batch_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BulkStatus | Error
    """

    return sync_detailed(
        tenant_id=tenant_id,
        batch_id=batch_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    tenant_id: str,
    batch_id: UUID,
    *,
    client: AuthenticatedClient,
) -> Response[BulkStatus | Error]:
    """Cancel a scheduled bulk send

     Cancels a batch that is still `scheduled`: it is never delivered and its status turns `cancelled`.
    Cancelling again answers the same. Once delivery has begun (or for a batch that was never
    scheduled): 409 `not_cancellable`.

    Args:
        tenant_id (str):
        batch_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BulkStatus | Error]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        batch_id=batch_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    tenant_id: str,
    batch_id: UUID,
    *,
    client: AuthenticatedClient,
) -> BulkStatus | Error | None:
    """Cancel a scheduled bulk send

     Cancels a batch that is still `scheduled`: it is never delivered and its status turns `cancelled`.
    Cancelling again answers the same. Once delivery has begun (or for a batch that was never
    scheduled): 409 `not_cancellable`.

    Args:
        tenant_id (str):
        batch_id (UUID):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BulkStatus | Error
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            batch_id=batch_id,
            client=client,
        )
    ).parsed
