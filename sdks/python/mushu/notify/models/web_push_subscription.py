from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.web_push_keys import WebPushKeys


T = TypeVar("T", bound="WebPushSubscription")


@_attrs_define
class WebPushSubscription:
    """Exactly a browser's `PushSubscription.toJSON()`.

    Attributes:
        endpoint (str): A Web Push subscription's endpoint: an https URL on one of the push services the deployment
            allows (`NOTIFY_WEB_PUSH_HOSTS`, by default fcm.googleapis.com, updates.push.services.mozilla.com,
            *.push.apple.com and *.notify.windows.com); anything else is 400 `invalid_token_format`.
        keys (WebPushKeys):
        expiration_time (float | None | Unset):
    """

    endpoint: str
    keys: WebPushKeys
    expiration_time: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        endpoint = self.endpoint

        keys = self.keys.to_dict()

        expiration_time: float | None | Unset
        if isinstance(self.expiration_time, Unset):
            expiration_time = UNSET
        else:
            expiration_time = self.expiration_time

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "endpoint": endpoint,
                "keys": keys,
            }
        )
        if expiration_time is not UNSET:
            field_dict["expirationTime"] = expiration_time

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.web_push_keys import WebPushKeys

        d = dict(src_dict)
        endpoint = d.pop("endpoint")

        keys = WebPushKeys.from_dict(d.pop("keys"))

        def _parse_expiration_time(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        expiration_time = _parse_expiration_time(d.pop("expirationTime", UNSET))

        web_push_subscription = cls(
            endpoint=endpoint,
            keys=keys,
            expiration_time=expiration_time,
        )

        return web_push_subscription
