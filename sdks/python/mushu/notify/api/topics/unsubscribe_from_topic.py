from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error import Error
from ...models.topic_subscribers_request import TopicSubscribersRequest
from ...models.topic_unsubscribe_response import TopicUnsubscribeResponse
from ...types import Response


def _get_kwargs(
    tenant_id: str,
    topic: str,
    *,
    body: TopicSubscribersRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/tenants/{tenant_id}/topics/{topic}/subscribers".format(
            tenant_id=quote(str(tenant_id), safe=""),
            topic=quote(str(topic), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Error | TopicUnsubscribeResponse | None:
    if response.status_code == 200:
        response_200 = TopicUnsubscribeResponse.from_dict(response.json())

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
) -> Response[Error | TopicUnsubscribeResponse]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    tenant_id: str,
    topic: str,
    *,
    client: AuthenticatedClient,
    body: TopicSubscribersRequest,
) -> Response[Error | TopicUnsubscribeResponse]:
    """Unsubscribe users from a topic

     Unsubscribes 1 to 1,000 users (repeats counted once) from the topic; users who are not subscribed
    are no error.

    Args:
        tenant_id (str):
        topic (str): 1 to 100 characters of `[A-Za-z0-9_.-]`, neither `.` nor `..`.
        body (TopicSubscribersRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | TopicUnsubscribeResponse]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        topic=topic,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    tenant_id: str,
    topic: str,
    *,
    client: AuthenticatedClient,
    body: TopicSubscribersRequest,
) -> Error | TopicUnsubscribeResponse | None:
    """Unsubscribe users from a topic

     Unsubscribes 1 to 1,000 users (repeats counted once) from the topic; users who are not subscribed
    are no error.

    Args:
        tenant_id (str):
        topic (str): 1 to 100 characters of `[A-Za-z0-9_.-]`, neither `.` nor `..`.
        body (TopicSubscribersRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | TopicUnsubscribeResponse
    """

    return sync_detailed(
        tenant_id=tenant_id,
        topic=topic,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    tenant_id: str,
    topic: str,
    *,
    client: AuthenticatedClient,
    body: TopicSubscribersRequest,
) -> Response[Error | TopicUnsubscribeResponse]:
    """Unsubscribe users from a topic

     Unsubscribes 1 to 1,000 users (repeats counted once) from the topic; users who are not subscribed
    are no error.

    Args:
        tenant_id (str):
        topic (str): 1 to 100 characters of `[A-Za-z0-9_.-]`, neither `.` nor `..`.
        body (TopicSubscribersRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Error | TopicUnsubscribeResponse]
    """

    kwargs = _get_kwargs(
        tenant_id=tenant_id,
        topic=topic,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    tenant_id: str,
    topic: str,
    *,
    client: AuthenticatedClient,
    body: TopicSubscribersRequest,
) -> Error | TopicUnsubscribeResponse | None:
    """Unsubscribe users from a topic

     Unsubscribes 1 to 1,000 users (repeats counted once) from the topic; users who are not subscribed
    are no error.

    Args:
        tenant_id (str):
        topic (str): 1 to 100 characters of `[A-Za-z0-9_.-]`, neither `.` nor `..`.
        body (TopicSubscribersRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Error | TopicUnsubscribeResponse
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            topic=topic,
            client=client,
            body=body,
        )
    ).parsed
