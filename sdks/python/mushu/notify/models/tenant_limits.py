from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="TenantLimits")


@_attrs_define
class TenantLimits:
    """The tenant's limits, set by the deployment's operator (`notifyctl tenant-limits`, else the deployment's defaults),
    never through the API: `limits` in a tenant's creation or change answers 403.

        Attributes:
            devices (int): Devices registered (Live Activity tokens not included); at the limit, registering a new token
                answers 409 `too_many_devices`.
            pushes_per_day (int): Device pushes attempted per UTC day, single and bulk sends together; once used up, sends
                answer 429 `quota_exceeded` with `Retry-After` until midnight UTC.
            requests_per_second (int): Requests per second of all the tenant's API keys together; over it, 429
                `rate_limited`.
    """

    devices: int
    pushes_per_day: int
    requests_per_second: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        devices = self.devices

        pushes_per_day = self.pushes_per_day

        requests_per_second = self.requests_per_second

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "devices": devices,
                "pushes_per_day": pushes_per_day,
                "requests_per_second": requests_per_second,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        devices = d.pop("devices")

        pushes_per_day = d.pop("pushes_per_day")

        requests_per_second = d.pop("requests_per_second")

        tenant_limits = cls(
            devices=devices,
            pushes_per_day=pushes_per_day,
            requests_per_second=requests_per_second,
        )

        tenant_limits.additional_properties = d
        return tenant_limits

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
