#!/usr/bin/env bash
# tests/vm/bench-daemon.sh — sessions/s created in the kernel THROUGH THE DAEMON, compared with
# `ip l2tp` creating the same tunnels and sessions, all in one boot of the QEMU VM (run.sh).
#
#   tests/vm/bench-daemon.sh [--kernel 6.1|6.12] [--tunnels T] [--sessions S] [--hold SECS]
#                            [--no-ppp] [--crate] [--timeout SECS]
#
# Default 100 tunnels x 10 sessions (1,000 sessions). Inside the VM (order: ip -batch, 1, ip -batch, ip loop, 3, 4):
#  1. daemon, L2TPv3 Ethernet: release `l2tpd` (kernel data plane, not -null) listening on
#     127.0.0.1:1701 (session template pseudowire = "eth"); `l2tp-bench --version 3
#     --pseudowire eth` opens T x S sessions, holds them --hold seconds, tears down (StopCCN).
#     While they are held the kernel must hold T tunnels, T x S sessions and T x S l2tpeth
#     links; after the teardown none; the daemon then exits 0 on SIGTERM.
#     Figures: the generator's sessions/s (control protocol only) and the "kernel" sessions/s:
#     T x S / (time from the generator's start to the daemon's last `session_up` event, which
#     the daemon emits only once the session's kernel objects exist) — end to end.
#  2. `ip l2tp`: the same T tunnels (UDP on loopback) and T x S Ethernet sessions, created by
#     one `ip -batch` (run right before AND right after step 1: under TCG the guest's speed
#     follows the host's load), then by one `ip` process per object (a loop); each counted,
#     then deleted.
#  3. daemon, L2TPv2 PPP (unless --no-ppp): the same with `--version 2` (PPPoL2TP sockets,
#     kernel sessions). pppd is replaced by a stand-in that only waits (`--pppd`): the kernel
#     objects are what is measured, but the daemon still starts one process per session.
#     (`ip l2tp` cannot create v2 / PPP sessions: no counterpart.)
#  4. with --crate: the existing crate-vs-ip create+delete benchmark of crates/l2tp-kernel
#     (tests/vm.rs, L2TP_BENCH_N = T x S) in the same boot.
# Ends with `bench:` lines and a comparison line; exit status 0 only if every check passed.
# Time: at 1,000 sessions the `ip l2tp` loop alone takes 4-7 minutes under TCG (≈ 0.25-0.35 s per
# `ip` process), the whole boot 6-11 minutes; --crate adds 2 x T x S more `ip` processes.
# The whole console log goes to ${CARGO_TARGET_DIR:-target}/vm-bench-daemon.log.
# Not part of scripts/test.sh (it takes minutes under TCG).
set -euo pipefail

TUNNELS=100
SESSIONS=10
HOLD=20
PPP=1
CRATE=0
GUEST=0
BINDIR=
CRATE_BIN=
RUN_ARGS=()
TIMEOUT=1500
while [[ $# -gt 0 ]]; do
    case "$1" in
        --kernel) RUN_ARGS+=(--kernel "$2"); shift 2 ;;
        --tunnels) TUNNELS=$2; shift 2 ;;
        --sessions) SESSIONS=$2; shift 2 ;;
        --hold) HOLD=$2; shift 2 ;;
        --no-ppp) PPP=0; shift ;;
        --crate) CRATE=1; shift ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --guest) GUEST=1; shift ;;
        --bin) BINDIR=$2; shift 2 ;;
        --crate-bin) CRATE_BIN=$2; shift 2 ;;
        -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
        *) echo "bench-daemon: unknown option $1" >&2; exit 2 ;;
    esac
done
N=$((TUNNELS * SESSIONS))

# ============================== host side ======================================================
if [[ $GUEST == 0 ]]; then
    cd "$(dirname "$0")/../.."
    echo "bench-daemon: building l2tpd and l2tp-bench (release)" >&2
    cargo build -q --release -p l2tpd -p l2tp-bench >&2
    BINDIR=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/release
    GUEST_ARGS=(--guest --bin "$BINDIR" --tunnels "$TUNNELS" --sessions "$SESSIONS" --hold "$HOLD")
    [[ $PPP == 1 ]] || GUEST_ARGS+=(--no-ppp)
    if [[ $CRATE == 1 ]]; then
        echo "bench-daemon: building the l2tp-kernel vm test binary" >&2
        CRATE_BIN=$(cargo test -p l2tp-kernel --features vm-tests --test vm --no-run --message-format=json 2>/dev/null \
            | sed -n 's/.*"target":{[^}]*"name":"vm"[^}]*}.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)
        [[ -n $CRATE_BIN && -x $CRATE_BIN ]] || { echo "bench-daemon: could not build the vm test binary" >&2; exit 1; }
        GUEST_ARGS+=(--crate-bin "$CRATE_BIN")
    fi
    LOG=${CARGO_TARGET_DIR:-target}/vm-bench-daemon.log
    mkdir -p "$(dirname "$LOG")"
    echo "bench-daemon: host load before: $(uptime)"
    start=$(date +%s)
    set +e
    L2TP_BENCH_N=$N tests/vm/run.sh --mem 1024 --timeout "$TIMEOUT" "${RUN_ARGS[@]}" -- \
        bash tests/vm/bench-daemon.sh "${GUEST_ARGS[@]}" 2>&1 | tee "$LOG"
    rc=${PIPESTATUS[0]}
    set -e
    sed -i 's/\r$//' "$LOG"
    echo
    echo "bench-daemon: VM run $(($(date +%s) - start)) s, exit $rc; host load after: $(uptime)"
    grep -E '^(FAIL|bench):' "$LOG" || true
    echo "(full log: $LOG)"
    exit "$rc"
fi

# ============================== guest side (inside the VM) =====================================
# No -e here: every check is counted and the run goes on to the comparison line.
set +e
OUT=/tmp/bench
mkdir -p "$OUT"
FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
now() { date +%s.%N; }
# elapsed START [END]: seconds, 3 decimals.
elapsed() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print "inf" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
count_sessions() { ip l2tp show session 2>/dev/null | grep -c '^Session' || true; }
count_tunnels() { ip l2tp show tunnel 2>/dev/null | grep -c '^Tunnel' || true; }
count_eth_links() { ip -o link show 2>/dev/null | grep -c ': l2tpeth' || true; }
# The pppd stand-in (see daemon_case): busybox sh running the script "plugin" in the daemon's
# working directory, as `$STANDIN/sh plugin pppol2tp.so pppol2tp FD ...`.
STANDIN=$OUT/standin
count_standins() { pgrep -c -f "^$STANDIN/sh plugin " || true; }
# thread_cpu PID: "name user+sys" for each thread (seconds).
thread_cpu() {
    local t tck; tck=$(getconf CLK_TCK)
    for t in /proc/"$1"/task/*; do
        sed 's/^[0-9]* (\(.*\)) /\1 /' "$t/stat" 2>/dev/null | awk -v h="$tck" '{ printf "%s %.2f, ", $1, ($13 + $14) / h }'
    done
}
no_standins() { [ "$(count_standins)" = 0 ]; }
# wait_until SECS CMD...: polls every 0.2 s; status 0 as soon as CMD succeeds.
wait_until() {
    local n=$(($1 * 5)); shift
    for _ in $(seq "$n"); do "$@" && return 0; sleep 0.2; done
    return 1
}
kernel_empty() { [ "$(count_tunnels)" = 0 ] && [ "$(count_sessions)" = 0 ] && [ "$(count_eth_links)" = 0 ]; }
show_logs() {
    for f in "$@"; do [ -f "$f" ] && { echo "--- $f (last 25 lines)"; tail -n 25 "$f"; }; done
}

echo "bench-daemon: guest kernel $(uname -r), $(nproc) vCPU, $TUNNELS tunnels x $SESSIONS sessions = $N, hold ${HOLD}s"
[ -x "$BINDIR/l2tpd" ] && [ -x "$BINDIR/l2tp-bench" ] || { echo "FAIL: no l2tpd / l2tp-bench in $BINDIR"; exit 1; }
kernel_empty || fail "the kernel holds L2TP objects before the bench"

# daemon_case VERSION(2|3) PSEUDOWIRE(eth|ppp): prints `bench: daemon ...`; sets DAEMON_RATE.
DAEMON_RATE=0
daemon_case() {
    local v=$1 pw=$2 dir=$OUT/daemon-v$1-$2
    local tag="daemon v$v $pw"
    mkdir -p "$dir"
    local ver=l2tpv3; [ "$v" = 2 ] && ver=l2tpv2
    cat > "$dir/l2tpd.toml" <<CONF
[tunnel.lns]
local = "127.0.0.1:1701"
listen = true
version = "$ver"
[tunnel.lns.session.template]
pseudowire = "$pw"
CONF
    # pppd stand-in: l2tpd runs `PPPD plugin pppol2tp.so pppol2tp FD ...` per PPP session. With
    # PPPD = a link named sh to the static busybox, that is busybox's shell running the script
    # "plugin" from l2tpd's working directory: one exec of a static binary, then a read that
    # never returns (a FIFO nobody writes) until SIGTERM when the session goes down. As cheap
    # a process as can be; real pppd costs far more per session.
    mkdir -p "$STANDIN"
    ln -sf /bin/busybox "$STANDIN/sh"
    [ -p "$STANDIN/fifo" ] || mkfifo "$STANDIN/fifo"
    printf 'read -r _ <> %s\n' "$STANDIN/fifo" > "$STANDIN/plugin"
    echo "--- $tag: l2tpd (kernel data plane) + l2tp-bench --version $v --pseudowire $pw, $TUNNELS x $SESSIONS"
    (cd "$STANDIN" && exec "$BINDIR/l2tpd" --config "$dir/l2tpd.toml" --events json \
        --events-file "$dir/events" --state "$dir/state" --control "$dir/control.sock" \
        --pppd "$STANDIN/sh" --metrics 127.0.0.1:9701 >"$dir/l2tpd.log" 2>&1) &
    local dpid=$!
    if ! wait_until 30 sh -c "ss -uln | grep -q '127.0.0.1:1701 '"; then
        fail "$tag: l2tpd does not listen on 127.0.0.1:1701"; show_logs "$dir/l2tpd.log"
        kill "$dpid" 2>/dev/null; wait "$dpid" 2>/dev/null; return
    fi
    local t0; t0=$(now)
    "$BINDIR/l2tp-bench" --server 127.0.0.1:1701 --version "$v" --pseudowire "$pw" \
        --tunnels "$TUNNELS" --sessions-per-tunnel "$SESSIONS" --hold "$HOLD" --teardown \
        --timeout $((HOLD + 300)) --report-every $(( N / 4 > 0 ? N / 4 : 1 )) --server-pid "$dpid" \
        >"$dir/bench.out" 2>&1 &
    local bpid=$!
    # Wait for every session_up (the daemon reports one once the kernel objects exist), or the
    # generator's end (it only ends after --hold, so it is still holding while we count).
    local up=0 t_up=""
    while :; do
        up=$(grep -c '"event":"session_up"' "$dir/events" 2>/dev/null || true)
        [ "$up" -ge "$N" ] && break
        kill -0 "$bpid" 2>/dev/null || break
        sleep 0.2
    done
    local t_seen; t_seen=$(now)
    local ks kt kl sb=""
    ks=$(count_sessions); kt=$(count_tunnels); kl=$(count_eth_links)
    [ "$pw" = ppp ] && sb=$(count_standins)
    local held=0; kill -0 "$bpid" 2>/dev/null && held=1
    echo "$tag: l2tpd CPU seconds per thread so far: $(thread_cpu "$dpid")"
    # The last session_up's time stamp (seconds since the epoch, written by the daemon).
    t_up=$(grep '"event":"session_up"' "$dir/events" | tail -n1 | grep -o '"ts":[0-9.]*' | cut -d: -f2 || true)
    [ -n "$t_up" ] || t_up=$t_seen
    echo "$tag: $up session_up events; kernel (counted $(elapsed "$t0") s after the start, generator still holding: $held): $kt tunnels, $ks sessions, $kl l2tpeth links${sb:+, $sb pppd stand-ins}"
    local brc=0
    wait "$bpid" || brc=$?
    local t_bench_end; t_bench_end=$(now)
    sed 's/^/  | /' "$dir/bench.out" | grep -v 'progress ' || true
    [ "$brc" = 0 ] && pass "$tag: l2tp-bench reports every tunnel and session up and torn down (exit 0)" \
        || fail "$tag: l2tp-bench exit $brc"
    [ "$up" = "$N" ] && pass "$tag: $N session_up events" || fail "$tag: $up session_up events, expected $N"
    [ "$held" = 1 ] || fail "$tag: the generator had already ended when the kernel was counted"
    [ "$kt" = "$TUNNELS" ] && pass "$tag: the kernel held $kt tunnels" || fail "$tag: the kernel held $kt tunnels, expected $TUNNELS"
    [ "$ks" = "$N" ] && pass "$tag: the kernel held $ks sessions" || fail "$tag: the kernel held $ks sessions, expected $N"
    if [ "$pw" = eth ]; then
        [ "$kl" = "$N" ] && pass "$tag: $kl l2tpeth links" || fail "$tag: $kl l2tpeth links, expected $N"
    else
        [ "$sb" = "$N" ] && pass "$tag: $sb pppd stand-ins running" || fail "$tag: $sb pppd stand-ins running, expected $N"
    fi
    # Teardown: the generator sent StopCCN everywhere and had it acknowledged; the kernel must
    # be emptied by the daemon.
    local empty_after="not within 120 s"
    # From the daemon's first tunnel_down (the first StopCCN it received) to an empty kernel.
    local t_down
    t_down=$(grep '"event":"tunnel_down"' "$dir/events" | head -n1 | grep -o '"ts":[0-9.]*' | cut -d: -f2)
    DAEMON_DEL="?"
    if wait_until 120 kernel_empty; then
        [ -n "$t_down" ] && DAEMON_DEL=$(elapsed "$t_down")
        empty_after="$(elapsed "$t_bench_end") s after the generator ended, $DAEMON_DEL s after the first tunnel_down"
        pass "$tag: kernel empty after the teardown ($empty_after)"
    else
        fail "$tag: kernel not empty 120 s after the teardown: $(count_tunnels) tunnels, $(count_sessions) sessions"
        ip l2tp show tunnel | head -n 20
    fi
    if [ "$pw" = ppp ]; then
        wait_until 20 no_standins || fail "$tag: $(count_standins) pppd stand-ins still running after the teardown"
    fi
    local senderr=""
    if command -v curl >/dev/null; then
        senderr=$(curl -s http://127.0.0.1:9701/metrics | sed -n 's/^l2tp_send_errors_total \([0-9]*\).*/\1/p')
    fi
    if kill -0 "$dpid" 2>/dev/null; then
        kill -TERM "$dpid"
        local drc=0
        wait "$dpid" || drc=$?
        [ "$drc" = 0 ] && pass "$tag: l2tpd exits 0 on SIGTERM" || fail "$tag: l2tpd exit status $drc on SIGTERM"
    else
        local drc=0; wait "$dpid" || drc=$?
        fail "$tag: l2tpd died during the run (status $drc)"
    fi
    kernel_empty || fail "$tag: kernel objects left after l2tpd exited"
    # Log lines are "TIMESTAMP  LEVEL target: message".
    local lvl='^[^ ]+ +(WARN|ERROR) '
    local warns; warns=$(grep -cE "$lvl" "$dir/l2tpd.log" || true)
    if [ "$warns" != 0 ]; then
        echo "$tag: l2tpd logged $warns WARN/ERROR lines, first ones:"
        grep -E "$lvl" "$dir/l2tpd.log" | head -n 15 | sed 's/^/  | /'
    fi
    grep -E "$lvl" "$dir/l2tpd.log" | grep -q 'data plane' && fail "$tag: data plane errors in the l2tpd log"
    [ "$FAILS" = 0 ] || show_logs "$dir/l2tpd.log"
    local gen_rate setup kern_s retr td
    gen_rate=$(sed -n 's/^set-up .*tunnels\/s, \([0-9.]*\) sessions\/s.*/\1/p' "$dir/bench.out")
    setup=$(sed -n 's/^set-up *\([0-9.]*\) s:.*/\1/p' "$dir/bench.out")
    retr=$(sed -n 's/^retransmissions *\([0-9]*\) .*/\1/p' "$dir/bench.out")
    td=$(sed -n 's/^teardown *\([0-9.]*\) s:.*/\1/p' "$dir/bench.out")
    kern_s=$(elapsed "$t0" "$t_up")
    DAEMON_RATE=$(rate "$up" "$kern_s")
    echo "bench: $tag: $N sessions in $TUNNELS tunnels: generator set-up ${setup:-?} s (${gen_rate:-?} sessions/s, control protocol); all $up in the kernel after $kern_s s ($DAEMON_RATE sessions/s end to end); kernel emptied $empty_after; generator: ${retr:-?} retransmissions, StopCCN teardown ${td:-?} s; l2tpd send errors ${senderr:-?}"
}

# ip_case loop|batch: T tunnels + T x S Ethernet sessions with `ip l2tp`; sets IP_RATE.
IP_RATE=0
IP_DEL=0
ip_case() {
    local how=$1 dir=$OUT/ip-$1 label=${2:-}
    mkdir -p "$dir"
    : > "$dir/add"; : > "$dir/del"
    local t s sid
    for t in $(seq "$TUNNELS"); do
        echo "l2tp add tunnel tunnel_id $t peer_tunnel_id $t encap udp local 127.0.0.1 remote 127.0.0.1 udp_sport $((20000 + t)) udp_dport $((40000 + t))" >> "$dir/add"
        for s in $(seq "$SESSIONS"); do
            sid=$(( (t - 1) * SESSIONS + s ))
            echo "l2tp add session tunnel_id $t session_id $sid peer_session_id $sid" >> "$dir/add"
        done
        echo "l2tp del tunnel tunnel_id $t" >> "$dir/del"
    done
    echo "--- ip l2tp $how$label: $TUNNELS tunnels + $N sessions"
    local t0 t1 rc=0
    t0=$(now)
    if [ "$how" = loop ]; then
        # One ip process per object, as a shell script driving iproute2 would.
        while read -r line; do ip $line || { rc=1; break; }; done < "$dir/add"
    else
        ip -batch "$dir/add" || rc=1
    fi
    t1=$(now)
    [ "$rc" = 0 ] || fail "ip l2tp $how: a create failed"
    local ks kt kl
    ks=$(count_sessions); kt=$(count_tunnels); kl=$(count_eth_links)
    [ "$ks" = "$N" ] && [ "$kt" = "$TUNNELS" ] && [ "$kl" = "$N" ] \
        && pass "ip l2tp $how: the kernel holds $kt tunnels, $ks sessions, $kl l2tpeth links" \
        || fail "ip l2tp $how: the kernel holds $kt tunnels, $ks sessions, $kl l2tpeth links (expected $TUNNELS, $N, $N)"
    local d0 d1
    d0=$(now)
    if [ "$how" = loop ]; then
        while read -r line; do ip $line || true; done < "$dir/del"
    else
        ip -batch "$dir/del" || true
    fi
    wait_until 120 kernel_empty || fail "ip l2tp $how: kernel not empty after deleting the tunnels"
    d1=$(now)
    IP_DEL=$(elapsed "$d0" "$d1")
    local c; c=$(elapsed "$t0" "$t1")
    IP_RATE=$(rate "$N" "$c")
    echo "bench: ip l2tp $how$label: $TUNNELS tunnels + $N sessions created in $c s ($IP_RATE sessions/s); deleted tunnel by tunnel, kernel empty (no tunnel, session or l2tpeth link) after $(elapsed "$d0" "$d1") s"
}

uptime
# Under TCG the guest's speed follows the host's load: `ip -batch` (a few seconds) runs right
# before and right after the daemon case so that the two are compared at the same moment.
ip_case batch " (before the daemon)"
R_BATCH=$IP_RATE
DEL_BATCH=$IP_DEL
DAEMON_DEL=""
daemon_case 3 eth
R_V3=$DAEMON_RATE
DEL_V3=$DAEMON_DEL
ip_case batch " (after the daemon)"
R_BATCH2=$IP_RATE
DEL_BATCH2=$IP_DEL
ip_case loop
R_LOOP=$IP_RATE
DEL_LOOP=$IP_DEL
R_V2=""
if [ "$PPP" = 1 ]; then
    daemon_case 2 ppp
    R_V2=$DAEMON_RATE
fi
if [ -n "$CRATE_BIN" ]; then
    echo "--- crate vs ip l2tp (crates/l2tp-kernel tests/vm.rs, L2TP_BENCH_N=$N)"
    L2TP_BENCH_N=$N "$CRATE_BIN" --ignored --exact bench_create_delete_1000_eth_sessions_crate_vs_ip_l2tp \
        --nocapture --test-threads=1 --color never || fail "crate benchmark"
fi
uptime
echo "bench: comparison, $N Ethernet sessions in $TUNNELS tunnels (sessions/s, creation incl. tunnels): daemon end to end (L2TPv3 control protocol + kernel) $R_V3; ip l2tp loop $R_LOOP (daemon $(ratio "$R_V3" "$R_LOOP")x); ip -batch $R_BATCH before / $R_BATCH2 after (daemon $(ratio "$R_V3" "$R_BATCH")x / $(ratio "$R_V3" "$R_BATCH2")x)${R_V2:+; daemon L2TPv2 PPP (stand-in pppd) $R_V2}. Until the kernel is empty again: daemon $DEL_V3 s from the first StopCCN; ip l2tp del tunnel loop $DEL_LOOP s; ip -batch $DEL_BATCH / $DEL_BATCH2 s"
echo "bench-daemon: $FAILS failed checks"
[ "$FAILS" = 0 ]
