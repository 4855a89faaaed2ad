from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.platform import Platform
from ..types import UNSET, Unset

T = TypeVar("T", bound="RegisterDeviceRequest")


@_attrs_define
class RegisterDeviceRequest:
    """APNs platforms (`ios`, `watchos`, `macos`) take an APNs token, FCM platforms (`android`, `web`) an FCM token;
    anything else is 400 `invalid_token_format`.

        Attributes:
            platform (Platform): `ios`, `watchos`, `macos` are delivered by APNs; `android`, `web` by FCM.
            token (str): APNs: 64 to 200 hex characters, even length. FCM: 100 to 4096 characters of `[A-Za-z0-9_:-]`.
            user_id (str): Your identifier of a user, 1 to 256 characters (Unicode code points) without control characters.
            app_version (None | str | Unset): At most 64 characters without control characters.
            user_signature (None | str | Unset): The lowercase hex HMAC-SHA256 of `user_id` under the tenant's user
                verification secret (64 characters). Required from `register`-scope keys while the tenant has user verification
                on (403 `user_signature_invalid` when missing or wrong); ignored otherwise.
    """

    platform: Platform
    token: str
    user_id: str
    app_version: None | str | Unset = UNSET
    user_signature: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        platform = self.platform.value

        token = self.token

        user_id = self.user_id

        app_version: None | str | Unset
        if isinstance(self.app_version, Unset):
            app_version = UNSET
        else:
            app_version = self.app_version

        user_signature: None | str | Unset
        if isinstance(self.user_signature, Unset):
            user_signature = UNSET
        else:
            user_signature = self.user_signature

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "platform": platform,
                "token": token,
                "user_id": user_id,
            }
        )
        if app_version is not UNSET:
            field_dict["app_version"] = app_version
        if user_signature is not UNSET:
            field_dict["user_signature"] = user_signature

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        platform = Platform(d.pop("platform"))

        token = d.pop("token")

        user_id = d.pop("user_id")

        def _parse_app_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        app_version = _parse_app_version(d.pop("app_version", UNSET))

        def _parse_user_signature(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user_signature = _parse_user_signature(d.pop("user_signature", UNSET))

        register_device_request = cls(
            platform=platform,
            token=token,
            user_id=user_id,
            app_version=app_version,
            user_signature=user_signature,
        )

        return register_device_request
