from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.platform import Platform

T = TypeVar("T", bound="DeliveryResult")


@_attrs_define
class DeliveryResult:
    """One device's fate.

    Attributes:
        error (None | str): Why the device did not get the push: a provider's documented reason (`Unregistered`,
            `BadDeviceToken`, `InvalidProviderToken`, `UNREGISTERED`, `SENDER_ID_MISMATCH`...) or a fixed sentence
            (`provider connection failed`, `deadline reached before the provider answered`...); never remote or system error
            text. docs/operations.md lists them with what to check.
        platform (Platform): `ios`, `watchos`, `macos` are delivered by APNs; `android`, `web` by FCM; `webpush` by
            standard Web Push (RFC 8030) straight to the browser's push service.
        success (bool):
        token (str): The device token; for an API key without the `devices` scope only its first 8 characters and `…`
            (such a key may not read tokens).
    """

    error: None | str
    platform: Platform
    success: bool
    token: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error: None | str
        error = self.error

        platform = self.platform.value

        success = self.success

        token = self.token

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
                "platform": platform,
                "success": success,
                "token": token,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        platform = Platform(d.pop("platform"))

        success = d.pop("success")

        token = d.pop("token")

        delivery_result = cls(
            error=error,
            platform=platform,
            success=success,
            token=token,
        )

        delivery_result.additional_properties = d
        return delivery_result

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
