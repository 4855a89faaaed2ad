from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.device import Device
from ...models.error import Error
from ...models.register_device_request import RegisterDeviceRequest
from ...types import Response


def _get_kwargs(
    tenant_id: str,
    *,
    body: RegisterDeviceRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/tenants/{tenant_id}/devices".format(
            tenant_id=quote(str(tenant_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Device | Error | None:
    if response.status_code == 200:
        response_200 = Device.from_dict(response.json())

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
) -> Response[Device | Error]:
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
    body: RegisterDeviceRequest,
) -> Response[Device | Error]:
    """Register a device token

     Registering the same token again updates it (keeping `created_at`); a token registered to another
    user of the tenant moves to this user. APNs tokens (`ios`, `watchos`, `macos`) are 64 to 200
    hexadecimal characters, even length, stored lowercase; FCM tokens (`android`, `web`) are 100 to 4096
    characters of `[A-Za-z0-9_:-]`. Anything else is 400 `invalid_token_format`.
    A user has at most 100 devices, all platforms together: a new token beyond that is 409
    `too_many_devices` (re-registering one of the user's tokens always works; a token moving to this
    user counts for this user and frees a slot of the other).
    Takes a user token or an API key with scope `register` or `devices`. A `register`-only key (an
    app's) registers only while the tenant has user verification on (403 `user_verification_required`
    otherwise: turn it on with `POST /tenants/{tenant_id}/user-verification`), and only with the user's
    valid `user_signature` (403 `user_signature_invalid` when it is missing or wrong); a user so proved
    may take a token over from another user.

    Args:
        tenant_id (str):
        body (RegisterDeviceRequest): APNs platforms (`ios`, `watchos`, `macos`) take an APNs
            token, FCM platforms (`android`, `web`) an FCM token, `webpush` a `subscription` (its
            endpoint becomes the device's token); anything else is 400 `invalid_token_format`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Device | Error]
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
    body: RegisterDeviceRequest,
) -> Device | Error | None:
    """Register a device token

     Registering the same token again updates it (keeping `created_at`); a token registered to another
    user of the tenant moves to this user. APNs tokens (`ios`, `watchos`, `macos`) are 64 to 200
    hexadecimal characters, even length, stored lowercase; FCM tokens (`android`, `web`) are 100 to 4096
    characters of `[A-Za-z0-9_:-]`. Anything else is 400 `invalid_token_format`.
    A user has at most 100 devices, all platforms together: a new token beyond that is 409
    `too_many_devices` (re-registering one of the user's tokens always works; a token moving to this
    user counts for this user and frees a slot of the other).
    Takes a user token or an API key with scope `register` or `devices`. A `register`-only key (an
    app's) registers only while the tenant has user verification on (403 `user_verification_required`
    otherwise: turn it on with `POST /tenants/{tenant_id}/user-verification`), and only with the user's
    valid `user_signature` (403 `user_signature_invalid` when it is missing or wrong); a user so proved
    may take a token over from another user.

    Args:
        tenant_id (str):
        body (RegisterDeviceRequest): APNs platforms (`ios`, `watchos`, `macos`) take an APNs
            token, FCM platforms (`android`, `web`) an FCM token, `webpush` a `subscription` (its
            endpoint becomes the device's token); anything else is 400 `invalid_token_format`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Device | Error
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
    body: RegisterDeviceRequest,
) -> Response[Device | Error]:
    """Register a device token

     Registering the same token again updates it (keeping `created_at`); a token registered to another
    user of the tenant moves to this user. APNs tokens (`ios`, `watchos`, `macos`) are 64 to 200
    hexadecimal characters, even length, stored lowercase; FCM tokens (`android`, `web`) are 100 to 4096
    characters of `[A-Za-z0-9_:-]`. Anything else is 400 `invalid_token_format`.
    A user has at most 100 devices, all platforms together: a new token beyond that is 409
    `too_many_devices` (re-registering one of the user's tokens always works; a token moving to this
    user counts for this user and frees a slot of the other).
    Takes a user token or an API key with scope `register` or `devices`. A `register`-only key (an
    app's) registers only while the tenant has user verification on (403 `user_verification_required`
    otherwise: turn it on with `POST /tenants/{tenant_id}/user-verification`), and only with the user's
    valid `user_signature` (403 `user_signature_invalid` when it is missing or wrong); a user so proved
    may take a token over from another user.

    Args:
        tenant_id (str):
        body (RegisterDeviceRequest): APNs platforms (`ios`, `watchos`, `macos`) take an APNs
            token, FCM platforms (`android`, `web`) an FCM token, `webpush` a `subscription` (its
            endpoint becomes the device's token); anything else is 400 `invalid_token_format`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Device | Error]
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
    body: RegisterDeviceRequest,
) -> Device | Error | None:
    """Register a device token

     Registering the same token again updates it (keeping `created_at`); a token registered to another
    user of the tenant moves to this user. APNs tokens (`ios`, `watchos`, `macos`) are 64 to 200
    hexadecimal characters, even length, stored lowercase; FCM tokens (`android`, `web`) are 100 to 4096
    characters of `[A-Za-z0-9_:-]`. Anything else is 400 `invalid_token_format`.
    A user has at most 100 devices, all platforms together: a new token beyond that is 409
    `too_many_devices` (re-registering one of the user's tokens always works; a token moving to this
    user counts for this user and frees a slot of the other).
    Takes a user token or an API key with scope `register` or `devices`. A `register`-only key (an
    app's) registers only while the tenant has user verification on (403 `user_verification_required`
    otherwise: turn it on with `POST /tenants/{tenant_id}/user-verification`), and only with the user's
    valid `user_signature` (403 `user_signature_invalid` when it is missing or wrong); a user so proved
    may take a token over from another user.

    Args:
        tenant_id (str):
        body (RegisterDeviceRequest): APNs platforms (`ios`, `watchos`, `macos`) take an APNs
            token, FCM platforms (`android`, `web`) an FCM token, `webpush` a `subscription` (its
            endpoint becomes the device's token); anything else is 400 `invalid_token_format`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Device | Error
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            client=client,
            body=body,
        )
    ).parsed
