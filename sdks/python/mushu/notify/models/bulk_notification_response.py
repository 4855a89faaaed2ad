from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.bulk_notification_response_status import BulkNotificationResponseStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="BulkNotificationResponse")


@_attrs_define
class BulkNotificationResponse:
    """
    Attributes:
        batch_id (UUID):
        failed (int): Users rejected (invalid user ids); never queued.
        status (BulkNotificationResponseStatus):
        success (int): Users accepted for delivery (0 for a topic or all users, counted as read).
        total (int | None): Distinct user ids in the request; null for a `topic` or `all_users` send, whose audience is
            read later (the status reports it then).
        send_at (datetime.datetime | Unset): The scheduled time, for a `scheduled` batch.
    """

    batch_id: UUID
    failed: int
    status: BulkNotificationResponseStatus
    success: int
    total: int | None
    send_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        batch_id = str(self.batch_id)

        failed = self.failed

        status = self.status.value

        success = self.success

        total: int | None
        total = self.total

        send_at: str | Unset = UNSET
        if not isinstance(self.send_at, Unset):
            send_at = self.send_at.isoformat()

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
        if send_at is not UNSET:
            field_dict["send_at"] = send_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        batch_id = UUID(d.pop("batch_id"))

        failed = d.pop("failed")

        status = BulkNotificationResponseStatus(d.pop("status"))

        success = d.pop("success")

        def _parse_total(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        total = _parse_total(d.pop("total"))

        _send_at = d.pop("send_at", UNSET)
        send_at: datetime.datetime | Unset
        if isinstance(_send_at, Unset):
            send_at = UNSET
        else:
            send_at = datetime.datetime.fromisoformat(_send_at)

        bulk_notification_response = cls(
            batch_id=batch_id,
            failed=failed,
            status=status,
            success=success,
            total=total,
            send_at=send_at,
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
