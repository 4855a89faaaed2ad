from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.tenant_usage_period import TenantUsagePeriod

if TYPE_CHECKING:
    from ..models.usage_bucket import UsageBucket


T = TypeVar("T", bound="TenantUsage")


@_attrs_define
class TenantUsage:
    """
    Attributes:
        buckets (list[UsageBucket]):
        period (TenantUsagePeriod):
        tenant_id (str):
    """

    buckets: list[UsageBucket]
    period: TenantUsagePeriod
    tenant_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        buckets = []
        for buckets_item_data in self.buckets:
            buckets_item = buckets_item_data.to_dict()
            buckets.append(buckets_item)

        period = self.period.value

        tenant_id = self.tenant_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "buckets": buckets,
                "period": period,
                "tenant_id": tenant_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.usage_bucket import UsageBucket

        d = dict(src_dict)
        buckets = []
        _buckets = d.pop("buckets")
        for buckets_item_data in _buckets:
            buckets_item = UsageBucket.from_dict(buckets_item_data)

            buckets.append(buckets_item)

        period = TenantUsagePeriod(d.pop("period"))

        tenant_id = d.pop("tenant_id")

        tenant_usage = cls(
            buckets=buckets,
            period=period,
            tenant_id=tenant_id,
        )

        tenant_usage.additional_properties = d
        return tenant_usage

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
