from http import HTTPStatus
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.bulk_result_list import BulkResultList
from ...models.bulk_result_outcome import BulkResultOutcome
from ...models.error import Error
from ...types import UNSET, Response, Unset


def _get_kwargs(
    tenant_id: str,
    batch_id: UUID,
    *,
    outcome: BulkResultOutcome | Unset = UNSET,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_outcome: str | Unset = UNSET
    if not isinstance(outcome, Unset):
        json_outcome = outcome.value

    params["outcome"] = json_outcome

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/tenants/{tenant_id}/notify/bulk/{batch_id}/results".format(
            tenant_id=quote(str(tenant_id), safe=""),
            batch_id=quote(str(batch_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BulkResultList | Error | None:
    if response.status_code == 200:
        response_200 = BulkResultList.from_dict(response.json())

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
) -> Response[BulkResultList | Error]:
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
    outcome: BulkResultOutcome | Unset = UNSET,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
) -> Response[BulkResultList | Error]:
    """Every device and user of a bulk send, with its outcome

     Every device the batch reached appears exactly once with its final outcome (`delivered`; `failed`
    with the provider's reason or a fixed sentence; `removed` when the token was dead and has been
    removed), and every user without devices once with `no_devices` and `token` and `platform` null. A
    user that failed before any push (the tenant's `pushes_per_day` used up) has one `failed` row with
    null `token`. Rows appear as outcomes become final (the list is complete when the batch's status is
    `done`); users rejected at the request (invalid ids) are not listed. Delivered devices are named
    from the registry when read: one unregistered since is not listed (a delivered user left without a
    row gets one with null `token`). Rows come in a stable order; pass `next_cursor` as `cursor` for the
    next page (null on the last; a page may hold fewer than `limit` rows and still have one). For an API
    key without the `devices` scope, tokens show only their first 8 characters and `…`. Same
    authorisation as the status; unknown, expired and other tenants' batch ids are 404. Kept as long as
    the batch (7 days).

    Args:
        tenant_id (str):
        batch_id (UUID):
        outcome (BulkResultOutcome | Unset): `delivered`: the provider accepted the push.
            `failed`: refused, or transient failures until the last retry. `removed`: the provider
            said the token is dead; it has been removed. `no_devices`: the user had no devices.
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BulkResultList | Error]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        batch_id=batch_id,
        outcome=outcome,
        limit=limit,
        cursor=cursor,
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
    outcome: BulkResultOutcome | Unset = UNSET,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
) -> BulkResultList | Error | None:
    """Every device and user of a bulk send, with its outcome

     Every device the batch reached appears exactly once with its final outcome (`delivered`; `failed`
    with the provider's reason or a fixed sentence; `removed` when the token was dead and has been
    removed), and every user without devices once with `no_devices` and `token` and `platform` null. A
    user that failed before any push (the tenant's `pushes_per_day` used up) has one `failed` row with
    null `token`. Rows appear as outcomes become final (the list is complete when the batch's status is
    `done`); users rejected at the request (invalid ids) are not listed. Delivered devices are named
    from the registry when read: one unregistered since is not listed (a delivered user left without a
    row gets one with null `token`). Rows come in a stable order; pass `next_cursor` as `cursor` for the
    next page (null on the last; a page may hold fewer than `limit` rows and still have one). For an API
    key without the `devices` scope, tokens show only their first 8 characters and `…`. Same
    authorisation as the status; unknown, expired and other tenants' batch ids are 404. Kept as long as
    the batch (7 days).

    Args:
        tenant_id (str):
        batch_id (UUID):
        outcome (BulkResultOutcome | Unset): `delivered`: the provider accepted the push.
            `failed`: refused, or transient failures until the last retry. `removed`: the provider
            said the token is dead; it has been removed. `no_devices`: the user had no devices.
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BulkResultList | Error
    """

    return sync_detailed(
        tenant_id=tenant_id,
        batch_id=batch_id,
        client=client,
        outcome=outcome,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    tenant_id: str,
    batch_id: UUID,
    *,
    client: AuthenticatedClient,
    outcome: BulkResultOutcome | Unset = UNSET,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
) -> Response[BulkResultList | Error]:
    """Every device and user of a bulk send, with its outcome

     Every device the batch reached appears exactly once with its final outcome (`delivered`; `failed`
    with the provider's reason or a fixed sentence; `removed` when the token was dead and has been
    removed), and every user without devices once with `no_devices` and `token` and `platform` null. A
    user that failed before any push (the tenant's `pushes_per_day` used up) has one `failed` row with
    null `token`. Rows appear as outcomes become final (the list is complete when the batch's status is
    `done`); users rejected at the request (invalid ids) are not listed. Delivered devices are named
    from the registry when read: one unregistered since is not listed (a delivered user left without a
    row gets one with null `token`). Rows come in a stable order; pass `next_cursor` as `cursor` for the
    next page (null on the last; a page may hold fewer than `limit` rows and still have one). For an API
    key without the `devices` scope, tokens show only their first 8 characters and `…`. Same
    authorisation as the status; unknown, expired and other tenants' batch ids are 404. Kept as long as
    the batch (7 days).

    Args:
        tenant_id (str):
        batch_id (UUID):
        outcome (BulkResultOutcome | Unset): `delivered`: the provider accepted the push.
            `failed`: refused, or transient failures until the last retry. `removed`: the provider
            said the token is dead; it has been removed. `no_devices`: the user had no devices.
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BulkResultList | Error]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        batch_id=batch_id,
        outcome=outcome,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    tenant_id: str,
    batch_id: UUID,
    *,
    client: AuthenticatedClient,
    outcome: BulkResultOutcome | Unset = UNSET,
    limit: int | Unset = 100,
    cursor: str | Unset = UNSET,
) -> BulkResultList | Error | None:
    """Every device and user of a bulk send, with its outcome

     Every device the batch reached appears exactly once with its final outcome (`delivered`; `failed`
    with the provider's reason or a fixed sentence; `removed` when the token was dead and has been
    removed), and every user without devices once with `no_devices` and `token` and `platform` null. A
    user that failed before any push (the tenant's `pushes_per_day` used up) has one `failed` row with
    null `token`. Rows appear as outcomes become final (the list is complete when the batch's status is
    `done`); users rejected at the request (invalid ids) are not listed. Delivered devices are named
    from the registry when read: one unregistered since is not listed (a delivered user left without a
    row gets one with null `token`). Rows come in a stable order; pass `next_cursor` as `cursor` for the
    next page (null on the last; a page may hold fewer than `limit` rows and still have one). For an API
    key without the `devices` scope, tokens show only their first 8 characters and `…`. Same
    authorisation as the status; unknown, expired and other tenants' batch ids are 404. Kept as long as
    the batch (7 days).

    Args:
        tenant_id (str):
        batch_id (UUID):
        outcome (BulkResultOutcome | Unset): `delivered`: the provider accepted the push.
            `failed`: refused, or transient failures until the last retry. `removed`: the provider
            said the token is dead; it has been removed. `no_devices`: the user had no devices.
        limit (int | Unset):  Default: 100.
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BulkResultList | Error
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            batch_id=batch_id,
            client=client,
            outcome=outcome,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
