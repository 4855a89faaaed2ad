from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="BulkNotificationResponse")


@_attrs_define
class BulkNotificationResponse:
    """
    Attributes:
        batch_id (UUID):
        failed (int): Users rejected (invalid user ids); never queued.
        status (Literal['queued']):
        success (int): Users accepted for delivery.
        total (int): Distinct user ids in the request.
    """

    batch_id: UUID
    failed: int
    status: Literal["queued"]
    success: int
    total: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        batch_id = str(self.batch_id)

        failed = self.failed

        status = self.status

        success = self.success

        total = self.total

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "batch_id": batch_id,
                "failed": failed,
                "status": status,
                "success": success,
                "total": total,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        batch_id = UUID(d.pop("batch_id"))

        failed = d.pop("failed")

        status = cast(Literal["queued"], d.pop("status"))
        if status != "queued":
            raise ValueError(f"status must match const 'queued', got '{status}'")

        success = d.pop("success")

        total = d.pop("total")

        bulk_notification_response = cls(
            batch_id=batch_id,
            failed=failed,
            status=status,
            success=success,
            total=total,
        )

        bulk_notification_response.additional_properties = d
        return bulk_notification_response

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
