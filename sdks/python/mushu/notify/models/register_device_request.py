from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..models.platform import Platform
from ..models.token_type_type_0 import TokenTypeType0
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.web_push_subscription import WebPushSubscription


T = TypeVar("T", bound="RegisterDeviceRequest")


@_attrs_define
class RegisterDeviceRequest:
    """APNs platforms (`ios`, `watchos`, `macos`) take an APNs token, FCM platforms (`android`, `web`) an FCM token,
    `webpush` a `subscription` (its endpoint becomes the device's token); anything else is 400 `invalid_token_format`.

        Attributes:
            platform (Platform): `ios`, `watchos`, `macos` are delivered by APNs; `android`, `web` by FCM; `webpush` by
                standard Web Push (RFC 8030) straight to the browser's push service.
            user_id (str): Your identifier of a user, 1 to 256 characters (Unicode code points) without control characters.
            app_version (None | str | Unset): At most 64 characters without control characters.
            subscription (None | Unset | WebPushSubscription): A `webpush` device's browser subscription; `null` or absent
                for the other platforms.
            token (str | Unset): APNs: 64 to 200 hex characters, even length. FCM: 100 to 4096 characters of
                `[A-Za-z0-9_:-]`.
            token_type (None | TokenTypeType0 | Unset): `device` (the default): the app's APNs or FCM token. `liveactivity`:
                a Live Activity's update token (ActivityKit `pushTokenUpdates`); `push_to_start`: the app's push-to-start token
                (`pushToStartTokenUpdates`). Those two are for platform `ios` only (400 otherwise), are reached only by sends
                with `push_type` `liveactivity` (`start` to `push_to_start` tokens, `update` and `end` to `liveactivity` tokens)
                and by no other send, live at most 24 hours after registration (and no longer than an `end`'s `dismissal_date`,
                or 4 hours after an `end` without one), and have a cap of their own: 100 live per user (409
                `too_many_activity_tokens`), apart from the 100-device cap. `voip`, `complication`, `fileprovider`: the PushKit
                token of that push type; `location`: the location-push token (Core Location); `pushtotalk`: the PushToTalk
                framework's ephemeral push token; `widgets`: WidgetKit's widget push token. Apple hands each out apart from the
                device token: these are for Apple platforms only (400 otherwise), count towards the 100-device cap, and are
                reached only by sends of their own `push_type`, which reach no other token.
            user_signature (None | str | Unset): The lowercase hex HMAC-SHA256 of `user_id` under the tenant's user
                verification secret (64 characters). Required from `register`-scope keys while the tenant has user verification
                on (403 `user_signature_invalid` when missing or wrong; without user verification such keys register nothing:
                403 `user_verification_required`); ignored otherwise.
    """

    platform: Platform
    user_id: str
    app_version: None | str | Unset = UNSET
    subscription: None | Unset | WebPushSubscription = UNSET
    token: str | Unset = UNSET
    token_type: None | TokenTypeType0 | Unset = UNSET
    user_signature: None | str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.web_push_subscription import WebPushSubscription

        platform = self.platform.value

        user_id = self.user_id

        app_version: None | str | Unset
        if isinstance(self.app_version, Unset):
            app_version = UNSET
        else:
            app_version = self.app_version

        subscription: dict[str, Any] | None | Unset
        if isinstance(self.subscription, Unset):
            subscription = UNSET
        elif isinstance(self.subscription, WebPushSubscription):
            subscription = self.subscription.to_dict()
        else:
            subscription = self.subscription

        token = self.token

        token_type: None | str | Unset
        if isinstance(self.token_type, Unset):
            token_type = UNSET
        elif isinstance(self.token_type, TokenTypeType0):
            token_type = self.token_type.value
        else:
            token_type = self.token_type

        user_signature: None | str | Unset
        if isinstance(self.user_signature, Unset):
            user_signature = UNSET
        else:
            user_signature = self.user_signature

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "platform": platform,
                "user_id": user_id,
            }
        )
        if app_version is not UNSET:
            field_dict["app_version"] = app_version
        if subscription is not UNSET:
            field_dict["subscription"] = subscription
        if token is not UNSET:
            field_dict["token"] = token
        if token_type is not UNSET:
            field_dict["token_type"] = token_type
        if user_signature is not UNSET:
            field_dict["user_signature"] = user_signature

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.web_push_subscription import WebPushSubscription

        d = dict(src_dict)
        platform = Platform(d.pop("platform"))

        user_id = d.pop("user_id")

        def _parse_app_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        app_version = _parse_app_version(d.pop("app_version", UNSET))

        def _parse_subscription(data: object) -> None | Unset | WebPushSubscription:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                subscription_type_0 = WebPushSubscription.from_dict(data)

                return subscription_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | WebPushSubscription, data)

        subscription = _parse_subscription(d.pop("subscription", UNSET))

        token = d.pop("token", UNSET)

        def _parse_token_type(data: object) -> None | TokenTypeType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_token_type_type_0 = TokenTypeType0(data)

                return componentsschemas_token_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | TokenTypeType0 | Unset, data)

        token_type = _parse_token_type(d.pop("token_type", UNSET))

        def _parse_user_signature(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        user_signature = _parse_user_signature(d.pop("user_signature", UNSET))

        register_device_request = cls(
            platform=platform,
            user_id=user_id,
            app_version=app_version,
            subscription=subscription,
            token=token,
            token_type=token_type,
            user_signature=user_signature,
        )

        return register_device_request
