from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.send_notification_request import SendNotificationRequest
from ...models.send_notification_response import SendNotificationResponse
from ...types import UNSET, Response, Unset


def _get_kwargs(
    tenant_id: str,
    *,
    body: SendNotificationRequest,
    idempotency_key: str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/tenants/{tenant_id}/notify".format(
            tenant_id=quote(str(tenant_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | SendNotificationResponse | None:
    if response.status_code == 200:
        response_200 = SendNotificationResponse.from_dict(response.json())

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
) -> Response[Error | SendNotificationResponse]:
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
    body: SendNotificationRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | SendNotificationResponse]:
    """Send a notification to one user

     Delivers now to every device of the user, APNs and FCM alike, and reports each device's fate.
    `success` is true when at least one device accepted the push. Tokens the provider reports dead are
    removed from the registry. Payloads over a provider's limit (APNs 4096 bytes, FCM 4096 bytes of
    data) are 413 before anything is sent.

    Args:
        tenant_id (str):
        idempotency_key (str | Unset):
        body (SendNotificationRequest): One user, and the notification fields beside `user_id`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | SendNotificationResponse]
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
    body: SendNotificationRequest,
    idempotency_key: str | Unset = UNSET,
) -> Error | SendNotificationResponse | None:
    """Send a notification to one user

     Delivers now to every device of the user, APNs and FCM alike, and reports each device's fate.
    `success` is true when at least one device accepted the push. Tokens the provider reports dead are
    removed from the registry. Payloads over a provider's limit (APNs 4096 bytes, FCM 4096 bytes of
    data) are 413 before anything is sent.

    Args:
        tenant_id (str):
        idempotency_key (str | Unset):
        body (SendNotificationRequest): One user, and the notification fields beside `user_id`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | SendNotificationResponse
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
    body: SendNotificationRequest,
    idempotency_key: str | Unset = UNSET,
) -> Response[Error | SendNotificationResponse]:
    """Send a notification to one user

     Delivers now to every device of the user, APNs and FCM alike, and reports each device's fate.
    `success` is true when at least one device accepted the push. Tokens the provider reports dead are
    removed from the registry. Payloads over a provider's limit (APNs 4096 bytes, FCM 4096 bytes of
    data) are 413 before anything is sent.

    Args:
        tenant_id (str):
        idempotency_key (str | Unset):
        body (SendNotificationRequest): One user, and the notification fields beside `user_id`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | SendNotificationResponse]
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
    body: SendNotificationRequest,
    idempotency_key: str | Unset = UNSET,
) -> Error | SendNotificationResponse | None:
    """Send a notification to one user

     Delivers now to every device of the user, APNs and FCM alike, and reports each device's fate.
    `success` is true when at least one device accepted the push. Tokens the provider reports dead are
    removed from the registry. Payloads over a provider's limit (APNs 4096 bytes, FCM 4096 bytes of
    data) are 413 before anything is sent.

    Args:
        tenant_id (str):
        idempotency_key (str | Unset):
        body (SendNotificationRequest): One user, and the notification fields beside `user_id`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | SendNotificationResponse
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
