from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.scope import Scope

T = TypeVar("T", bound="ApiKey")


@_attrs_define
class ApiKey:
    """An API key as listed; never the key, never its hash.

    Attributes:
        created_at (datetime.datetime):
        key_id (str):
        last_used_at (datetime.datetime | None): Last authenticated use, to within an hour.
        name (str):
        prefix (str):
        rate_limit (int): Requests per second the key may make.
        requests_24h (int): Requests made with the key in the last 24 hours (hour buckets).
        scopes (list[Scope]):
        unusual_activity (bool): True while the current hour's requests exceed ten times the key's hourly mean over the
            7 days before, and 100: a key that may have leaked. See its usage for the details.
    """

    created_at: datetime.datetime
    key_id: str
    last_used_at: datetime.datetime | None
    name: str
    prefix: str
    rate_limit: int
    requests_24h: int
    scopes: list[Scope]
    unusual_activity: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        key_id = self.key_id

        last_used_at: None | str
        if isinstance(self.last_used_at, datetime.datetime):
            last_used_at = self.last_used_at.isoformat()
        else:
            last_used_at = self.last_used_at

        name = self.name

        prefix = self.prefix

        rate_limit = self.rate_limit

        requests_24h = self.requests_24h

        scopes = []
        for scopes_item_data in self.scopes:
            scopes_item = scopes_item_data.value
            scopes.append(scopes_item)

        unusual_activity = self.unusual_activity

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "key_id": key_id,
                "last_used_at": last_used_at,
                "name": name,
                "prefix": prefix,
                "rate_limit": rate_limit,
                "requests_24h": requests_24h,
                "scopes": scopes,
                "unusual_activity": unusual_activity,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        key_id = d.pop("key_id")

        def _parse_last_used_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_used_at_type_0 = datetime.datetime.fromisoformat(data)

                return last_used_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        last_used_at = _parse_last_used_at(d.pop("last_used_at"))

        name = d.pop("name")

        prefix = d.pop("prefix")

        rate_limit = d.pop("rate_limit")

        requests_24h = d.pop("requests_24h")

        scopes = []
        _scopes = d.pop("scopes")
        for scopes_item_data in _scopes:
            scopes_item = Scope(scopes_item_data)

            scopes.append(scopes_item)

        unusual_activity = d.pop("unusual_activity")

        api_key = cls(
            created_at=created_at,
            key_id=key_id,
            last_used_at=last_used_at,
            name=name,
            prefix=prefix,
            rate_limit=rate_limit,
            requests_24h=requests_24h,
            scopes=scopes,
            unusual_activity=unusual_activity,
        )

        api_key.additional_properties = d
        return api_key

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
