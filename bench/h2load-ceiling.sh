#!/usr/bin/env bash
# The HTTP/2 ceiling of this machine: h2load sending the engine's exact APNs
# and FCM requests (same payload bytes, valid tokens) to the push simulator.
# push-bench's numbers are meant to be read against these.
#
#   bench/h2load-ceiling.sh                 # 200,000 requests per provider
#   N=500000 CLIENTS=4 STREAMS=100 bench/h2load-ceiling.sh
set -euo pipefail

cd "$(dirname "$0")/.."
N="${N:-200000}"
CLIENTS="${CLIENTS:-4}"
STREAMS="${STREAMS:-100}"
THREADS="${THREADS:-1}"
BIN="${CARGO_TARGET_DIR:-target}/release"

if ! command -v h2load >/dev/null 2>&1; then
    echo "installing nghttp2-client (h2load)..." >&2
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq nghttp2-client >/dev/null
fi

cargo build --release -p push-simulator -p notify-bench

WORK="$(mktemp -d)"
"$BIN/push-simulator" --http-addr 127.0.0.1:0 --tls-addr 127.0.0.1:0 \
    --state-dir "$WORK" --log-level warn >"$WORK/announce" &
SIM_PID=$!
trap 'kill "$SIM_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

for _ in $(seq 100); do
    [ -s "$WORK/announce" ] && break
    sleep 0.1
done
field() { sed -E "s/.*\"$1\":\"([^\"]*)\".*/\1/" "$WORK/announce"; }
HTTP_URL="$(field http)"
TLS_URL="$(field tls)"
CA_FILE="$(field ca_pem)"

eval "$("$BIN/push-bench" --http-url "$HTTP_URL" --tls-url "$TLS_URL" --ca-file "$CA_FILE" \
    h2load-args --out-dir "$WORK")"

run() {
    local name="$1"
    shift
    echo "== $name: h2load -n $N -c $CLIENTS -m $STREAMS -t $THREADS"
    h2load -n "$N" -c "$CLIENTS" -m "$STREAMS" -t "$THREADS" "$@" | tee "$WORK/$name.out" |
        grep -E '^(finished in|requests:|status codes:)'
}

run apns-tls \
    -H "authorization: $APNS_AUTHORIZATION" -H "apns-topic: $APNS_TOPIC" \
    -H "apns-push-type: alert" -H "apns-priority: 10" \
    -d "$APNS_BODY" "$TLS_URL$APNS_PATH"

run fcm-tls \
    -H "authorization: $FCM_AUTHORIZATION" -H "content-type: application/json" \
    -d "$FCM_BODY" "$TLS_URL$FCM_PATH"

run apns-h2c \
    -H "authorization: $APNS_AUTHORIZATION" -H "apns-topic: $APNS_TOPIC" \
    -H "apns-push-type: alert" -H "apns-priority: 10" \
    -d "$APNS_BODY" "$HTTP_URL$APNS_PATH"
