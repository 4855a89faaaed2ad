from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.device_token_type import DeviceTokenType
from ..models.platform import Platform
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.web_push_keys import WebPushKeys


T = TypeVar("T", bound="Device")


@_attrs_define
class Device:
    """
    Attributes:
        app_version (None | str):
        created_at (datetime.datetime):
        platform (Platform): `ios`, `watchos`, `macos` are delivered by APNs; `android`, `web` by FCM; `webpush` by
            standard Web Push (RFC 8030) straight to the browser's push service.
        token (str): As stored (APNs tokens lowercase; a `webpush` device's is its endpoint).
        updated_at (datetime.datetime):
        user_id (str): Your identifier of a user, 1 to 256 characters (Unicode code points) without control characters.
        token_type (DeviceTokenType | Unset):
        web_push_keys (WebPushKeys | Unset):
    """

    app_version: None | str
    created_at: datetime.datetime
    platform: Platform
    token: str
    updated_at: datetime.datetime
    user_id: str
    token_type: DeviceTokenType | Unset = UNSET
    web_push_keys: WebPushKeys | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        app_version: None | str
        app_version = self.app_version

        created_at = self.created_at.isoformat()

        platform = self.platform.value

        token: str
        token = self.token

        updated_at = self.updated_at.isoformat()

        user_id = self.user_id

        token_type: str | Unset = UNSET
        if not isinstance(self.token_type, Unset):
            token_type = self.token_type.value

        web_push_keys: dict[str, Any] | Unset = UNSET
        if not isinstance(self.web_push_keys, Unset):
            web_push_keys = self.web_push_keys.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "app_version": app_version,
                "created_at": created_at,
                "platform": platform,
                "token": token,
                "updated_at": updated_at,
                "user_id": user_id,
            }
        )
        if token_type is not UNSET:
            field_dict["token_type"] = token_type
        if web_push_keys is not UNSET:
            field_dict["web_push_keys"] = web_push_keys

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.web_push_keys import WebPushKeys

        d = dict(src_dict)

        def _parse_app_version(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        app_version = _parse_app_version(d.pop("app_version"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        platform = Platform(d.pop("platform"))

        def _parse_token(data: object) -> str:
            return cast(str, data)

        token = _parse_token(d.pop("token"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        user_id = d.pop("user_id")

        _token_type = d.pop("token_type", UNSET)
        token_type: DeviceTokenType | Unset
        if isinstance(_token_type, Unset):
            token_type = UNSET
        else:
            token_type = DeviceTokenType(_token_type)

        _web_push_keys = d.pop("web_push_keys", UNSET)
        web_push_keys: WebPushKeys | Unset
        if isinstance(_web_push_keys, Unset):
            web_push_keys = UNSET
        else:
            web_push_keys = WebPushKeys.from_dict(_web_push_keys)

        device = cls(
            app_version=app_version,
            created_at=created_at,
            platform=platform,
            token=token,
            updated_at=updated_at,
            user_id=user_id,
            token_type=token_type,
            web_push_keys=web_push_keys,
        )

        device.additional_properties = d
        return device

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
