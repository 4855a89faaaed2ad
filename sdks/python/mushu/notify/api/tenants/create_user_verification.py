from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.user_verification_secret import UserVerificationSecret
from ...types import Response


def _get_kwargs(
    tenant_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/tenants/{tenant_id}/user-verification".format(
            tenant_id=quote(str(tenant_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | UserVerificationSecret | None:
    if response.status_code == 200:
        response_200 = UserVerificationSecret.from_dict(response.json())

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
) -> Response[Error | UserVerificationSecret]:
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
) -> Response[Error | UserVerificationSecret]:
    """Turn user verification on, or rotate its secret

     Creates the tenant's user verification secret, or replaces it (signatures made with the old one stop
    working at once), and answers it this once: it is kept in the tenant's Secrets Manager secret, never
    in the database, and never shown again. While the tenant has one, a device registration made with a
    `register`-scope API key must carry `user_signature`: the lowercase hex HMAC-SHA256 of the `user_id`
    (its UTF-8 bytes), keyed with this secret's text as answered (the 64 characters, not decoded). The
    tenant's backend computes it when its user logs in and hands it to the app, e.g.
    `hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()`. Keys with the `devices`
    scope and user tokens need no signature.

    Args:
        tenant_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | UserVerificationSecret]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    tenant_id: str,
    *,
    client: AuthenticatedClient,
) -> Error | UserVerificationSecret | None:
    """Turn user verification on, or rotate its secret

     Creates the tenant's user verification secret, or replaces it (signatures made with the old one stop
    working at once), and answers it this once: it is kept in the tenant's Secrets Manager secret, never
    in the database, and never shown again. While the tenant has one, a device registration made with a
    `register`-scope API key must carry `user_signature`: the lowercase hex HMAC-SHA256 of the `user_id`
    (its UTF-8 bytes), keyed with this secret's text as answered (the 64 characters, not decoded). The
    tenant's backend computes it when its user logs in and hands it to the app, e.g.
    `hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()`. Keys with the `devices`
    scope and user tokens need no signature.

    Args:
        tenant_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | UserVerificationSecret
    """

    return sync_detailed(
        tenant_id=tenant_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    tenant_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[Error | UserVerificationSecret]:
    """Turn user verification on, or rotate its secret

     Creates the tenant's user verification secret, or replaces it (signatures made with the old one stop
    working at once), and answers it this once: it is kept in the tenant's Secrets Manager secret, never
    in the database, and never shown again. While the tenant has one, a device registration made with a
    `register`-scope API key must carry `user_signature`: the lowercase hex HMAC-SHA256 of the `user_id`
    (its UTF-8 bytes), keyed with this secret's text as answered (the 64 characters, not decoded). The
    tenant's backend computes it when its user logs in and hands it to the app, e.g.
    `hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()`. Keys with the `devices`
    scope and user tokens need no signature.

    Args:
        tenant_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | UserVerificationSecret]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    tenant_id: str,
    *,
    client: AuthenticatedClient,
) -> Error | UserVerificationSecret | None:
    """Turn user verification on, or rotate its secret

     Creates the tenant's user verification secret, or replaces it (signatures made with the old one stop
    working at once), and answers it this once: it is kept in the tenant's Secrets Manager secret, never
    in the database, and never shown again. While the tenant has one, a device registration made with a
    `register`-scope API key must carry `user_signature`: the lowercase hex HMAC-SHA256 of the `user_id`
    (its UTF-8 bytes), keyed with this secret's text as answered (the 64 characters, not decoded). The
    tenant's backend computes it when its user logs in and hands it to the app, e.g.
    `hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()`. Keys with the `devices`
    scope and user tokens need no signature.

    Args:
        tenant_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | UserVerificationSecret
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            client=client,
        )
    ).parsed
