from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.delivery_result import DeliveryResult


T = TypeVar("T", bound="SendNotificationResponse")


@_attrs_define
class SendNotificationResponse:
    """
    Attributes:
        delivered (int):
        failed (int):
        message_id (UUID):
        results (list[DeliveryResult]): One entry per device of the user.
        success (bool): At least one device accepted the push.
        error (str | Unset): Only when there was nobody to send to: `no devices registered for user`.
    """

    delivered: int
    failed: int
    message_id: UUID
    results: list[DeliveryResult]
    success: bool
    error: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        delivered = self.delivered

        failed = self.failed

        message_id = str(self.message_id)

        results = []
        for results_item_data in self.results:
            results_item = results_item_data.to_dict()
            results.append(results_item)

        success = self.success

        error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "delivered": delivered,
                "failed": failed,
                "message_id": message_id,
                "results": results,
                "success": success,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.delivery_result import DeliveryResult

        d = dict(src_dict)
        delivered = d.pop("delivered")

        failed = d.pop("failed")

        message_id = UUID(d.pop("message_id"))

        results = []
        _results = d.pop("results")
        for results_item_data in _results:
            results_item = DeliveryResult.from_dict(results_item_data)

            results.append(results_item)

        success = d.pop("success")

        error = d.pop("error", UNSET)

        send_notification_response = cls(
            delivered=delivered,
            failed=failed,
            message_id=message_id,
            results=results,
            success=success,
            error=error,
        )

        send_notification_response.additional_properties = d
        return send_notification_response

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
