from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.webhook_delivery_list import WebhookDeliveryList
from ...types import Response


def _get_kwargs(
    tenant_id: str,
    webhook_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/tenants/{tenant_id}/webhooks/{webhook_id}/deliveries".format(
            tenant_id=quote(str(tenant_id), safe=""),
            webhook_id=quote(str(webhook_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | WebhookDeliveryList | None:
    if response.status_code == 200:
        response_200 = WebhookDeliveryList.from_dict(response.json())

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
) -> Response[Error | WebhookDeliveryList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    tenant_id: str,
    webhook_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[Error | WebhookDeliveryList]:
    """A webhook's latest delivery attempts

     The latest 100 attempts of the last 7 days, newest first. `status_code` is null when the receiver
    gave no answer (a timeout, a refused address, a connection or TLS failure); `next_attempt_at` is
    when a failed attempt is tried again (null once delivered or after the last attempt).

    Args:
        tenant_id (str):
        webhook_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | WebhookDeliveryList]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        webhook_id=webhook_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    tenant_id: str,
    webhook_id: str,
    *,
    client: AuthenticatedClient,
) -> Error | WebhookDeliveryList | None:
    """A webhook's latest delivery attempts

     The latest 100 attempts of the last 7 days, newest first. `status_code` is null when the receiver
    gave no answer (a timeout, a refused address, a connection or TLS failure); `next_attempt_at` is
    when a failed attempt is tried again (null once delivered or after the last attempt).

    Args:
        tenant_id (str):
        webhook_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | WebhookDeliveryList
    """

    return sync_detailed(
        tenant_id=tenant_id,
        webhook_id=webhook_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    tenant_id: str,
    webhook_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[Error | WebhookDeliveryList]:
    """A webhook's latest delivery attempts

     The latest 100 attempts of the last 7 days, newest first. `status_code` is null when the receiver
    gave no answer (a timeout, a refused address, a connection or TLS failure); `next_attempt_at` is
    when a failed attempt is tried again (null once delivered or after the last attempt).

    Args:
        tenant_id (str):
        webhook_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | WebhookDeliveryList]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        webhook_id=webhook_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    tenant_id: str,
    webhook_id: str,
    *,
    client: AuthenticatedClient,
) -> Error | WebhookDeliveryList | None:
    """A webhook's latest delivery attempts

     The latest 100 attempts of the last 7 days, newest first. `status_code` is null when the receiver
    gave no answer (a timeout, a refused address, a connection or TLS failure); `next_attempt_at` is
    when a failed attempt is tried again (null once delivered or after the last attempt).

    Args:
        tenant_id (str):
        webhook_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | WebhookDeliveryList
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            webhook_id=webhook_id,
            client=client,
        )
    ).parsed
