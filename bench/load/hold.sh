#!/usr/bin/env bash
# Concurrent calls through the whole product (issue 13): `switchboard serve`
# (demo configuration, SQLite in a temporary data dir, or PostgreSQL with
# DATABASE_URL), AGENTS agents provisioned through the REST API (their phones
# get SIP passwords from POST /api/v1/agents/{id}/sip-password, register from
# one sipp and answer with RTP echo), then for each level, callers to DID 3902
# (queue `general`) ramp up at RATE calls/s and each talks (2 s of A-law tone
# every 2 s) long enough that LEVEL calls are up at once. Not a test.
#
#   bench/load/hold.sh [levels...]          # default: 500 1000 2000
#
# Prints per level: calls ok/failed (sipp), average INVITE->200, the peak of
# calls up (waiting + agents busy, from /api/v1/stats/queues), calls bridged to
# agents and abandoned, the receive loss the platform measured on caller and
# agent legs (RTP, RFC 3550; 0 % = every packet arrived), server CPU and RSS,
# and the engine loop's inputs/s, average handling time and the share of
# time it waited on voice commands, the event writer and the store lane
# (the switchboard_engine_* counters of /metrics).
#
# Env: AGENTS (default 500), RATE (calls/s of the ramp, default 100),
# TALK_S (s each call stays up after the ramp, default 20), DATABASE_URL
# (postgres://...; default SQLite), PROFILE (release|dev), BIN, KEEP=1.
# Needs: Debian sip-tester (sipp 3.6), python3, curl.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
levels=("$@"); [ ${#levels[@]} -gt 0 ] || levels=(500 1000 2000)
agents="${AGENTS:-500}"
rate="${RATE:-100}"
talk_s="${TALK_S:-20}"
profile="${PROFILE:-release}"
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" "${uas_pid:-}" 2>/dev/null || true; [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"' EXIT

if [ -z "${BIN:-}" ]; then
  cargo build -q --profile "$profile" -p switchboard --manifest-path "$root/Cargo.toml"
  dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
  target="$(cd "$root" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  BIN="$target/$dir/switchboard"
fi

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
sip_port=$(free_port)
base="http://127.0.0.1:$http_port"
hz=$(getconf CLK_TCK)
db_env=()
[ -n "${DATABASE_URL:-}" ] && db_env=(SWITCHBOARD_DATABASE__URL="$DATABASE_URL")

# No OPTIONS qualify (the one sipp answering for every agent would take each
# OPTIONS for a new call); no limit on calls in setup below the levels.
(cd "$root" && exec env "${db_env[@]}" SWITCHBOARD_DATA_DIR="$work/data" \
  SWITCHBOARD_HTTP__LISTEN="127.0.0.1:$http_port" SWITCHBOARD_SIP__LISTEN="127.0.0.1:$sip_port" \
  SWITCHBOARD_SIP__QUALIFY_INTERVAL_S=0 RUST_LOG="${RUST_LOG:-warn}" \
  "$BIN" serve >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 300); do
  curl -fs "$base/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
admin_pw=$(awk '$1=="admin" && $2=="admin"{print $3}' "$work/data/demo-credentials.txt")
P="python3 $here/provision.py"

backend=$([ -n "${DATABASE_URL:-}" ] && echo PostgreSQL || echo SQLite)
echo "switchboard serve: $BIN ($backend), $agents agents, ramp $rate calls/s, +$talk_s s talk"
t0=$(date +%s.%N)
$P agents "$base" "$admin_pw" "$agents" "$work/agents.csv" "$work/tokens"
agent_port=$(free_port)
(cd "$work" && sipp "127.0.0.1:$sip_port" -sf "$here/register_inf.xml" -inf "$work/agents.csv" \
   -i 127.0.0.1 -p "$agent_port" -m "$agents" -r 100 -timeout 120s -nostdin \
   -trace_err >/dev/null 2>&1) || { echo "agent phones did not all register" >&2; cat "$work"/*errors.log | head -40 >&2; exit 1; }
$P acd-login "$base" "$work/tokens"
echo "provisioned, registered and logged in $agents agents in $(python3 -c "print(round($(date +%s.%N)-$t0,1))") s"
(cd "$work" && exec sipp "127.0.0.1:$sip_port" -sf "$here/agent_answer.xml" -i 127.0.0.1 -p "$agent_port" \
   -mp 24000 -rtp_echo -nostdin -trace_err -bg >/dev/null 2>&1) || true
uas_pid=$(pgrep -n -f "agent_answer.xml" || true)

proc_usage() { awk '{print $14+$15}' "/proc/$1/stat" | tr '\n' ' '; awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

for level in "${levels[@]}"; do
  run="$work/c$level"; mkdir -p "$run"
  ramp_s=$(( (level + rate - 1) / rate ))
  loops=$(( (ramp_s + talk_s + 1) / 2 ))
  sed "s/@LOOPS@/$loops/" "$here/caller_hold.xml" >"$run/caller_hold.xml"
  after=$($P last-seq "$base" "$admin_pw")
  curl -fs "$base/metrics" >"$run/metrics0" || true
  read -r c0 _ < <(proc_usage "$server_pid"); s0=$(date +%s.%N)
  (cd "$root/crates/voice/tests/sipp" && sipp "127.0.0.1:$sip_port" -sf "$run/caller_hold.xml" -s 3902 \
     -i 127.0.0.1 -p "$(free_port)" -mp "$((26000 + level))" -r "$rate" -m "$level" -l "$level" \
     -timeout $((ramp_s + talk_s + 120))s -nostdin -trace_stat -stf "$run/stat.csv" -fd 1 \
     -trace_err -error_file "$run/errors.log" >/dev/null 2>&1) &
  sipp_pid=$!
  # Peak of calls up, sampled every second while the callers run.
  peak=0; peak_rss=0
  while kill -0 "$sipp_pid" 2>/dev/null; do
    up=$($P live "$base" "$admin_pw" | python3 -c 'import json,sys; q=json.load(sys.stdin); print(int(q.get("waiting",0))+int(q.get("agents_busy",0)))' 2>/dev/null || echo 0)
    [ "$up" -gt "$peak" ] && peak=$up
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"); [ "$rss" -gt "$peak_rss" ] && peak_rss=$rss
    sleep 1
  done
  wait "$sipp_pid" || true
  read -r c1 _ < <(proc_usage "$server_pid"); s1=$(date +%s.%N)
  curl -fs "$base/metrics" >"$run/metrics1" || true
  engine=$(python3 - "$run/metrics0" "$run/metrics1" "$(python3 -c "print($s1-$s0)")" <<'PY'
import re, sys
def read(f):
    out = {}
    for l in open(f):
        m = re.match(r'^(switchboard_engine_\w+)(\{[^}]*\})? ([0-9.e+]+)$', l.strip())
        if m:
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out
a, b, secs = read(sys.argv[1]), read(sys.argv[2]), float(sys.argv[3])
d = lambda k: b.get(k, 0) - a.get(k, 0)
n = d("switchboard_engine_inputs_total")
parts = [f"engine_inputs={n / secs:.0f}/s",
         f"engine_handle_avg={d('switchboard_engine_handle_microseconds_total') / max(n, 1):.0f}us"]
for on in ("voice", "writer", "store_lane"):
    busy = d(f'switchboard_engine_wait_microseconds_total{{on="{on}"}}') / 1e6 / secs
    parts.append(f"engine_waits_on_{on}={100 * busy:.0f}%")
print(" ".join(parts))
PY
)
  cpu=$(python3 -c "print(round(100*($c1-$c0)/$hz/($s1-$s0),1))")
  # The ends' media_quality events follow the BYEs: give them a moment.
  sleep 3
  sip=$(python3 - "$run/stat.csv" <<'PY'
import sys
rows = [l.rstrip("\n").split(";") for l in open(sys.argv[1]) if l.strip()]
h, last = rows[0], rows[-1]
col = lambda n: last[h.index(n)]
def ms(v):
    p = v.split(":")
    return (int(p[0]) * 3600 + int(p[1]) * 60 + int(p[2])) * 1000 + int(p[3]) / 1000
print(f"ok={col('SuccessfulCall(C)')} failed={col('FailedCall(C)')} retrans={col('Retransmissions(C)')} "
      f"avg_invite_200={ms(col('ResponseTime1(C)')):.1f}ms")
PY
)
  out=$($P outcome "$base" "$admin_pw" "$after")
  echo "level=$level $sip peak_up=$peak $out server_cpu=${cpu}% peak_rss=${peak_rss}kB $engine"
done
