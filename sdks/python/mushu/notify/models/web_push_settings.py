from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="WebPushSettings")


@_attrs_define
class WebPushSettings:
    """The tenant's VAPID key pair (RFC 8292): generated when the tenant has none, uploaded with `private_key`, replaced
    with `rotate: true`; `subject` alone on a tenant with a key changes the contact only. The private key lives only in
    the tenant's secret and is never returned.

        Attributes:
            subject (str): The VAPID `sub`, a `mailto:` or `https:` contact; anything else is 400 naming `web_push.subject`.
            private_key (None | str | Unset): A P-256 private key in PKCS#8 PEM to use instead of a generated one; anything
                else is 400 `invalid_credentials` naming `web_push.private_key`.
            rotate (bool | None | Unset): Replace the tenant's key pair with a new one (subscriptions made for the old
                public key stop working).
    """

    subject: str
    private_key: None | str | Unset = UNSET
    rotate: bool | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        subject = self.subject

        private_key: None | str | Unset
        if isinstance(self.private_key, Unset):
            private_key = UNSET
        else:
            private_key = self.private_key

        rotate: bool | None | Unset
        if isinstance(self.rotate, Unset):
            rotate = UNSET
        else:
            rotate = self.rotate

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "subject": subject,
            }
        )
        if private_key is not UNSET:
            field_dict["private_key"] = private_key
        if rotate is not UNSET:
            field_dict["rotate"] = rotate

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        subject = d.pop("subject")

        def _parse_private_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        private_key = _parse_private_key(d.pop("private_key", UNSET))

        def _parse_rotate(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        rotate = _parse_rotate(d.pop("rotate", UNSET))

        web_push_settings = cls(
            subject=subject,
            private_key=private_key,
            rotate=rotate,
        )

        return web_push_settings
