from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.get_api_key_usage_period import GetApiKeyUsagePeriod
from ...models.key_usage import KeyUsage
from ...types import UNSET, Response, Unset


def _get_kwargs(
    tenant_id: str,
    key_id: str,
    *,
    period: GetApiKeyUsagePeriod | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_period: str | Unset = UNSET
    if not isinstance(period, Unset):
        json_period = period.value

    params["period"] = json_period

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/tenants/{tenant_id}/api-keys/{key_id}/usage".format(
            tenant_id=quote(str(tenant_id), safe=""),
            key_id=quote(str(key_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | KeyUsage | None:
    if response.status_code == 200:
        response_200 = KeyUsage.from_dict(response.json())

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
) -> Response[Error | KeyUsage]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    tenant_id: str,
    key_id: str,
    *,
    client: AuthenticatedClient,
    period: GetApiKeyUsagePeriod | Unset = UNSET,
) -> Response[Error | KeyUsage]:
    """An API key's usage

     The key's requests, refusals and pushes in hour buckets (the last 48 hours) or day buckets (the last
    90 days), UTC, oldest first, every bucket of the period shown (zero when the key was idle).
    `requests` counts every request authenticated with the key, `rejected` its 4xx answers (429s
    included), `throttled` its 429s, `pushes` the device pushes its single sends attempted,
    `pushes_failed` those that failed. A request's count shows at once; the outcome of a key's last
    requests (rejected, pushes) may show only with its next request or after some seconds.

    Args:
        tenant_id (str):
        key_id (str):
        period (GetApiKeyUsagePeriod | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | KeyUsage]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        key_id=key_id,
        period=period,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    tenant_id: str,
    key_id: str,
    *,
    client: AuthenticatedClient,
    period: GetApiKeyUsagePeriod | Unset = UNSET,
) -> Error | KeyUsage | None:
    """An API key's usage

     The key's requests, refusals and pushes in hour buckets (the last 48 hours) or day buckets (the last
    90 days), UTC, oldest first, every bucket of the period shown (zero when the key was idle).
    `requests` counts every request authenticated with the key, `rejected` its 4xx answers (429s
    included), `throttled` its 429s, `pushes` the device pushes its single sends attempted,
    `pushes_failed` those that failed. A request's count shows at once; the outcome of a key's last
    requests (rejected, pushes) may show only with its next request or after some seconds.

    Args:
        tenant_id (str):
        key_id (str):
        period (GetApiKeyUsagePeriod | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | KeyUsage
    """

    return sync_detailed(
        tenant_id=tenant_id,
        key_id=key_id,
        client=client,
        period=period,
    ).parsed


async def asyncio_detailed(
    tenant_id: str,
    key_id: str,
    *,
    client: AuthenticatedClient,
    period: GetApiKeyUsagePeriod | Unset = UNSET,
) -> Response[Error | KeyUsage]:
    """An API key's usage

     The key's requests, refusals and pushes in hour buckets (the last 48 hours) or day buckets (the last
    90 days), UTC, oldest first, every bucket of the period shown (zero when the key was idle).
    `requests` counts every request authenticated with the key, `rejected` its 4xx answers (429s
    included), `throttled` its 429s, `pushes` the device pushes its single sends attempted,
    `pushes_failed` those that failed. A request's count shows at once; the outcome of a key's last
    requests (rejected, pushes) may show only with its next request or after some seconds.

    Args:
        tenant_id (str):
        key_id (str):
        period (GetApiKeyUsagePeriod | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | KeyUsage]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        key_id=key_id,
        period=period,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    tenant_id: str,
    key_id: str,
    *,
    client: AuthenticatedClient,
    period: GetApiKeyUsagePeriod | Unset = UNSET,
) -> Error | KeyUsage | None:
    """An API key's usage

     The key's requests, refusals and pushes in hour buckets (the last 48 hours) or day buckets (the last
    90 days), UTC, oldest first, every bucket of the period shown (zero when the key was idle).
    `requests` counts every request authenticated with the key, `rejected` its 4xx answers (429s
    included), `throttled` its 429s, `pushes` the device pushes its single sends attempted,
    `pushes_failed` those that failed. A request's count shows at once; the outcome of a key's last
    requests (rejected, pushes) may show only with its next request or after some seconds.

    Args:
        tenant_id (str):
        key_id (str):
        period (GetApiKeyUsagePeriod | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | KeyUsage
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            key_id=key_id,
            client=client,
            period=period,
        )
    ).parsed
