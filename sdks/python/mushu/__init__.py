"""Python SDK for Notify.

`mushu.notify` is generated from the project's openapi.yaml
(scripts/generate-sdk); this module adds the one hand-written entry point,
`mushu.client()`, that builds a client with the right credential header.
"""

from __future__ import annotations

import os

from mushu.notify.client import AuthenticatedClient, Client

__all__ = ["AuthenticatedClient", "Client", "client"]

# Service name -> environment variable holding its base URL.
_BASE_URL_VARIABLES = {"notify": "MUSHU_NOTIFY_URL"}


def client(
    service: str,
    api_key: str | None = None,
    token: str | None = None,
    base_url: str | None = None,
    **options,
) -> AuthenticatedClient | Client:
    """A client for `service` ("notify").

    The base URL is `base_url`, else the service's environment variable
    (`MUSHU_NOTIFY_URL`). `api_key` is sent as `X-API-Key` (a tenant's key,
    for your backend); `token` as `Authorization: Bearer` (a user token, for
    tenant and key management). `api_key` wins when both are given, as it does
    on the server. Without either, the client sends no credential (enough for
    `GET /health`). Other keyword arguments go to the generated client
    (`timeout`, `headers`, `raise_on_unexpected_status`, ...).
    """
    variable = _BASE_URL_VARIABLES.get(service)
    if variable is None:
        raise ValueError(f"unknown service {service!r}; known: {', '.join(sorted(_BASE_URL_VARIABLES))}")
    url = base_url or os.environ.get(variable)
    if not url:
        raise ValueError(f"no base URL for {service!r}: pass base_url= or set {variable}")
    url = url.rstrip("/")
    if api_key:
        return AuthenticatedClient(base_url=url, token=api_key, prefix="", auth_header_name="X-API-Key", **options)
    if token:
        return AuthenticatedClient(base_url=url, token=token, **options)
    return Client(base_url=url, **options)
