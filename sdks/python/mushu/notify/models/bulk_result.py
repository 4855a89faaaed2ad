from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.bulk_result_outcome import BulkResultOutcome
from ..models.platform import Platform

T = TypeVar("T", bound="BulkResult")


@_attrs_define
class BulkResult:
    """One device of a bulk send (or one user, when `token` is null).

    Attributes:
        outcome (BulkResultOutcome): `delivered`: the provider accepted the push. `failed`: refused, or transient
            failures until the last retry. `removed`: the provider said the token is dead; it has been removed.
            `no_devices`: the user had no devices.
        platform (None | Platform):
        reason (None | str): Why the device did not get the push (as `DeliveryResult.error`: the provider's documented
            reason or a fixed sentence), or a note on a row without a token; null for a delivered device and for
            `no_devices`.
        token (None | str): The device token; for an API key without the `devices` scope only its first 8 characters and
            `…`. Null for a row about the user (`no_devices`, or a user that failed before any push).
        user_id (str):
    """

    outcome: BulkResultOutcome
    platform: None | Platform
    reason: None | str
    token: None | str
    user_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        outcome = self.outcome.value

        platform: None | str
        if isinstance(self.platform, Platform):
            platform = self.platform.value
        else:
            platform = self.platform

        reason: None | str
        reason = self.reason

        token: None | str
        token = self.token

        user_id = self.user_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "outcome": outcome,
                "platform": platform,
                "reason": reason,
                "token": token,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        outcome = BulkResultOutcome(d.pop("outcome"))

        def _parse_platform(data: object) -> None | Platform:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                platform_type_0 = Platform(data)

                return platform_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Platform, data)

        platform = _parse_platform(d.pop("platform"))

        def _parse_reason(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        reason = _parse_reason(d.pop("reason"))

        def _parse_token(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        token = _parse_token(d.pop("token"))

        user_id = d.pop("user_id")

        bulk_result = cls(
            outcome=outcome,
            platform=platform,
            reason=reason,
            token=token,
            user_id=user_id,
        )

        bulk_result.additional_properties = d
        return bulk_result

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
