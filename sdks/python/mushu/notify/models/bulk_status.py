from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast
from uuid import UUID

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.batch_status import BatchStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="BulkStatus")


@_attrs_define
class BulkStatus:
    """
    Attributes:
        batch_id (UUID):
        delivered (int): Users at least one of whose devices accepted the push.
        failed (int): Users rejected at the request, or none of whose devices accepted it.
        no_devices (int):
        status (BatchStatus): `scheduled`: waiting for its `send_at` (cancellable); `cancelled`: cancelled while
            scheduled, never delivered; `queued`: accepted, no worker has started; `delivering`; `done`: every user settled.
        total (int | None): Users in the batch; null while a topic's or all users' audience is still being read.
        send_at (datetime.datetime | Unset): The scheduled time, for a batch sent with `send_at`.
    """

    batch_id: UUID
    delivered: int
    failed: int
    no_devices: int
    status: BatchStatus
    total: int | None
    send_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        batch_id = str(self.batch_id)

        delivered = self.delivered

        failed = self.failed

        no_devices = self.no_devices

        status = self.status.value

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
                "delivered": delivered,
                "failed": failed,
                "no_devices": no_devices,
                "status": status,
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

        delivered = d.pop("delivered")

        failed = d.pop("failed")

        no_devices = d.pop("no_devices")

        status = BatchStatus(d.pop("status"))

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

        bulk_status = cls(
            batch_id=batch_id,
            delivered=delivered,
            failed=failed,
            no_devices=no_devices,
            status=status,
            total=total,
            send_at=send_at,
        )

        bulk_status.additional_properties = d
        return bulk_status

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
