#!/usr/bin/env bash
# Rate ladder of new IVR calls against the whole product (`switchboard serve`,
# demo configuration, SQLite in a temporary data dir), issue 13. Not a test.
#
#   bench/load/ladder.sh [rates...]        # default: 150 300 500 (calls/s)
#
# For each rate it places rate*DURATION calls with sipp (ivr_call.xml: INVITE
# to the IVR number, 2 s of prompt, caller hangs up) and prints: calls ok and
# failed, retransmissions, average and p99 INVITE->200 (ms), 503s received
# (and the server's sip_invites_shed_total so far, from /metrics), server CPU %
# and RSS. Each call has its own caller number (a new customer per call).
#
# Env: DURATION (s of calls per rate, default 10), DID (default 3900, the demo
# IVR `main`), PROFILE (cargo profile: release (default) or dev), BIN (a
# switchboard binary to use instead of building), KEEP=1 keeps the work dir.
# Needs: Debian sip-tester (sipp 3.6), python3, curl.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rates=("$@"); [ ${#rates[@]} -gt 0 ] || rates=(150 300 500)
duration="${DURATION:-10}"
did="${DID:-3900}"
profile="${PROFILE:-release}"
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" 2>/dev/null || true; [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"' EXIT

if [ -z "${BIN:-}" ]; then
  cargo build -q --profile "$profile" -p switchboard --manifest-path "$root/Cargo.toml"
  dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
  target="$(cd "$root" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
  BIN="$target/$dir/switchboard"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_port=$(free_port)
sip_port=$(free_port)
hz=$(getconf CLK_TCK)

(cd "$root" && SWITCHBOARD_DATA_DIR="$work/data" SWITCHBOARD_HTTP__LISTEN="127.0.0.1:$http_port" \
  SWITCHBOARD_SIP__LISTEN="127.0.0.1:$sip_port" RUST_LOG="${RUST_LOG:-warn}" \
  exec "$BIN" serve >"$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 300); do
  curl -fs "http://127.0.0.1:$http_port/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -fs "http://127.0.0.1:$http_port/health" >/dev/null || { echo "server did not start" >&2; exit 1; }

proc_usage() { # pid -> "cpu_ticks rss_kb"
  awk '{print $14+$15}' "/proc/$1/stat" | tr '\n' ' '
  awk '/VmRSS/ {print $2}' "/proc/$1/status"
}

echo "switchboard serve: $BIN (SQLite), DID $did, ${duration} s per rate"
for rate in "${rates[@]}"; do
  calls=$((rate * duration))
  run="$work/r$rate"; mkdir -p "$run"
  read -r t0 _ < <(proc_usage "$server_pid"); s0=$(date +%s.%N)
  (cd "$run" && sipp "127.0.0.1:$sip_port" -sf "$here/ivr_call.xml" -s "$did" -i 127.0.0.1 \
     -p "$(free_port)" -mp "$((20000 + rate * 2))" -r "$rate" -m "$calls" -l $((rate * 10)) \
     -timeout $((duration + 90))s -nostdin -trace_stat -stf stat.csv -fd 1 \
     -trace_rtt -rtt_freq 1 -trace_err >/dev/null 2>&1) || true
  read -r t1 rss < <(proc_usage "$server_pid"); s1=$(date +%s.%N)
  cpu=$(python3 -c "print(round(100*($t1-$t0)/$hz/($s1-$s0),1))")
  metrics=$(curl -fs "http://127.0.0.1:$http_port/metrics" || true)
  shed=$(awk '$1=="sip_invites_shed_total"{print $2}' <<<"$metrics"); shed=${shed:-0}
  python3 - "$run" "$rate" "$cpu" "$rss" "$shed" <<'PY'
import glob, sys
run, rate, cpu, rss, shed_total = sys.argv[1:]
rows = [l.rstrip("\n").split(";") for l in open(f"{run}/stat.csv") if l.strip()]
h, last = rows[0], rows[-1]
col = lambda n: last[h.index(n)]
def ms(v):  # sipp time "hh:mm:ss:usec"
    p = v.split(":")
    return (int(p[0]) * 3600 + int(p[1]) * 60 + int(p[2])) * 1000 + int(p[3]) / 1000
rtt = []
for f in glob.glob(f"{run}/*_rtt.csv"):
    for l in open(f):
        p = l.strip().split(";")
        if len(p) >= 3 and p[2].strip() == "1":
            try: rtt.append(float(p[1]))
            except ValueError: pass
rtt.sort()
p99 = rtt[min(len(rtt) - 1, int(len(rtt) * 0.99))] if rtt else float("nan")
# sipp keeps whole milliseconds: the mean of the per-call RTDs is finer than
# its own cumulative average (which truncates each call).
avg = sum(rtt) / len(rtt) if rtt else ms(col("ResponseTime1(C)"))
err = "".join(open(f, errors="replace").read() for f in glob.glob(f"{run}/*_errors.log"))
shed = err.count("SIP/2.0 503")
print(f"rate={rate}cps ok={col('SuccessfulCall(C)')} failed={col('FailedCall(C)')} "
      f"retrans={col('Retransmissions(C)')} avg_invite_200={avg:.2f}ms "
      f"p99_invite_200={p99:.1f}ms 503s={shed} shed_total={shed_total} "
      f"server_cpu={cpu}% rss={rss}kB")
PY
done
