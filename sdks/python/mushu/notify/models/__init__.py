"""Contains all the data models used in inputs/outputs"""

from .alert import Alert
from .api_key import ApiKey
from .api_key_deleted import ApiKeyDeleted
from .api_key_list import ApiKeyList
from .batch_status import BatchStatus
from .bulk_notification_request import BulkNotificationRequest
from .bulk_notification_response import BulkNotificationResponse
from .bulk_notification_response_status import BulkNotificationResponseStatus
from .bulk_result import BulkResult
from .bulk_result_list import BulkResultList
from .bulk_result_outcome import BulkResultOutcome
from .bulk_status import BulkStatus
from .create_api_key_request import CreateApiKeyRequest
from .create_tenant_request import CreateTenantRequest
from .create_webhook_request import CreateWebhookRequest
from .created_api_key import CreatedApiKey
from .created_webhook import CreatedWebhook
from .delivery_result import DeliveryResult
from .device import Device
from .device_deleted import DeviceDeleted
from .device_list import DeviceList
from .device_token_type import DeviceTokenType
from .error import Error
from .fcm_service_account import FcmServiceAccount
from .get_api_key_usage_period import GetApiKeyUsagePeriod
from .get_tenant_usage_period import GetTenantUsagePeriod
from .health import Health
from .key_usage import KeyUsage
from .key_usage_period import KeyUsagePeriod
from .live_activity import LiveActivity
from .live_activity_event import LiveActivityEvent
from .notification import Notification
from .notification_priority_type_0 import NotificationPriorityType0
from .notification_push_type_type_0 import NotificationPushTypeType0
from .platform import Platform
from .register_device_request import RegisterDeviceRequest
from .scope import Scope
from .send_notification_request import SendNotificationRequest
from .send_notification_response import SendNotificationResponse
from .tenant import Tenant
from .tenant_deleted import TenantDeleted
from .tenant_limits import TenantLimits
from .tenant_list import TenantList
from .tenant_usage import TenantUsage
from .tenant_usage_period import TenantUsagePeriod
from .token_type_type_0 import TokenTypeType0
from .token_validation import TokenValidation
from .topic_list import TopicList
from .topic_subscribe_response import TopicSubscribeResponse
from .topic_subscribers_request import TopicSubscribersRequest
from .topic_unsubscribe_response import TopicUnsubscribeResponse
from .update_tenant_request import UpdateTenantRequest
from .usage_bucket import UsageBucket
from .user_verification_deleted import UserVerificationDeleted
from .user_verification_secret import UserVerificationSecret
from .web_push_keys import WebPushKeys
from .web_push_settings import WebPushSettings
from .web_push_subscription import WebPushSubscription
from .webhook import Webhook
from .webhook_deleted import WebhookDeleted
from .webhook_delivery import WebhookDelivery
from .webhook_delivery_list import WebhookDeliveryList
from .webhook_event_type import WebhookEventType
from .webhook_list import WebhookList

__all__ = (
    "Alert",
    "ApiKey",
    "ApiKeyDeleted",
    "ApiKeyList",
    "BatchStatus",
    "BulkNotificationRequest",
    "BulkNotificationResponse",
    "BulkNotificationResponseStatus",
    "BulkResult",
    "BulkResultList",
    "BulkResultOutcome",
    "BulkStatus",
    "CreateApiKeyRequest",
    "CreateTenantRequest",
    "CreateWebhookRequest",
    "CreatedApiKey",
    "CreatedWebhook",
    "DeliveryResult",
    "Device",
    "DeviceDeleted",
    "DeviceList",
    "DeviceTokenType",
    "Error",
    "FcmServiceAccount",
    "GetApiKeyUsagePeriod",
    "GetTenantUsagePeriod",
    "Health",
    "KeyUsage",
    "KeyUsagePeriod",
    "LiveActivity",
    "LiveActivityEvent",
    "Notification",
    "NotificationPriorityType0",
    "NotificationPushTypeType0",
    "Platform",
    "RegisterDeviceRequest",
    "Scope",
    "SendNotificationRequest",
    "SendNotificationResponse",
    "Tenant",
    "TenantDeleted",
    "TenantLimits",
    "TenantList",
    "TenantUsage",
    "TenantUsagePeriod",
    "TokenTypeType0",
    "TokenValidation",
    "TopicList",
    "TopicSubscribeResponse",
    "TopicSubscribersRequest",
    "TopicUnsubscribeResponse",
    "UpdateTenantRequest",
    "UsageBucket",
    "UserVerificationDeleted",
    "UserVerificationSecret",
    "WebPushKeys",
    "WebPushSettings",
    "WebPushSubscription",
    "Webhook",
    "WebhookDeleted",
    "WebhookDelivery",
    "WebhookDeliveryList",
    "WebhookEventType",
    "WebhookList",
)
