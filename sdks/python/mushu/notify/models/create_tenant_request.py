from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.fcm_service_account import FcmServiceAccount
    from ..models.web_push_settings import WebPushSettings


T = TypeVar("T", bound="CreateTenantRequest")


@_attrs_define
class CreateTenantRequest:
    """APNs fields (`bundle_id`, `team_id`, `key_id`, `private_key`) come all together or not at all (`null` is the same as
    absent).

        Attributes:
            bundle_id (None | str | Unset): The app's bundle identifier, the APNs topic (reverse DNS).
            fcm_service_account (FcmServiceAccount | None | str | Unset): The FCM service-account JSON, as an object or as a
                string holding it; one Google does not issue is 400 `invalid_credentials`. Never returned.
            key_id (None | str | Unset): APNs key ID (10 upper-case letters and digits).
            org_id (None | str | Unset): The org to create the tenant in (1 to 128 characters without control characters,
                white space or `#`); default the caller's personal org (`sub`).
            private_key (None | str | Unset): The APNs `.p8` file's contents (P-256, PKCS#8 PEM); anything else is 400
                `invalid_credentials`. Never returned.
            team_id (None | str | Unset): Apple Developer Team ID (10 upper-case letters and digits).
            use_sandbox (bool | None | Unset): APNs sandbox (development builds) rather than production. Default true.
            web_push (None | Unset | WebPushSettings):
    """

    bundle_id: None | str | Unset = UNSET
    fcm_service_account: FcmServiceAccount | None | str | Unset = UNSET
    key_id: None | str | Unset = UNSET
    org_id: None | str | Unset = UNSET
    private_key: None | str | Unset = UNSET
    team_id: None | str | Unset = UNSET
    use_sandbox: bool | None | Unset = UNSET
    web_push: None | Unset | WebPushSettings = UNSET

    def to_dict(self) -> dict[str, Any]:
        from ..models.fcm_service_account import FcmServiceAccount
        from ..models.web_push_settings import WebPushSettings

        bundle_id: None | str | Unset
        if isinstance(self.bundle_id, Unset):
            bundle_id = UNSET
        else:
            bundle_id = self.bundle_id

        fcm_service_account: dict[str, Any] | None | str | Unset
        if isinstance(self.fcm_service_account, Unset):
            fcm_service_account = UNSET
        elif isinstance(self.fcm_service_account, FcmServiceAccount):
            fcm_service_account = self.fcm_service_account.to_dict()
        else:
            fcm_service_account = self.fcm_service_account

        key_id: None | str | Unset
        if isinstance(self.key_id, Unset):
            key_id = UNSET
        else:
            key_id = self.key_id

        org_id: None | str | Unset
        if isinstance(self.org_id, Unset):
            org_id = UNSET
        else:
            org_id = self.org_id

        private_key: None | str | Unset
        if isinstance(self.private_key, Unset):
            private_key = UNSET
        else:
            private_key = self.private_key

        team_id: None | str | Unset
        if isinstance(self.team_id, Unset):
            team_id = UNSET
        else:
            team_id = self.team_id

        use_sandbox: bool | None | Unset
        if isinstance(self.use_sandbox, Unset):
            use_sandbox = UNSET
        else:
            use_sandbox = self.use_sandbox

        web_push: dict[str, Any] | None | Unset
        if isinstance(self.web_push, Unset):
            web_push = UNSET
        elif isinstance(self.web_push, WebPushSettings):
            web_push = self.web_push.to_dict()
        else:
            web_push = self.web_push

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if bundle_id is not UNSET:
            field_dict["bundle_id"] = bundle_id
        if fcm_service_account is not UNSET:
            field_dict["fcm_service_account"] = fcm_service_account
        if key_id is not UNSET:
            field_dict["key_id"] = key_id
        if org_id is not UNSET:
            field_dict["org_id"] = org_id
        if private_key is not UNSET:
            field_dict["private_key"] = private_key
        if team_id is not UNSET:
            field_dict["team_id"] = team_id
        if use_sandbox is not UNSET:
            field_dict["use_sandbox"] = use_sandbox
        if web_push is not UNSET:
            field_dict["web_push"] = web_push

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.fcm_service_account import FcmServiceAccount
        from ..models.web_push_settings import WebPushSettings

        d = dict(src_dict)

        def _parse_bundle_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        bundle_id = _parse_bundle_id(d.pop("bundle_id", UNSET))

        def _parse_fcm_service_account(
            data: object,
        ) -> FcmServiceAccount | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                fcm_service_account_type_0 = FcmServiceAccount.from_dict(data)

                return fcm_service_account_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(FcmServiceAccount | None | str | Unset, data)

        fcm_service_account = _parse_fcm_service_account(
            d.pop("fcm_service_account", UNSET)
        )

        def _parse_key_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        key_id = _parse_key_id(d.pop("key_id", UNSET))

        def _parse_org_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        org_id = _parse_org_id(d.pop("org_id", UNSET))

        def _parse_private_key(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        private_key = _parse_private_key(d.pop("private_key", UNSET))

        def _parse_team_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        team_id = _parse_team_id(d.pop("team_id", UNSET))

        def _parse_use_sandbox(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        use_sandbox = _parse_use_sandbox(d.pop("use_sandbox", UNSET))

        def _parse_web_push(data: object) -> None | Unset | WebPushSettings:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                web_push_type_0 = WebPushSettings.from_dict(data)

                return web_push_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | WebPushSettings, data)

        web_push = _parse_web_push(d.pop("web_push", UNSET))

        create_tenant_request = cls(
            bundle_id=bundle_id,
            fcm_service_account=fcm_service_account,
            key_id=key_id,
            org_id=org_id,
            private_key=private_key,
            team_id=team_id,
            use_sandbox=use_sandbox,
            web_push=web_push,
        )

        return create_tenant_request
