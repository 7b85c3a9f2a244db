#!/usr/bin/env bash
# What one control-socket command costs while the daemon holds many sessions: l2tpd with the
# null data plane holds T static tunnels × S sessions (default 1,000 × 100 = 100,000), then
# `l2tpctl` (release builds) runs each command N times; the script prints the mean wall time
# per command in ms. A command that resolves one tunnel or session must not cost more with
# more sessions held; `show` (everything) and `metrics` are O(n) by nature and listed for
# scale.
#
# Usage: scripts/bench-control.sh [--tunnels T] [--sessions S] [--runs N]
# Environment: L2TPD, L2TPCTL: binaries to measure (default: this checkout's release build),
# so the same script measures an older build. Not part of CI. Loopback only: every tunnel is
# static with the null data plane (no socket is bound, nothing is sent).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
T=1000 S=100 N=20
while [[ $# -gt 0 ]]; do
    case "$1" in
        --tunnels) T=$2; shift 2 ;;
        --sessions) S=$2; shift 2 ;;
        --runs) N=$2; shift 2 ;;
        *) echo "usage: $0 [--tunnels T] [--sessions S] [--runs N]" >&2; exit 2 ;;
    esac
done
if [[ -z ${L2TPD:-} || -z ${L2TPCTL:-} ]]; then
    (cd "$REPO" && cargo build -q --release -p l2tpd -p l2tpctl)
    L2TPD=${L2TPD:-$REPO/target/release/l2tpd}
    L2TPCTL=${L2TPCTL:-$REPO/target/release/l2tpctl}
fi
DIR=$(mktemp -d)
PID=""
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT

# T static L2TPv3 tunnels, S Ethernet sessions each (IDs unique per host).
python3 - "$T" "$S" > "$DIR/l2tpd.toml" <<'PY'
import sys
t, s = int(sys.argv[1]), int(sys.argv[2])
out = []
for i in range(1, t + 1):
    out.append(f'[tunnel.t{i}]\nkind = "static"\nversion = "l2tpv3"\nlocal = "127.0.0.1:1701"\n'
               f'peer = "127.0.0.2:1701"\ntid = {i}\nptid = {i}\n')
    for j in range(1, s + 1):
        sid = (i - 1) * s + j
        out.append(f'[tunnel.t{i}.session.s{j}]\npseudowire = "eth"\nsid = {sid}\npsid = {sid}\n')
print("".join(out))
PY
SOCK=$DIR/control.sock
L2TPD_LOG=warn "$L2TPD" --dataplane null --config "$DIR/l2tpd.toml" --control "$SOCK" \
    --state "$DIR/state" 2>"$DIR/l2tpd.log" &
PID=$!
want=$((T * S))
for _ in $(seq 1 600); do
    up=$("$L2TPCTL" --control "$SOCK" stats --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions_up"])' 2>/dev/null || echo 0)
    [[ $up == "$want" ]] && break
    sleep 0.5
done
[[ $up == "$want" ]] || { echo "bench-control: only $up of $want sessions up"; cat "$DIR/l2tpd.log"; exit 1; }
rss=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
echo "held: $T tunnels x $S sessions = $want sessions up, daemon RSS $((rss / 1024)) MiB"

# Mean wall time of N runs of one l2tpctl command, in ms.
timeit() {
    local label=$1; shift
    local start end
    start=$(date +%s%N)
    for i in $(seq 1 "$N"); do "$@" >/dev/null; done
    end=$(date +%s%N)
    printf '%-44s %8.2f ms\n' "$label" "$(echo "($end - $start) / $N / 1000000" | bc -l)"
}
mid=$((T / 2))
ctl() { "$L2TPCTL" --control "$SOCK" "$@"; }
echo "l2tpctl command (mean of $N)                  wall time"
timeit "stats" ctl stats
timeit "show session t$mid/s1 (one session)" ctl show session "t$mid" s1
timeit "show tunnel t$mid (one tunnel)" ctl show tunnel "t$mid"
# Delete N different sessions of one tunnel (static tunnels take no new sessions).
k=0
delete_next() { k=$((k + 1)); ctl delete session "t$mid" "s$((k + 1))"; }
timeit "delete session (one of t$mid's)" delete_next
N=$(( N < 3 ? N : 3 )) timeit "show (everything, O(n))" ctl show
