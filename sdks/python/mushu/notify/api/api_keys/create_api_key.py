from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_api_key_request import CreateApiKeyRequest
from ...models.created_api_key import CreatedApiKey
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    tenant_id: str,
    *,
    body: CreateApiKeyRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/tenants/{tenant_id}/api-keys".format(
            tenant_id=quote(str(tenant_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreatedApiKey | Error | None:
    if response.status_code == 200:
        response_200 = CreatedApiKey.from_dict(response.json())

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
) -> Response[CreatedApiKey | Error]:
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
    body: CreateApiKeyRequest,
) -> Response[CreatedApiKey | Error]:
    """Create an API key

     The plain key is in this answer only; afterwards only its prefix is shown. `scopes` is a non-empty
    subset of `register`, `devices` and `send` (default `["devices", "send"]`). An app that ships a key
    in its binary should use `["register"]`: an extracted key can then neither send, nor list anyone's
    devices, nor unregister them, nor take a token away from another user.

    Args:
        tenant_id (str):
        body (CreateApiKeyRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedApiKey | Error]
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
    body: CreateApiKeyRequest,
) -> CreatedApiKey | Error | None:
    """Create an API key

     The plain key is in this answer only; afterwards only its prefix is shown. `scopes` is a non-empty
    subset of `register`, `devices` and `send` (default `["devices", "send"]`). An app that ships a key
    in its binary should use `["register"]`: an extracted key can then neither send, nor list anyone's
    devices, nor unregister them, nor take a token away from another user.

    Args:
        tenant_id (str):
        body (CreateApiKeyRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedApiKey | Error
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
    body: CreateApiKeyRequest,
) -> Response[CreatedApiKey | Error]:
    """Create an API key

     The plain key is in this answer only; afterwards only its prefix is shown. `scopes` is a non-empty
    subset of `register`, `devices` and `send` (default `["devices", "send"]`). An app that ships a key
    in its binary should use `["register"]`: an extracted key can then neither send, nor list anyone's
    devices, nor unregister them, nor take a token away from another user.

    Args:
        tenant_id (str):
        body (CreateApiKeyRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedApiKey | Error]
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
    body: CreateApiKeyRequest,
) -> CreatedApiKey | Error | None:
    """Create an API key

     The plain key is in this answer only; afterwards only its prefix is shown. `scopes` is a non-empty
    subset of `register`, `devices` and `send` (default `["devices", "send"]`). An app that ships a key
    in its binary should use `["register"]`: an extracted key can then neither send, nor list anyone's
    devices, nor unregister them, nor take a token away from another user.

    Args:
        tenant_id (str):
        body (CreateApiKeyRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedApiKey | Error
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            client=client,
            body=body,
        )
    ).parsed
