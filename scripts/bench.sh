#!/usr/bin/env bash
# One command for the figures of BENCHMARKS.md: builds release, then on loopback only
#   a. the loopback UDP echo ceiling (examples/udp_echo: ~100-byte datagrams, the generator's
#      shape: one socket per flow, 4 sources, N in flight)
#   b. l2tpd -null vs xl2tpd under the same generator (l2tp-bench): 2,000 tunnels at 64 in
#      flight; 10,000 tunnels at 1,000; 20 × 100 sessions; 100 × 300; 10,000 × 10
#   c. ours, 100,000 sessions held (10,000 × 10): rate of the first and last 10 %, RSS per
#      held session, then SIGTERM: time to exit, StopCCNs seen and acknowledged
#   d. idle cost: 10,000 tunnels held, the LNS sending HELLO every 60 s (--quick: 20 s), server
#      CPU over one HELLO period as % of one core
#   e. churn: repeated runs (1,000 tunnels × 10 sessions started at 500 tunnels/s, held 2 s,
#      torn down) against one server for 10 minutes (--quick: 1), server RSS sampled every
#      10 s; 40 s after the last run, what the server still holds (metrics gauges). The start
#      rate is fixed so that the closed tunnels the core keeps ~31 s (RFC 2661 §5.7) are as
#      many at the end as at the start, whatever else the machine does.
#   f. the plot of run c (set-up rate and RSS against sessions held): docs/bench/setup.svg
# and prints a summary (markdown tables, the machine, the command line).
#
# Usage: scripts/bench.sh [--quick] [--out DIR] [--no-xl2tpd] [--no-plot]
#   --quick      shorter bounds: xl2tpd cases 20 s each, idle 20 s, churn 1 min (~5 min in all;
#                the full run takes ~18 min)
#   --out DIR    where logs, JSON reports and summary.md go (default target/bench/DATE)
#   --no-xl2tpd  skip xl2tpd (also skipped, with a note, when it is not installed)
#   --no-plot    do not write docs/bench/setup.svg
# Needs: cargo, jq, ss (iproute2), timeout (coreutils); xl2tpd and pppd for its column; curl
# to count the HELLOs of the idle case (optional). Not part of CI.
#
# Every server listens on 127.0.0.1 on a free port (checked with ss); the generator sends
# only to it, from 127.0.0.2-5. Every run is bounded in count and time, and everything this
# script starts is ended on exit (trap). xl2tpd spawns pppd for each session; without
# /dev/ppp (or kernel PPP) pppd fails at once and xl2tpd sends CDN: the generator counts a
# session as set up when its ICCN is acknowledged, before that, and the CDN afterwards as
# "lost".
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0
XL2TPD=1
PLOT=1
OUT=""
CMDLINE="scripts/bench.sh $*"
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --no-xl2tpd) XL2TPD=0 ;;
        --no-plot) PLOT=0 ;;
        --out) OUT=${2:?--out DIR}; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
        *) echo "bench.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

for tool in cargo jq ss timeout awk; do
    command -v "$tool" >/dev/null || { echo "bench.sh: $tool is needed" >&2; exit 2; }
done
if [ "$XL2TPD" = 1 ] && ! command -v xl2tpd >/dev/null; then
    echo "bench.sh: xl2tpd is not installed: its column is skipped (apt-get install xl2tpd)" >&2
    XL2TPD=0
fi
HAVE_CURL=0
command -v curl >/dev/null && HAVE_CURL=1

if [ "$QUICK" = 1 ]; then
    XL_BOUND=20 HELLO_S=20 CHURN_S=60 ECHO_S=2
else
    XL_BOUND=60 HELLO_S=60 CHURN_S=600 ECHO_S=4
fi
OURS_BOUND=60
REPS=3

OUT=${OUT:-$REPO/target/bench/$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
exec > >(tee -a "$OUT/bench.log") 2>&1

# ---------------------------------------------------------------- processes and ports
PIDS=()
# Our children still alive among PIDS (a reaped child's ID may be someone else's by now).
ours_alive() {
    local p
    for p in "${PIDS[@]}"; do
        [ "$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $2}')" = "$$" ] && echo "$p"
    done
    return 0
}
cleanup() {
    local p alive
    alive=$(ours_alive)
    [ -z "$alive" ] && return 0
    for p in $alive; do kill -TERM "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in $(ours_alive); do kill -KILL "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'echo "bench.sh: interrupted"; exit 130' INT TERM

# True while process $1 exists and is not a zombie.
running() {
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

# Ends process $1: SIGTERM, up to $2 seconds, then SIGKILL; reaps it.
stop_pid() {
    local pid=$1 secs=${2:-10} i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 20; i++)); do running "$pid" || break; sleep 0.05; done
    running "$pid" && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

USED_PORTS=" "
# Sets PORT to a UDP and TCP port on loopback that nobody holds (20000-29999, below the
# ephemeral range the generator's sockets take theirs from).
free_port() {
    local p=$((20000 + RANDOM % 10000)) tries
    for ((tries = 0; tries < 500; tries++)); do
        if [[ $USED_PORTS != *" $p "* ]] \
            && ! ss -Huan | awk '{print $4}' | grep -qE "[:.]$p\$" \
            && ! ss -Htan | awk '{print $4}' | grep -qE "[:.]$p\$"; then
            USED_PORTS+="$p "
            PORT=$p
            return 0
        fi
        p=$((p + 1)); [ "$p" -gt 29999 ] && p=20000
    done
    echo "bench.sh: no free loopback port found" >&2
    exit 2
}

# Waits (at most 10 s) until process $1 listens on UDP port $2.
wait_listening() {
    local i
    for ((i = 0; i < 200; i++)); do
        running "$1" || { echo "bench.sh: server $1 exited at start" >&2; return 1; }
        ss -Huan "sport = :$2" | grep -q . && return 0
        sleep 0.05
    done
    echo "bench.sh: server $1 not listening on $2 after 10 s" >&2
    return 1
}

load() { cut -d' ' -f1-3 /proc/loadavg; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# Waits (at most $3 s) for a progress line with established=$2 in file $1, or for process $4
# to end.
wait_established() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -q "established=$2 " "$1" 2>/dev/null && return 0
        running "$4" || return 1
        sleep 0.1
    done
    return 1
}
# Field of a JSON report, "n/a" when absent.
j() { jq -r "($2) as \$v | if \$v == null then \"n/a\" else \$v end" "$1" 2>/dev/null || echo n/a; }
num() { awk -v x="$1" -v f="${2:-%.0f}" 'BEGIN { if (x == "n/a" || x == "") printf "n/a"; else printf f, x }'; }

# LNS configuration: $1 file, $2 port, $3 hello_timeout in ms (optional).
lns_config() {
    {
        echo '[tunnel.lns]'
        echo 'kind = "dynamic"'
        echo 'listen = true'
        echo "local = \"127.0.0.1:$2\""
        echo 'version = "l2tpv2"'
        [ -n "${3:-}" ] && echo "hello_timeout = $3"
        echo '[tunnel.lns.session.s]'
        echo 'pseudowire = "ppp"'
    } > "$1"
}

# Starts l2tpd -null as LNS in directory $1 (hello ms $2, may be empty; further l2tpd
# arguments after): sets SRV_PID, SRV_PORT.
start_l2tpd() {
    local dir=$1 hello=$2
    shift 2
    mkdir -p "$dir"
    free_port
    SRV_PORT=$PORT
    lns_config "$dir/lns.toml" "$SRV_PORT" "$hello"
    "$BIN/l2tpd" --config "$dir/lns.toml" --null --control "$dir/control.sock" \
        --state "$dir/state" "$@" > "$dir/l2tpd.log" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_listening "$SRV_PID" "$SRV_PORT"
}

# Starts xl2tpd as LNS in directory $1: sets SRV_PID, SRV_PORT.
start_xl2tpd() {
    local dir=$1
    mkdir -p "$dir"
    free_port
    SRV_PORT=$PORT
    : > "$dir/l2tp-secrets"
    echo "noauth" > "$dir/options"
    cat > "$dir/xl2tpd.conf" <<CONF
[global]
listen-addr = 127.0.0.1
port = $SRV_PORT
auth file = $dir/l2tp-secrets
access control = no

[lns default]
ip range = 10.250.0.2-10.250.255.254
local ip = 10.250.0.1
require authentication = no
require chap = no
refuse pap = yes
hostname = xl2tpd-bench
length bit = yes
ppp debug = no
pppoptfile = $dir/options
CONF
    xl2tpd -D -c "$dir/xl2tpd.conf" -p "$dir/xl2tpd.pid" -C "$dir/control" > "$dir/xl2tpd.log" 2>&1 &
    SRV_PID=$!
    PIDS+=("$SRV_PID")
    wait_listening "$SRV_PID" "$SRV_PORT"
}

# Runs the generator against 127.0.0.1:$SRV_PORT: $1 report name, $2 time bound (s), then
# l2tp-bench arguments. Report in $OUT/$1.json, progress lines in $OUT/$1.progress.
gen() {
    local name=$1 bound=$2
    shift 2
    timeout --kill-after=5 $((bound + 60)) "$BIN/l2tp-bench" --server "127.0.0.1:$SRV_PORT" \
        --json --timeout "$bound" --sources 4 --server-pid "$SRV_PID" "$@" \
        > "$OUT/$name.json" 2> "$OUT/$name.progress" || true
}

# ---------------------------------------------------------------- build
echo "== build (release)"
(cd "$REPO" && cargo build --release -p l2tpd -p l2tp-bench --examples --bins)
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release
[ -n "${CARGO_TARGET_DIR:-}" ] && case "$CARGO_TARGET_DIR" in /*) ;; *) BIN=$REPO/$CARGO_TARGET_DIR/release ;; esac
LOAD_START=$(load)
START=$(date +%s)
echo "== results in $OUT (load average at start: $LOAD_START)"

# ---------------------------------------------------------------- a. echo ceiling
echo "== a. loopback UDP echo ceiling"
declare -A ECHO_RT
for inflight in 64 256 1000; do
    timeout --kill-after=5 $((ECHO_S + 30)) "$BIN/examples/udp_echo" --in-flight "$inflight" \
        --sources 4 --size 100 --seconds "$ECHO_S" > "$OUT/echo-$inflight.json" || true
    ECHO_RT[$inflight]=$(j "$OUT/echo-$inflight.json" .round_trips_per_second)
    echo "   $inflight in flight: $(num "${ECHO_RT[$inflight]}") round trips/s, p99 $(num "$(j "$OUT/echo-$inflight.json" .rtt_p99_us)") µs (load $(load))"
done

# ---------------------------------------------------------------- b. ours vs xl2tpd
CASES=(
    "t2k|2,000 tunnels, 64 in flight|--tunnels 2000 --sessions-per-tunnel 0 --concurrency 64|64"
    "t10k|10,000 tunnels, 1,000 in flight|--tunnels 10000 --sessions-per-tunnel 0 --concurrency 1000|1000"
    "s20x100|20 tunnels × 100 sessions|--tunnels 20 --sessions-per-tunnel 100 --concurrency 64|64"
    "s100x300|100 tunnels × 300 sessions|--tunnels 100 --sessions-per-tunnel 300 --concurrency 64|64"
    "s10kx10|10,000 tunnels × 10 sessions, 256 in flight|--tunnels 10000 --sessions-per-tunnel 10 --concurrency 256|256"
)
echo "== b. l2tpd -null vs xl2tpd (ours: median of $REPS runs, each bounded to ${OURS_BOUND} s; xl2tpd: one run bounded to ${XL_BOUND} s)"
TABLE_B="$OUT/table-b.md"
{
    echo "| case | server | tunnels/s | sessions/s | p99 tunnel / session ms | up (tunnels, sessions) | failed | lost | retransmissions (SCCRQ) | bound hit | server CPU µs per set-up | ours / xl2tpd | load |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|"
} > "$TABLE_B"
# Server CPU during set-up per session (per tunnel when there are no sessions), µs.
cpu_per_setup() {
    jq -r 'if .server_setup_cpu_seconds == null then "n/a" else
        (if .sessions_up > 0 then .sessions_up else .tunnels_up end) as $n
        | if $n > 0 then (.server_setup_cpu_seconds * 1e6 / $n | floor) else "n/a" end end' "$1" 2>/dev/null || echo n/a
}
row_b() { # $1 case label, $2 server, $3 json, $4 ratio, $5 load
    local f=$3
    echo "| $1 | $2 | $(num "$(j "$f" .tunnels_per_second)") | $(num "$(j "$f" .sessions_per_second)") | $(num "$(j "$f" .tunnel_latency.p99_ms)" %.1f) / $(num "$(j "$f" .session_latency.p99_ms)" %.1f) | $(j "$f" .tunnels_up)/$(j "$f" .tunnels_requested), $(j "$f" .sessions_up)/$(j "$f" .sessions_requested) | $(j "$f" .tunnels_failed) t, $(j "$f" .sessions_failed) s | $(j "$f" .tunnels_lost) t, $(j "$f" .sessions_lost) s | $(j "$f" .retransmits) ($(j "$f" .sccrq_retransmits)) | $(j "$f" .timed_out) | $(cpu_per_setup "$f") | $4 | $5 |" >> "$TABLE_B"
}
for c in "${CASES[@]}"; do
    IFS='|' read -r key label args _ <<< "$c"
    metric=.sessions_per_second
    [[ $args == *"--sessions-per-tunnel 0 "* ]] && metric=.tunnels_per_second
    # Ours: REPS runs, each against a fresh server; the median run (by the case's rate) is kept.
    declare -A l_run=()
    for ((r = 1; r <= REPS; r++)); do
        # shellcheck disable=SC2086
        {
            start_l2tpd "$OUT/srv-ours-$key-$r" "" --shutdown-grace 1
            gen "b-ours-$key-$r" "$OURS_BOUND" $args
            l_run[$r]=$(load)
            stop_pid "$SRV_PID" 5
        }
    done
    med=$(for ((r = 1; r <= REPS; r++)); do echo "$(j "$OUT/b-ours-$key-$r.json" $metric | sed 's/n\/a/0/') $r"; done \
        | sort -g | sed -n "$(((REPS + 1) / 2))p" | cut -d' ' -f2)
    cp "$OUT/b-ours-$key-$med.json" "$OUT/b-ours-$key.json"
    l_ours=${l_run[$med]}
    spread=$(for ((r = 1; r <= REPS; r++)); do num "$(j "$OUT/b-ours-$key-$r.json" $metric)"; echo; done | paste -sd/ -)
    echo "   ours   $label: $(num "$(j "$OUT/b-ours-$key.json" .tunnels_per_second)") tunnels/s, $(num "$(j "$OUT/b-ours-$key.json" .sessions_per_second)") sessions/s (median of $spread; load $l_ours)"
    row_b "$label" "l2tpd -null (median of $REPS: $spread)" "$OUT/b-ours-$key.json" "" "$l_ours"
    if [ "$XL2TPD" = 1 ]; then
        # shellcheck disable=SC2086
        {
            start_xl2tpd "$OUT/srv-xl2tpd-$key"
            gen "b-xl2tpd-$key" "$XL_BOUND" $args
            l_xl=$(load)
            stop_pid "$SRV_PID" 5
        }
        ratio=$(awk -v a="$(j "$OUT/b-ours-$key.json" $metric)" -v b="$(j "$OUT/b-xl2tpd-$key.json" $metric)" \
            'BEGIN { if (b + 0 > 0 && a != "n/a") printf "%.1f×", a / b; else print "n/a" }')
        echo "   xl2tpd $label: $(num "$(j "$OUT/b-xl2tpd-$key.json" .tunnels_per_second)") tunnels/s, $(num "$(j "$OUT/b-xl2tpd-$key.json" .sessions_per_second)") sessions/s; ours/xl2tpd $ratio (load $l_xl)"
        row_b "$label" "xl2tpd $(xl2tpd -v 2>&1 | awk '/version/ {print $NF}' | sed 's/xl2tpd-//')" "$OUT/b-xl2tpd-$key.json" "$ratio" "$l_xl"
    fi
done

# ---------------------------------------------------------------- c. 100,000 sessions, SIGTERM
echo "== c. ours: 100,000 sessions held (10,000 × 10, 256 in flight), then SIGTERM"
start_l2tpd "$OUT/srv-ours-100k" ""
RSS_IDLE=$(rss_kb "$SRV_PID")
timeout --kill-after=5 150 "$BIN/l2tp-bench" --server "127.0.0.1:$SRV_PORT" --json --timeout 90 \
    --sources 4 --server-pid "$SRV_PID" --tunnels 10000 --sessions-per-tunnel 10 \
    --concurrency 256 --hold 20 --report-every 1000 > "$OUT/c-100k.json" 2> "$OUT/c-100k.progress" &
GEN_PID=$!
PIDS+=("$GEN_PID")
C_HELD=0 C_RSS=0 C_EXIT=n/a C_RC=n/a
if wait_established "$OUT/c-100k.progress" 100000 60 "$GEN_PID"; then
    sleep 1
    C_RSS=$(rss_kb "$SRV_PID")
    C_HELD=$(grep '^progress ' "$OUT/c-100k.progress" | tail -1 | sed 's/.* sessions=\([0-9]*\) .*/\1/')
    C_LOAD=$(load)
    t0=$(date +%s.%N)
    kill -TERM "$SRV_PID"
    for ((i = 0; i < 600; i++)); do running "$SRV_PID" || break; sleep 0.05; done
    t1=$(date +%s.%N)
    if running "$SRV_PID"; then C_EXIT=">30"; kill -KILL "$SRV_PID"; else C_EXIT=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'); fi
    C_RC=0; wait "$SRV_PID" || C_RC=$?
else
    echo "   100,000 sessions did not come up within 60 s"
    C_LOAD=$(load)
    stop_pid "$SRV_PID" 10
fi
wait "$GEN_PID" || true
C_UNACKED=$(grep 'did not acknowledge' "$OUT/srv-ours-100k/l2tpd.log" | grep -o 'tunnels=[0-9]*' | cut -d= -f2 | head -1 || true)
C_UNACKED=${C_UNACKED:-0}
C_STOPCCN=$(jq '[.tunnel_failures | to_entries[] | select(.key | startswith("lost: server sent StopCCN")) | .value] | add // 0' "$OUT/c-100k.json" 2>/dev/null || echo n/a)
C_RATE=$(j "$OUT/c-100k.json" .sessions_per_second)
# Rate of the first 10 % (0 → 10,000 established) and the last (90,000 → 100,000).
read -r C_FIRST C_LAST < <(awk '
    /^progress / {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        if (v["established"] == 10000) t10 = v["elapsed"]
        if (v["established"] == 90000) t90 = v["elapsed"]
        if (v["established"] == 100000) t100 = v["elapsed"]
    }
    END {
        f = (t10 > 0) ? 10000 / t10 : 0
        l = (t100 > t90 && t90 > 0) ? 10000 / (t100 - t90) : 0
        printf "%.0f %.0f\n", f, l
    }' "$OUT/c-100k.progress")
C_RATIO=$(awk -v f="$C_FIRST" -v l="$C_LAST" 'BEGIN { if (f > 0) printf "%.0f", 100 * l / f; else print "n/a" }')
C_PER=$(awk -v r="$C_RSS" -v n="$C_HELD" 'BEGIN { if (n > 0) printf "%.0f", r * 1024 / n; else print "n/a" }')
C_MARG=$(awk -v r="$C_RSS" -v z="$RSS_IDLE" -v n="$C_HELD" 'BEGIN { if (n > 0) printf "%.0f", (r - z) * 1024 / n; else print "n/a" }')
echo "   held $C_HELD sessions; $(num "$C_RATE") sessions/s; first 10 % $C_FIRST/s, last 10 % $C_LAST/s ($C_RATIO %)"
echo "   RSS $C_RSS kB ($C_PER B per held session; $C_MARG B above the idle daemon's $RSS_IDLE kB)"
echo "   SIGTERM: exit in $C_EXIT s (status $C_RC); the generator saw $C_STOPCCN StopCCN; server: $C_UNACKED unacknowledged (load $C_LOAD)"

# ---------------------------------------------------------------- d. idle cost
echo "== d. idle: 10,000 tunnels held, HELLO every $HELLO_S s, server CPU over $HELLO_S s"
MPORT=""
if [ "$HAVE_CURL" = 1 ]; then free_port; MPORT=$PORT; fi
start_l2tpd "$OUT/srv-ours-idle" "$((HELLO_S * 1000))" --shutdown-grace 1 ${MPORT:+--metrics 127.0.0.1:$MPORT}
timeout --kill-after=5 $((HELLO_S + 150)) "$BIN/l2tp-bench" --server "127.0.0.1:$SRV_PORT" --json \
    --timeout $((HELLO_S + 90)) --sources 4 --server-pid "$SRV_PID" --tunnels 10000 \
    --sessions-per-tunnel 0 --concurrency 256 --hold $((HELLO_S + 20)) --report-every 10000 \
    > "$OUT/d-idle.json" 2> "$OUT/d-idle.progress" &
GEN_PID=$!
PIDS+=("$GEN_PID")
D_PCT=n/a D_HELLO=n/a
tx() { curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" | awk '/^l2tp_control_messages_total\{direction="tx"\}/ {print $2}'; }
if wait_established "$OUT/d-idle.progress" 10000 60 "$GEN_PID"; then
    sleep 5
    [ -n "$MPORT" ] && tx0=$(tx)
    c0=$(cpu_ticks "$SRV_PID"); t0=$(date +%s.%N)
    sleep "$HELLO_S"
    c1=$(cpu_ticks "$SRV_PID"); t1=$(date +%s.%N)
    if [ -n "$MPORT" ]; then
        tx1=$(tx)
        D_HELLO=$(awk -v a="$tx0" -v b="$tx1" 'BEGIN { if (a != "" && b != "") print b - a; else print "n/a" }')
    fi
    D_PCT=$(awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", 100 * (c1 - c0) / hz / (t1 - t0) }')
fi
D_LOAD=$(load)
wait "$GEN_PID" || true
stop_pid "$SRV_PID" 5
D_LOST=$(j "$OUT/d-idle.json" .tunnels_lost)
echo "   server CPU $D_PCT % of one core; $D_HELLO control messages sent (HELLOs) in the window; $D_LOST tunnels lost (load $D_LOAD)"

# ---------------------------------------------------------------- e. churn
echo "== e. churn: 1,000 tunnels × 10 sessions (500 tunnels/s), held 2 s, torn down, repeated for $CHURN_S s; RSS every 10 s"
MPORT=""
if [ "$HAVE_CURL" = 1 ]; then free_port; MPORT=$PORT; fi
start_l2tpd "$OUT/srv-ours-churn" "" --shutdown-grace 1 ${MPORT:+--metrics 127.0.0.1:$MPORT}
CHURN_PID=$SRV_PID
: > "$OUT/e-churn.rss"
(
    for ((i = 0; i <= CHURN_S / 10; i++)); do
        echo "$((i * 10)) $(rss_kb "$CHURN_PID")" >> "$OUT/e-churn.rss"
        [ "$i" -lt $((CHURN_S / 10)) ] && sleep 10
    done
) &
SAMPLER=$!
PIDS+=("$SAMPLER")
e_start=$(date +%s)
: > "$OUT/e-churn.runs"
for ((it = 0; it < 1000; it++)); do
    [ $(($(date +%s) - e_start)) -ge "$CHURN_S" ] && break
    gen "e-churn-run" 60 --tunnels 1000 --sessions-per-tunnel 10 --concurrency 256 --rate 500 --hold 2 --teardown
    jq -r '[.sessions_up, .sessions_requested, (.sessions_per_second | floor), .teardown.stopccn_acked, .teardown.stopccn_sent, (if (.tunnels_failed + .sessions_failed + .tunnels_lost + .sessions_lost) == 0 and (.teardown.stopccn_unacked == 0) then "ok" else "FAILED" end)] | @tsv' \
        "$OUT/e-churn-run.json" >> "$OUT/e-churn.runs" 2>/dev/null || echo "- - - - - FAILED" >> "$OUT/e-churn.runs"
done
wait "$SAMPLER" || true
E_LOAD=$(load)
# 40 s without load: the closed tunnels' records are gone; what does the server still hold?
E_LEFT=n/a E_RSS_AFTER=n/a
if [ -n "$MPORT" ]; then
    sleep 40
    E_LEFT=$(curl -s --max-time 10 "http://127.0.0.1:$MPORT/metrics" \
        | awk '/^l2tp_tunnels\{/ { t += $2 } /^l2tp_sessions\{/ { s += $2 } END { printf "%d tunnels, %d sessions", t, s }')
    E_RSS_AFTER=$(rss_kb "$CHURN_PID")
fi
stop_pid "$CHURN_PID" 5
E_RUNS=$(wc -l < "$OUT/e-churn.runs")
E_FAILED=$(grep -c FAILED "$OUT/e-churn.runs" || true)
E_SESSIONS=$(awk '{ s += $1 } END { print s + 0 }' "$OUT/e-churn.runs")
E_SERIES=$(awk '{ printf "%s%d", (NR > 1 ? " " : ""), $2 / 1024 }' "$OUT/e-churn.rss")
read -r E_FIRST E_STEADY E_LAST E_MAX < <(awk '
    NR == 1 { first = $2 } $1 >= 40 && steady == "" { steady = $2 } { last = $2; if ($2 > max) max = $2 }
    END { if (steady == "") steady = last; print first, steady, last, max }' "$OUT/e-churn.rss")
E_DRIFT=$(awk -v s="$E_STEADY" -v l="$E_LAST" 'BEGIN { if (s > 0) printf "%+.1f", 100 * (l - s) / s; else print "n/a" }')
E_RATE_FIRST=$(head -1 "$OUT/e-churn.runs" | cut -f3)
E_RATE_LAST=$(tail -1 "$OUT/e-churn.runs" | cut -f3)
echo "   $E_RUNS runs ($E_FAILED failed), $E_SESSIONS sessions set up and torn down; sessions/s first run $E_RATE_FIRST, last $E_RATE_LAST"
echo "   RSS MiB every 10 s: $E_SERIES"
echo "   RSS at 0 s $E_FIRST kB, first at ≥ 40 s $E_STEADY kB, last $E_LAST kB ($E_DRIFT %), max $E_MAX kB (load $E_LOAD)"
echo "   40 s after the last run: the server holds $E_LEFT; RSS $E_RSS_AFTER kB"

# ---------------------------------------------------------------- f. plot
if [ "$PLOT" = 1 ]; then
    echo "== f. plot"
    mkdir -p "$REPO/docs/bench"
    "$BIN/examples/plot" --input "$OUT/c-100k.json" --output "$REPO/docs/bench/setup.svg" \
        --title "l2tpd -null, 10,000 tunnels × 10 sessions, 256 in flight: set-up rate and RSS" || true
    cp "$REPO/docs/bench/setup.svg" "$OUT/setup.svg" 2>/dev/null || true
fi

# ---------------------------------------------------------------- summary
met() { if awk "BEGIN { exit !($1) }" 2>/dev/null; then echo met; else echo "**missed**"; fi; }
ours() { j "$OUT/b-ours-$1.json" "$2"; }
T64=$(ours t2k .tunnels_per_second)
T1K_FAILED=$(awk -v a="$(ours t10k .tunnels_failed)" -v b="$(ours t10k .tunnels_lost)" 'BEGIN { print a + b }')
T1K_RTX=$(ours t10k .sccrq_retransmits)
T1K_PCT=$(awk -v r="$T1K_RTX" 'BEGIN { printf "%.2f", 100 * r / 10000 }')
HELLO_NOTE=""
[ "$HELLO_S" != 60 ] && HELLO_NOTE=" (--quick: HELLO every $HELLO_S s)"
E_PCT=${E_DRIFT#+}
TABLE_T="$OUT/table-targets.md"
{
    echo "| target | figure | |"
    echo "|---|---|---|"
    echo "| 100,000 sessions held | $C_HELD held (10,000 × 10) | $(met "$C_HELD >= 100000") |"
    echo "| set-up rate at 90k–100k ≥ 80 % of 0–10k | first 10 %: $C_FIRST/s, last 10 %: $C_LAST/s = $C_RATIO % | $(met "\"$C_RATIO\" != \"n/a\" && $C_RATIO >= 80") |"
    echo "| ≥ 20,000 sessions/s | $(num "$C_RATE") sessions/s (100,000 in $(num "$(j "$OUT/c-100k.json" .setup_seconds)" %.2f) s); server CPU $(cpu_per_setup "$OUT/c-100k.json") µs per session | $(met "$(num "$C_RATE" %.0f | sed 's/n\/a/0/') >= 20000") |"
    echo "| ≥ 30,000 tunnels/s at 64 in flight | $(num "$T64") tunnels/s (2,000 tunnels; median of $REPS); server CPU $(cpu_per_setup "$OUT/b-ours-t2k.json") µs per tunnel | $(met "$(num "$T64" %.0f | sed 's/n\/a/0/') >= 30000") |"
    echo "| 10,000 tunnels at 1,000 in flight: 0 failed, < 1 % SCCRQ retransmitted | $T1K_FAILED failed, $T1K_RTX SCCRQ retransmissions ($T1K_PCT %), $(num "$(ours t10k .tunnels_per_second)") tunnels/s | $(met "$T1K_FAILED == 0 && $T1K_PCT < 1") |"
    echo "| ≤ 2 KiB RSS per held session | $C_PER B ($C_RSS kB / $C_HELD sessions; $C_MARG B above the idle daemon) | $(met "\"$C_PER\" != \"n/a\" && $C_PER <= 2048") |"
    echo "| RSS flat over $((CHURN_S / 60)) min churn | $E_STEADY kB at ≥ 40 s → $E_LAST kB at the end ($E_DRIFT %); $E_RUNS runs, $E_SESSIONS sessions, $E_FAILED failed; 40 s later: $E_LEFT held, $E_RSS_AFTER kB | $(met "\"$E_DRIFT\" != \"n/a\" && $E_PCT <= 5 && $E_FAILED == 0") |"
    echo "| < 1 % of a core idle, 10,000 tunnels, HELLO 60 s$HELLO_NOTE | $D_PCT % over $HELLO_S s ($D_HELLO HELLOs sent, $D_LOST tunnels lost) | $(met "\"$D_PCT\" != \"n/a\" && $D_PCT < 1") |"
    echo "| SIGTERM with 100k sessions: every StopCCN acknowledged, exit ≤ 15 s | exit in $C_EXIT s (status $C_RC); $C_STOPCCN StopCCN seen by the generator; $C_UNACKED unacknowledged | $(met "\"$C_EXIT\" != \"n/a\" && \"$C_EXIT\" != \">30\" && $C_EXIT <= 15 && $C_UNACKED == 0 && \"$C_STOPCCN\" == \"10000\"") |"
} > "$TABLE_T"
TABLE_A="$OUT/table-echo.md"
{
    echo "| in flight | echo round trips/s | set-up ceiling (÷ 2 round trips) | ours at that concurrency | ours / ceiling |"
    echo "|---:|---:|---:|---:|---:|"
    for pair in "64 t2k .tunnels_per_second tunnels/s" "1000 t10k .tunnels_per_second tunnels/s" "256 s10kx10 .sessions_per_second sessions/s"; do
        read -r inflight key field unit <<< "$pair"
        rt=${ECHO_RT[$inflight]}
        o=$(ours "$key" "$field")
        echo "| $inflight | $(num "$rt") | $(num "$(awk -v r="$rt" 'BEGIN { print r / 2 }')") | $(num "$o") $unit | $(awk -v o="$o" -v r="$rt" 'BEGIN { if (r > 0 && o != "n/a") printf "%.0f %%", 100 * o / (r / 2); else print "n/a" }') |"
    done
} > "$TABLE_A"

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MACHINE="$(nproc) cores ($CPU), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
END_LOAD=$(load)
{
    echo "# scripts/bench.sh summary"
    echo
    echo "- command: \`$CMDLINE\` ($([ "$QUICK" = 1 ] && echo quick || echo full) mode), $(date -u '+%Y-%m-%d %H:%M UTC'), $(($(date +%s) - START)) s after the build"
    echo "- commit: $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)$(cd "$REPO" && git diff --quiet HEAD -- . ':!docs/bench' 2>/dev/null || echo ' (with local changes)'); $(rustc --version 2>/dev/null)"
    echo "- machine: $MACHINE"
    echo "- load average (1, 5, 15 min): $LOAD_START at start, $END_LOAD at the end"
    echo "- results: $OUT"
    echo
    echo "## Targets (ours: l2tpd -null)"
    echo
    cat "$TABLE_T"
    echo
    echo "## Loopback UDP echo ceiling (~100-byte datagrams, 4 sources, $ECHO_S s each)"
    echo
    cat "$TABLE_A"
    echo
    echo "## l2tpd -null vs xl2tpd, same generator (4 sources; ours: median of $REPS runs bounded to $OURS_BOUND s, the case's rate of each run in brackets; xl2tpd: one run bounded to $XL_BOUND s, its rate over what came up)"
    echo
    cat "$TABLE_B"
    echo
    echo "## Churn: server RSS (MiB) every 10 s; sessions/s of each run"
    echo
    echo "$E_SERIES"
    echo
    awk '{ printf "%s%s", (NR > 1 ? " " : ""), $3 } END { print "" }' "$OUT/e-churn.runs"
} > "$OUT/summary.md"
echo
cat "$OUT/summary.md"
