// Sends one alert to N distinct APNs tokens through Parse Server's push
// adapter (@parse/push-adapter, pinned in package.json), pointed at the push
// simulator through its documented `ios` options, and prints one JSON line:
// {"devices", "chunk", "seconds", "transmitted", "failed", "peak_rss_kib"}.
//
//   node send.mjs SETTINGS.json
//
// SETTINGS: {"address", "port", "key_file", "key_id", "team_id", "topic",
// "devices", "chunk", "admin_url"}; chunk = devices is the adapter as it ships (one
// `send` for every device), smaller chunks are awaited one after another.
import { readFileSync } from 'node:fs';
import ParsePushAdapter from '@parse/push-adapter';

const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const adapter = new ParsePushAdapter({
  ios: {
    token: { key: settings.key_file, keyId: settings.key_id, teamId: settings.team_id },
    topic: settings.topic,
    production: true,
    address: settings.address,
    port: settings.port,
    rejectUnauthorized: false,
  },
});

// The engine's alert (bench/src/scenario.rs), in Parse's push body form.
const body = {
  data: {
    alert: { title: 'Your order has shipped', body: 'Order #12345 will arrive on Tuesday.' },
    badge: 1,
    sound: 'default',
    order_id: '12345',
    screen: 'orders',
  },
};

const token = (n) => n.toString(16).padStart(64, '0');
const installations = (from, count) =>
  Array.from({ length: count }, (_, i) => ({
    deviceType: 'ios',
    deviceToken: token(from + i),
    appIdentifier: settings.topic,
  }));

function tally(results, into) {
  for (const result of results || []) {
    if (result.transmitted) into.transmitted += 1;
    else into.failed += 1;
  }
}

// Warm-up, as a warm server has: the connection open, the provider token signed.
await adapter.send(body, installations(10_000_000, 100));
// The simulator counts from here, as push-bench has it count.
await fetch(`${settings.admin_url}/admin/reset`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: '{}',
});

const counts = { transmitted: 0, failed: 0 };
const chunk = Math.max(1, settings.chunk || settings.devices);
const started = process.hrtime.bigint();
for (let from = 0; from < settings.devices; from += chunk) {
  const count = Math.min(chunk, settings.devices - from);
  tally(await adapter.send(body, installations(from, count)), counts);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;

console.log(JSON.stringify({
  devices: settings.devices,
  chunk,
  seconds,
  transmitted: counts.transmitted,
  failed: counts.failed,
  // Kilobytes on Linux, the whole process's peak.
  peak_rss_kib: process.resourceUsage().maxRSS,
}));
// node-apn keeps its HTTP/2 sessions open; nothing else is pending.
process.exit(0);
