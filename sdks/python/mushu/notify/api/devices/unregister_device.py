from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.device_deleted import DeviceDeleted
from ...models.error import Error
from ...types import UNSET, Response


def _get_kwargs(
    tenant_id: str,
    token: str,
    *,
    user_id: str,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["user_id"] = user_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/tenants/{tenant_id}/devices/{token}".format(
            tenant_id=quote(str(tenant_id), safe=""),
            token=quote(str(token), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> DeviceDeleted | Error | None:
    if response.status_code == 200:
        response_200 = DeviceDeleted.from_dict(response.json())

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
) -> Response[DeviceDeleted | Error]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    tenant_id: str,
    token: str,
    *,
    client: AuthenticatedClient,
    user_id: str,
) -> Response[DeviceDeleted | Error]:
    """Unregister a device

     400 `invalid_token_format` for a token that is neither an APNs nor an FCM token (a Web Push endpoint
    goes in the query: `unregister_device_by_query`); 404 when the token is not registered to this user.

    Args:
        tenant_id (str):
        token (str):
        user_id (str): Your identifier of a user, 1 to 256 characters (Unicode code points)
            without control characters.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeviceDeleted | Error]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        token=token,
        user_id=user_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    tenant_id: str,
    token: str,
    *,
    client: AuthenticatedClient,
    user_id: str,
) -> DeviceDeleted | Error | None:
    """Unregister a device

     400 `invalid_token_format` for a token that is neither an APNs nor an FCM token (a Web Push endpoint
    goes in the query: `unregister_device_by_query`); 404 when the token is not registered to this user.

    Args:
        tenant_id (str):
        token (str):
        user_id (str): Your identifier of a user, 1 to 256 characters (Unicode code points)
            without control characters.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeviceDeleted | Error
    """

    return sync_detailed(
        tenant_id=tenant_id,
        token=token,
        client=client,
        user_id=user_id,
    ).parsed


async def asyncio_detailed(
    tenant_id: str,
    token: str,
    *,
    client: AuthenticatedClient,
    user_id: str,
) -> Response[DeviceDeleted | Error]:
    """Unregister a device

     400 `invalid_token_format` for a token that is neither an APNs nor an FCM token (a Web Push endpoint
    goes in the query: `unregister_device_by_query`); 404 when the token is not registered to this user.

    Args:
        tenant_id (str):
        token (str):
        user_id (str): Your identifier of a user, 1 to 256 characters (Unicode code points)
            without control characters.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[DeviceDeleted | Error]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        token=token,
        user_id=user_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    tenant_id: str,
    token: str,
    *,
    client: AuthenticatedClient,
    user_id: str,
) -> DeviceDeleted | Error | None:
    """Unregister a device

     400 `invalid_token_format` for a token that is neither an APNs nor an FCM token (a Web Push endpoint
    goes in the query: `unregister_device_by_query`); 404 when the token is not registered to this user.

    Args:
        tenant_id (str):
        token (str):
        user_id (str): Your identifier of a user, 1 to 256 characters (Unicode code points)
            without control characters.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        DeviceDeleted | Error
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            token=token,
            client=client,
            user_id=user_id,
        )
    ).parsed
