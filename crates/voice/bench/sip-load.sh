#!/usr/bin/env bash
# SIP load benchmark of the voice shell with sipp on loopback (not a test).
#
#   crates/voice/bench/sip-load.sh setup  [rates...]   # (a) call setup rate
#   crates/voice/bench/sip-load.sh bridge [counts...]  # (b) concurrent bridged calls
#
# (a) each call: trunk INVITE -> answer -> 2 s prompt -> platform BYE. For each
#     rate (calls/s) it places rate*10 calls and prints successful/failed calls
#     and the server's CPU % and RSS.
# (b) N concurrent calls, caller (10 s of PCMA from a pcap) bridged to one sipp
#     agent (PCMU, -rtp_echo): prints relay loss (packets), CPU % and RSS/call.
#
# Needs: Debian sip-tester (sipp 3.6.1), python3. Builds the bench_server
# example of the voice crate in release mode.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
crate="$(cd "$here/.." && pwd)"
mode="${1:-setup}"; shift || true
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" "${agent_pid:-}" 2>/dev/null || true; [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"' EXIT

cargo build --release -q -p voice --example bench_server --manifest-path "$crate/Cargo.toml"
bin="$(cd "$crate" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/examples/bench_server"

sip_port=15060
trunk_ip=127.0.0.2
prompt="$work/prompt.wav"
python3 - "$prompt" <<'EOF'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(6000 * math.sin(2 * math.pi * 440 * i / 8000))) for i in range(16000)))
w.close()
EOF

proc_usage() { # pid -> "cpu_ticks rss_kb"
  local pid=$1
  awk '{print $14+$15}' "/proc/$pid/stat" | tr '\n' ' '
  awk '/VmRSS/ {print $2}' "/proc/$pid/status"
}

start_server() {
  "$bin" "127.0.0.1:$sip_port" "$trunk_ip" "$@" >"$work/server.out" 2>"$work/server.err" &
  server_pid=$!
  for _ in $(seq 50); do grep -q listening "$work/server.err" 2>/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2; exit 1
}

stop_server() { # also runs inside $(...), where `wait` cannot see the server
  kill -INT "$server_pid"
  for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  cat "$work/server.out"
}

sipp_stats() { # csv -> "successful failed"
  python3 - "$1" <<'EOF'
import sys
rows = [l.rstrip("\n").split(";") for l in open(sys.argv[1]) if l.strip()]
h, last = rows[0], rows[-1]
print(last[h.index("SuccessfulCall(C)")], last[h.index("FailedCall(C)")])
EOF
}

hz=$(getconf CLK_TCK)
case "$mode" in
setup)
  rates=("$@"); [ ${#rates[@]} -gt 0 ] || rates=(10 25 50 100 200)
  for rate in "${rates[@]}"; do
    start_server ivr "$prompt"
    read -r t0 _ < <(proc_usage "$server_pid"); s0=$(date +%s.%N)
    calls=$((rate * 10))
    (cd "$work" && sipp "127.0.0.1:$sip_port" -sf "$here/ivr_caller.xml" -s 3900 -i "$trunk_ip" -p 25060 -mp 26000 \
      -r "$rate" -m "$calls" -l $((rate * 6)) -timeout 120s -nostdin -trace_stat -stf stat.csv -fd 1 >/dev/null 2>&1) || true
    read -r t1 rss < <(proc_usage "$server_pid"); s1=$(date +%s.%N)
    read -r ok failed < <(sipp_stats "$work/stat.csv")
    cpu=$(python3 -c "print(round(100*($t1-$t0)/$hz/($s1-$s0),1))")
    echo "setup rate=${rate}cps calls=$calls ok=$ok failed=$failed server_cpu=${cpu}% rss=${rss}kB | $(stop_server)"
    rm -f "$work/stat.csv"
  done
  ;;
bridge)
  counts=("$@"); [ ${#counts[@]} -gt 0 ] || counts=(10 50 100)
  for n in "${counts[@]}"; do
    start_server bridge
    (cd "$crate/tests/sipp" && sipp "127.0.0.1:$sip_port" -sf register.xml -s 2001 -au 2001 -ap agentpw \
      -p 35060 -m 1 -timeout 10s -nostdin >/dev/null 2>&1)
    (cd "$crate/tests/sipp" && exec sipp "127.0.0.1:$sip_port" -sf agent_uas.xml -p 35060 -mp 36000 -rtp_echo \
      -timeout 120s -nostdin >/dev/null 2>&1) &
    agent_pid=$!
    read -r t0 rss0 < <(proc_usage "$server_pid"); s0=$(date +%s.%N)
    # All n calls within 1 s, each lasting ~11 s: peak concurrency n.
    (cd "$crate/tests/sipp" && exec sipp "127.0.0.1:$sip_port" -sf "$here/bridge_caller.xml" -s 3900 -i "$trunk_ip" \
      -p 25060 -mp 26000 -r "$n" -m "$n" -l "$n" -timeout 60s -nostdin -trace_stat -stf "$work/stat.csv" -fd 1 \
      >/dev/null 2>&1) &
    caller_pid=$!
    sleep 6   # mid-call sample of the server's memory
    read -r _ rss_mid < <(proc_usage "$server_pid")
    wait "$caller_pid" || true
    read -r t1 _ < <(proc_usage "$server_pid"); s1=$(date +%s.%N)
    kill "$agent_pid" 2>/dev/null || true; wait "$agent_pid" 2>/dev/null || true
    read -r ok failed < <(sipp_stats "$work/stat.csv")
    cpu=$(python3 -c "print(round(100*($t1-$t0)/$hz/($s1-$s0),1))")
    per_call=$(python3 -c "print(round(($rss_mid-$rss0)/max($n,1),1))")
    # bridge_caller.xml sends 5 x 100 packets per call; the agent echoes them.
    echo "bridge calls=$n ok=$ok failed=$failed expected_caller_rx=$((n * 500)) server_cpu=${cpu}% rss_per_call=${per_call}kB | $(stop_server)"
    rm -f "$work/stat.csv"
  done
  ;;
*) echo "usage: $0 setup [rates...] | bridge [counts...]" >&2; exit 2 ;;
esac
