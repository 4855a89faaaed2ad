from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_webhook_request import CreateWebhookRequest
from ...models.created_webhook import CreatedWebhook
from ...models.error import Error
from ...types import Response


def _get_kwargs(
    tenant_id: str,
    *,
    body: CreateWebhookRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/tenants/{tenant_id}/webhooks".format(
            tenant_id=quote(str(tenant_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CreatedWebhook | Error | None:
    if response.status_code == 200:
        response_200 = CreatedWebhook.from_dict(response.json())

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
) -> Response[CreatedWebhook | Error]:
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
    body: CreateWebhookRequest,
) -> Response[CreatedWebhook | Error]:
    """Create a webhook

     Registers a receiver of the tenant's events. Its signing secret (`whsec_` + base64) is in this
    answer only. `url` must be `https` (at most 2048 characters, no user information) and must not name
    a private, loopback or otherwise non-public IP address; a host name is checked on every delivery,
    against the address actually connected to. At most 10 webhooks a tenant (409
    `webhook_limit_reached`). Each event is a POST with the headers `webhook-id` (the event's id, the
    same on every retry), `webhook-timestamp` (unix seconds) and `webhook-signature` (`v1,` + base64
    HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret's base64-decoded
    part after `whsec_`), and the body `{"type", "timestamp", "data"}`. A non-2xx answer, a redirect, or
    no answer within 5 seconds is retried with growing delays for over 24 hours.

    Args:
        tenant_id (str):
        body (CreateWebhookRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedWebhook | Error]
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
    body: CreateWebhookRequest,
) -> CreatedWebhook | Error | None:
    """Create a webhook

     Registers a receiver of the tenant's events. Its signing secret (`whsec_` + base64) is in this
    answer only. `url` must be `https` (at most 2048 characters, no user information) and must not name
    a private, loopback or otherwise non-public IP address; a host name is checked on every delivery,
    against the address actually connected to. At most 10 webhooks a tenant (409
    `webhook_limit_reached`). Each event is a POST with the headers `webhook-id` (the event's id, the
    same on every retry), `webhook-timestamp` (unix seconds) and `webhook-signature` (`v1,` + base64
    HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret's base64-decoded
    part after `whsec_`), and the body `{"type", "timestamp", "data"}`. A non-2xx answer, a redirect, or
    no answer within 5 seconds is retried with growing delays for over 24 hours.

    Args:
        tenant_id (str):
        body (CreateWebhookRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedWebhook | Error
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
    body: CreateWebhookRequest,
) -> Response[CreatedWebhook | Error]:
    """Create a webhook

     Registers a receiver of the tenant's events. Its signing secret (`whsec_` + base64) is in this
    answer only. `url` must be `https` (at most 2048 characters, no user information) and must not name
    a private, loopback or otherwise non-public IP address; a host name is checked on every delivery,
    against the address actually connected to. At most 10 webhooks a tenant (409
    `webhook_limit_reached`). Each event is a POST with the headers `webhook-id` (the event's id, the
    same on every retry), `webhook-timestamp` (unix seconds) and `webhook-signature` (`v1,` + base64
    HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret's base64-decoded
    part after `whsec_`), and the body `{"type", "timestamp", "data"}`. A non-2xx answer, a redirect, or
    no answer within 5 seconds is retried with growing delays for over 24 hours.

    Args:
        tenant_id (str):
        body (CreateWebhookRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CreatedWebhook | Error]
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
    body: CreateWebhookRequest,
) -> CreatedWebhook | Error | None:
    """Create a webhook

     Registers a receiver of the tenant's events. Its signing secret (`whsec_` + base64) is in this
    answer only. `url` must be `https` (at most 2048 characters, no user information) and must not name
    a private, loopback or otherwise non-public IP address; a host name is checked on every delivery,
    against the address actually connected to. At most 10 webhooks a tenant (409
    `webhook_limit_reached`). Each event is a POST with the headers `webhook-id` (the event's id, the
    same on every retry), `webhook-timestamp` (unix seconds) and `webhook-signature` (`v1,` + base64
    HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the secret's base64-decoded
    part after `whsec_`), and the body `{"type", "timestamp", "data"}`. A non-2xx answer, a redirect, or
    no answer within 5 seconds is retried with growing delays for over 24 hours.

    Args:
        tenant_id (str):
        body (CreateWebhookRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CreatedWebhook | Error
    """

    return (
        await asyncio_detailed(
            tenant_id=tenant_id,
            client=client,
            body=body,
        )
    ).parsed
