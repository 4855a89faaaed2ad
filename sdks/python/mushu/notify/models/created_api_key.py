from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.scope import Scope

T = TypeVar("T", bound="CreatedApiKey")


@_attrs_define
class CreatedApiKey:
    """The creation answer, the only one with the plain `key`.

    Attributes:
        created_at (datetime.datetime):
        key (str): The API key. Store it now; it is never shown again.
        key_id (str):
        name (str):
        prefix (str): The key's first 13 characters, shown in listings.
        rate_limit (int): Requests per second the key may make.
        scopes (list[Scope]):
    """

    created_at: datetime.datetime
    key: str
    key_id: str
    name: str
    prefix: str
    rate_limit: int
    scopes: list[Scope]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        key = self.key

        key_id = self.key_id

        name = self.name

        prefix = self.prefix

        rate_limit = self.rate_limit

        scopes = []
        for scopes_item_data in self.scopes:
            scopes_item = scopes_item_data.value
            scopes.append(scopes_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "key": key,
                "key_id": key_id,
                "name": name,
                "prefix": prefix,
                "rate_limit": rate_limit,
                "scopes": scopes,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        key = d.pop("key")

        key_id = d.pop("key_id")

        name = d.pop("name")

        prefix = d.pop("prefix")

        rate_limit = d.pop("rate_limit")

        scopes = []
        _scopes = d.pop("scopes")
        for scopes_item_data in _scopes:
            scopes_item = Scope(scopes_item_data)

            scopes.append(scopes_item)

        created_api_key = cls(
            created_at=created_at,
            key=key,
            key_id=key_id,
            name=name,
            prefix=prefix,
            rate_limit=rate_limit,
            scopes=scopes,
        )

        created_api_key.additional_properties = d
        return created_api_key

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
