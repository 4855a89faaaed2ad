from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.bulk_notification_request import BulkNotificationRequest
from ...models.bulk_notification_response import BulkNotificationResponse
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    tenant_id: str,
    *,
    body: BulkNotificationRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/tenants/{tenant_id}/notify/bulk".format(
            tenant_id=quote(str(tenant_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BulkNotificationResponse | Error | None:
    if response.status_code == 200:
        response_200 = BulkNotificationResponse.from_dict(response.json())

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

    if response.status_code == 422:
        response_422 = Error.from_dict(response.json())

        return response_422

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
) -> Response[BulkNotificationResponse | Error]:
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
    body: BulkNotificationRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[BulkNotificationResponse | Error]:
    """Send a notification to many users

     Does not deliver inline: records a batch, queues its users for the delivery worker and answers at
    once. Exactly one audience: 1 to 10,000 `user_ids` (repeats ignored; invalid ids counted in `failed`
    and not queued; all invalid: 400), a `topic`'s subscribers, or `all_users`. With `send_at` the batch
    is `scheduled` and delivered once within 60 seconds after that time; cancel it with
    `cancel_bulk_notification`. A tenant may have 1,000 batches waiting for their `send_at`; one more is
    409 `too_many_scheduled_sends`. Follow progress with `get_bulk_status`.

    Args:
        tenant_id (str):
        idempotency_key (str | Unset):
        body (BulkNotificationRequest): The notification fields beside exactly one audience:
            `user_ids` (up to 10,000 users), `topic` (every subscribed user) or `all_users` (every
            user with a device); optionally `send_at`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BulkNotificationResponse | Error]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    tenant_id: str,
    *,
    client: AuthenticatedClient,
    body: BulkNotificationRequest,
    idempotency_key: str | Unset = UNSET,
) -> BulkNotificationResponse | Error | None:
    """Send a notification to many users

     Does not deliver inline: records a batch, queues its users for the delivery worker and answers at
    once. Exactly one audience: 1 to 10,000 `user_ids` (repeats ignored; invalid ids counted in `failed`
    and not queued; all invalid: 400), a `topic`'s subscribers, or `all_users`. With `send_at` the batch
    is `scheduled` and delivered once within 60 seconds after that time; cancel it with
    `cancel_bulk_notification`. A tenant may have 1,000 batches waiting for their `send_at`; one more is
    409 `too_many_scheduled_sends`. Follow progress with `get_bulk_status`.

    Args:
        tenant_id (str):
        idempotency_key (str | Unset):
        body (BulkNotificationRequest): The notification fields beside exactly one audience:
            `user_ids` (up to 10,000 users), `topic` (every subscribed user) or `all_users` (every
            user with a device); optionally `send_at`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BulkNotificationResponse | Error
    """

    return sync_detailed(
        tenant_id=tenant_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    tenant_id: str,
    *,
    client: AuthenticatedClient,
    body: BulkNotificationRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[BulkNotificationResponse | Error]:
    """Send a notification to many users

     Does not deliver inline: records a batch, queues its users for the delivery worker and answers at
    once. Exactly one audience: 1 to 10,000 `user_ids` (repeats ignored; invalid ids counted in `failed`
    and not queued; all invalid: 400), a `topic`'s subscribers, or `all_users`. With `send_at` the batch
    is `scheduled` and delivered once within 60 seconds after that time; cancel it with
    `cancel_bulk_notification`. A tenant may have 1,000 batches waiting for their `send_at`; one more is
    409 `too_many_scheduled_sends`. Follow progress with `get_bulk_status`.

    Args:
        tenant_id (str):
        idempotency_key (str | Unset):
        body (BulkNotificationRequest): The notification fields beside exactly one audience:
            `user_ids` (up to 10,000 users), `topic` (every subscribed user) or `all_users` (every
            user with a device); optionally `send_at`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BulkNotificationResponse | Error]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    tenant_id: str,
    *,
    client: AuthenticatedClient,
    body: BulkNotificationRequest,
    idempotency_key: str | Unset = UNSET,
) -> BulkNotificationResponse | Error | None:
    """Send a notification to many users

     Does not deliver inline: records a batch, queues its users for the delivery worker and answers at
    once. Exactly one audience: 1 to 10,000 `user_ids` (repeats ignored; invalid ids counted in `failed`
    and not queued; all invalid: 400), a `topic`'s subscribers, or `all_users`. With `send_at` the batch
    is `scheduled` and delivered once within 60 seconds after that time; cancel it with
    `cancel_bulk_notification`. A tenant may have 1,000 batches waiting for their `send_at`; one more is
    409 `too_many_scheduled_sends`. Follow progress with `get_bulk_status`.

    Args:
        tenant_id (str):
        idempotency_key (str | Unset):
        body (BulkNotificationRequest): The notification fields beside exactly one audience:
            `user_ids` (up to 10,000 users), `topic` (every subscribed user) or `all_users` (every
            user with a device); optionally `send_at`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BulkNotificationResponse | Error
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
