// Sends one notification to N distinct browser subscriptions with the
// web-push library (pinned in package.json) the way a Node backend uses it:
// `webpush.sendNotification(subscription, payload, {vapidDetails, TTL,
// urgency, agent})`, many promises in flight over a keep-alive
// `https.Agent`, against the push simulator's Web Push service. Prints
// push-bench's result line and then one JSON line:
// {"devices", "in_flight", "seconds", "sent", "failed", "payload_bytes", "first_error"}.
//
//   node send.mjs SETTINGS.json
//
// SETTINGS: {"origin" (the simulator's TLS listener), "ca_pem", "admin_url",
// "devices", "in_flight", "warmup", "sim_pid" (optional: its CPU is shown)}.
import { createECDH, createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';

const webpush = createRequire(import.meta.url)('web-push');
const settings = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const inFlight = Math.max(1, settings.in_flight);

// The engine's notification (bench/src/scenario.rs) as its Web Push
// plaintext: the same bytes push-bench sends.
const payload = JSON.stringify({
  title: 'Your order has shipped',
  body: 'Order #12345 will arrive on Tuesday.',
  badge: 1,
  sound: 'default',
  data: { order_id: '12345', screen: 'orders' },
});

const vapidKeys = webpush.generateVAPIDKeys();
const options = {
  vapidDetails: {
    subject: 'mailto:bench@notify.example',
    publicKey: vapidKeys.publicKey,
    privateKey: vapidKeys.privateKey,
  },
  // What the engine sends for this notification: four weeks, high (visible).
  TTL: 2419200,
  urgency: 'high',
  // HTTP/1.1 keeps one request per socket: one socket per push in flight,
  // all kept open between sends (the default keeps 256 idle sockets and
  // would reconnect the rest after the warm-up).
  agent: new https.Agent({
    keepAlive: true,
    maxSockets: inFlight,
    maxFreeSockets: inFlight,
    ca: readFileSync(settings.ca_pem),
  }),
};

// Same endpoints as push-bench's (scenario::web_push_endpoint), each with
// its own P-256 key and auth secret, made before the clock starts.
const subscriptions = (from, count) =>
  Array.from({ length: count }, (_, i) => {
    const browser = createECDH('prime256v1');
    return {
      endpoint: `${settings.origin}/wp/bench-${String(from + i).padStart(7, '0')}`,
      keys: {
        p256dh: browser.generateKeys().toString('base64url'),
        auth: randomBytes(16).toString('base64url'),
      },
    };
  });

// Awaits every push with at most `inFlight` pending, as a backend's send
// loop with a concurrency limit does.
async function sendAll(targets) {
  const counts = { sent: 0, failed: 0, first_error: null };
  let next = 0;
  const lane = async () => {
    while (next < targets.length) {
      const subscription = targets[next++];
      try {
        await webpush.sendNotification(subscription, payload, options);
        counts.sent += 1;
      } catch (err) {
        counts.failed += 1;
        counts.first_error ??= `${err.statusCode ?? ''} ${err.body ?? err.message}`.trim();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, targets.length) }, lane));
  return counts;
}

// Warm-up, as a warm server has: the keep-alive sockets open.
const warm = await sendAll(subscriptions(9_000_000, settings.warmup ?? 2000));
if (warm.failed) {
  console.error(`warm-up push failed: ${warm.first_error}`);
  process.exit(1);
}
const targets = subscriptions(0, settings.devices);
// The simulator counts from here, as push-bench has it count.
await fetch(`${settings.admin_url}/admin/reset`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: '{}',
});

// User plus system CPU seconds of the simulator (Linux /proc, 100 ticks/s).
const simCpu = () => {
  if (!settings.sim_pid) return null;
  const stat = readFileSync(`/proc/${settings.sim_pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

const simBefore = simCpu();
const cpuBefore = process.cpuUsage();
const started = process.hrtime.bigint();
const counts = await sendAll(targets);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
const cpu = process.cpuUsage(cpuBefore);
const simAfter = simCpu();
const stats = await (await fetch(`${settings.admin_url}/stats`)).json();

console.log(
  `Webpush round 1: ${settings.devices} pushes in ${seconds.toFixed(3)} s = ` +
    `${Math.round(settings.devices / seconds).toString().padStart(7)} pushes/s; ` +
    `delivered ${counts.sent}, simulator accepted ${stats.accepted}, retried 0; ` +
    `CPU client ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s sim ` +
    (simBefore === null ? '-' : `${(simAfter - simBefore).toFixed(2)} s`),
);
console.log(JSON.stringify({
  devices: settings.devices,
  in_flight: inFlight,
  seconds,
  sent: counts.sent,
  failed: counts.failed,
  payload_bytes: Buffer.byteLength(payload),
  first_error: counts.first_error,
}));
// Like push-bench: a push not delivered fails the run, after the report.
// The agent keeps its sockets open; nothing else is pending.
process.exit(counts.sent === settings.devices && stats.accepted === settings.devices ? 0 : 1);
