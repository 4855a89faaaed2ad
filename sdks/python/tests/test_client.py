"""Tests of the hand-written mushu.client(): the headers and URL it sends."""

import os
import unittest
from unittest import mock

import httpx
import mushu
from mushu.notify.api.health import health
from mushu.notify.api.push import send_notification
from mushu.notify.models import Alert, Error, SendNotificationRequest


def recording(client, answer_status=200, answer_body=None):
    """Routes the client's requests to a recorder; returns the list of requests."""
    seen = []

    def handle(request):
        seen.append(request)
        return httpx.Response(answer_status, json=answer_body or {"status": "ok", "service": "notify", "version": "1"})

    client.set_httpx_client(httpx.Client(base_url=client._base_url, headers=client.get_httpx_client().headers,
                                         transport=httpx.MockTransport(handle)))
    return seen


class Client(unittest.TestCase):
    def test_an_api_key_travels_as_x_api_key_and_nothing_else(self):
        client = mushu.client("notify", api_key="msk_live_abc", base_url="http://notify.test/")
        seen = recording(client)
        health.sync(client=client)
        self.assertEqual(seen[0].headers["X-API-Key"], "msk_live_abc")
        self.assertNotIn("Authorization", seen[0].headers)
        self.assertEqual(str(seen[0].url), "http://notify.test/health")

    def test_a_user_token_travels_as_a_bearer_token(self):
        client = mushu.client("notify", token="eyJ.x.y", base_url="http://notify.test")
        seen = recording(client)
        health.sync(client=client)
        self.assertEqual(seen[0].headers["Authorization"], "Bearer eyJ.x.y")
        self.assertNotIn("X-API-Key", seen[0].headers)

    def test_the_api_key_wins_when_both_are_given(self):
        client = mushu.client("notify", api_key="msk_live_abc", token="eyJ.x.y", base_url="http://notify.test")
        seen = recording(client)
        health.sync(client=client)
        self.assertEqual(seen[0].headers["X-API-Key"], "msk_live_abc")
        self.assertNotIn("Authorization", seen[0].headers)

    def test_the_base_url_comes_from_mushu_notify_url_without_an_argument(self):
        with mock.patch.dict(os.environ, {"MUSHU_NOTIFY_URL": "http://from-env.test"}):
            client = mushu.client("notify", api_key="msk_live_abc")
        seen = recording(client)
        health.sync(client=client)
        self.assertEqual(str(seen[0].url), "http://from-env.test/health")

    def test_without_a_base_url_it_says_which_variable_to_set(self):
        with mock.patch.dict(os.environ, {}, clear=True):
            with self.assertRaisesRegex(ValueError, "MUSHU_NOTIFY_URL"):
                mushu.client("notify", api_key="msk_live_abc")

    def test_an_unknown_service_is_refused(self):
        with self.assertRaisesRegex(ValueError, "unknown service 'pay'"):
            mushu.client("pay", base_url="http://x.test")

    def test_an_error_answer_is_parsed_into_the_error_model(self):
        client = mushu.client("notify", api_key="msk_live_abc", base_url="http://notify.test")
        recording(client, 403, {"detail": "this API key lacks the `send` scope", "code": "forbidden"})
        response = send_notification.sync_detailed(
            tenant_id="tnt_00000000000000000000",
            client=client,
            body=SendNotificationRequest(user_id="user-123", alert=Alert(title="Hi")),
        )
        self.assertEqual(response.status_code, 403)
        self.assertIsInstance(response.parsed, Error)
        self.assertEqual(response.parsed.code, "forbidden")


if __name__ == "__main__":
    unittest.main()
