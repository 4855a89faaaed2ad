from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.tenant_limits import TenantLimits


T = TypeVar("T", bound="Tenant")


@_attrs_define
class Tenant:
    """A tenant. Provider secrets are never part of it.

    Attributes:
        apns_configured (bool):
        bundle_id (None | str):
        created_at (datetime.datetime):
        created_by (str): The `sub` of the user who created it.
        fcm_configured (bool):
        fcm_project_id (None | str):
        key_id (None | str): The APNs key ID (not an API key).
        limits (TenantLimits): The tenant's limits, set by the deployment's operator (`notifyctl tenant-limits`, else
            the deployment's defaults), never through the API: `limits` in a tenant's creation or change answers 403.
        org_id (str): An org id, 1 to 128 characters without control characters, white space or `#`.
        team_id (None | str):
        tenant_id (str):
        updated_at (datetime.datetime):
        use_sandbox (bool):
        user_verification (bool | Unset): User verification is on (`POST /tenants/{tenant_id}/user-verification`): the
            tenant's `register` keys register devices, each for the user its `user_signature` proves. Off: they register
            none.
        vapid_public_key (None | str | Unset): Base64url of the VAPID public key (the 65-byte uncompressed P-256 point),
            the web app's `applicationServerKey`.
        web_push_configured (bool | Unset): The tenant has a VAPID key pair; `webpush` devices can be reached.
    """

    apns_configured: bool
    bundle_id: None | str
    created_at: datetime.datetime
    created_by: str
    fcm_configured: bool
    fcm_project_id: None | str
    key_id: None | str
    limits: TenantLimits
    org_id: str
    team_id: None | str
    tenant_id: str
    updated_at: datetime.datetime
    use_sandbox: bool
    user_verification: bool | Unset = UNSET
    vapid_public_key: None | str | Unset = UNSET
    web_push_configured: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        apns_configured = self.apns_configured

        bundle_id: None | str
        bundle_id = self.bundle_id

        created_at = self.created_at.isoformat()

        created_by = self.created_by

        fcm_configured = self.fcm_configured

        fcm_project_id: None | str
        fcm_project_id = self.fcm_project_id

        key_id: None | str
        key_id = self.key_id

        limits = self.limits.to_dict()

        org_id = self.org_id

        team_id: None | str
        team_id = self.team_id

        tenant_id = self.tenant_id

        updated_at = self.updated_at.isoformat()

        use_sandbox = self.use_sandbox

        user_verification = self.user_verification

        vapid_public_key: None | str | Unset
        if isinstance(self.vapid_public_key, Unset):
            vapid_public_key = UNSET
        else:
            vapid_public_key = self.vapid_public_key

        web_push_configured = self.web_push_configured

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "apns_configured": apns_configured,
                "bundle_id": bundle_id,
                "created_at": created_at,
                "created_by": created_by,
                "fcm_configured": fcm_configured,
                "fcm_project_id": fcm_project_id,
                "key_id": key_id,
                "limits": limits,
                "org_id": org_id,
                "team_id": team_id,
                "tenant_id": tenant_id,
                "updated_at": updated_at,
                "use_sandbox": use_sandbox,
            }
        )
        if user_verification is not UNSET:
            field_dict["user_verification"] = user_verification
        if vapid_public_key is not UNSET:
            field_dict["vapid_public_key"] = vapid_public_key
        if web_push_configured is not UNSET:
            field_dict["web_push_configured"] = web_push_configured

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.tenant_limits import TenantLimits

        d = dict(src_dict)
        apns_configured = d.pop("apns_configured")

        def _parse_bundle_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        bundle_id = _parse_bundle_id(d.pop("bundle_id"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        created_by = d.pop("created_by")

        fcm_configured = d.pop("fcm_configured")

        def _parse_fcm_project_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        fcm_project_id = _parse_fcm_project_id(d.pop("fcm_project_id"))

        def _parse_key_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        key_id = _parse_key_id(d.pop("key_id"))

        limits = TenantLimits.from_dict(d.pop("limits"))

        org_id = d.pop("org_id")

        def _parse_team_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        team_id = _parse_team_id(d.pop("team_id"))

        tenant_id = d.pop("tenant_id")

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        use_sandbox = d.pop("use_sandbox")

        user_verification = d.pop("user_verification", UNSET)

        def _parse_vapid_public_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        vapid_public_key = _parse_vapid_public_key(d.pop("vapid_public_key", UNSET))

        web_push_configured = d.pop("web_push_configured", UNSET)

        tenant = cls(
            apns_configured=apns_configured,
            bundle_id=bundle_id,
            created_at=created_at,
            created_by=created_by,
            fcm_configured=fcm_configured,
            fcm_project_id=fcm_project_id,
            key_id=key_id,
            limits=limits,
            org_id=org_id,
            team_id=team_id,
            tenant_id=tenant_id,
            updated_at=updated_at,
            use_sandbox=use_sandbox,
            user_verification=user_verification,
            vapid_public_key=vapid_public_key,
            web_push_configured=web_push_configured,
        )

        tenant.additional_properties = d
        return tenant

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
