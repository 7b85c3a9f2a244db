#!/usr/bin/env bash
# tests/vm/kernel-tests.sh — build the l2tp-kernel VM tests on the host, then run all of them in
# ONE boot of the QEMU VM (tests/vm/run.sh) and print each result and a final line
#   vm: N passed, M failed
# Exit status: 0 only if every test passed (and at least one ran).
#
#   tests/vm/kernel-tests.sh [--kernel 6.1|6.12] [--bench] [TEST-FILTER...]
#
# --bench also runs the create/delete benchmark (crate vs `ip l2tp`) after the tests.
# Environment: CARGO_TARGET_DIR is honoured (and passed into the VM);
#   L2TP_VM_E2E=0            no end-to-end scripts;
#   L2TP_VM_E2E_ONLY='a b'   only these end-to-end scripts (names under tests/vm/e2e/);
#   L2TP_VM_UNIT=0           not the kernel crate's tests (an end-to-end-only boot);
#   L2TP_VM_E2E_TIMEOUT=180  seconds each end-to-end script may take (a loaded host: more).
# scripts/test.sh splits the work over several boots, each with its own time limit.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN_ARGS=()
BENCH=0
FILTER=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --kernel) RUN_ARGS+=(--kernel "$2"); shift 2 ;;
        --bench) BENCH=1; shift ;;
        *) FILTER+=("$1"); shift ;;
    esac
done

echo "kernel-tests: building test binaries" >&2
BIN=$(cargo test -p l2tp-kernel --features vm-tests --test vm --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"target":{[^}]*"name":"vm"[^}]*}.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)
if [[ -z $BIN || ! -x $BIN ]]; then
    cargo test -p l2tp-kernel --features vm-tests --test vm --no-run >&2 || true
    echo "kernel-tests: could not build the vm test binary"
    echo "vm: 0 passed, 1 failed"
    exit 1
fi

# The end-to-end scripts (tests/vm/e2e/*.sh) drive the l2tpd binary against pppd, xl2tpd and
# itself; build it too. Skipped when a test filter is given.
E2E=()
if [[ ${#FILTER[@]} == 0 && ${L2TP_VM_E2E:-1} == 1 ]]; then
    echo "kernel-tests: building l2tpd for the end-to-end tests" >&2
    cargo build -q -p l2tpd -p l2tpctl >&2 || { echo "kernel-tests: could not build l2tpd"; echo "vm: 0 passed, 1 failed"; exit 1; }
    L2TPD_BIN=$(cd "${CARGO_TARGET_DIR:-target}" && pwd)/debug/l2tpd
    for f in tests/vm/e2e/*.sh; do
        if [[ -n ${L2TP_VM_E2E_ONLY:-} && " $L2TP_VM_E2E_ONLY " != *" $(basename "$f" .sh) "* ]]; then
            continue
        fi
        E2E+=("$f")
    done
fi

# The guest sees the checkout and the target dir read-only at the same paths.
if [[ ${L2TP_VM_UNIT:-1} == 1 ]]; then
    SCRIPT="'$BIN' --test-threads=1 --color never ${FILTER[*]:-}; rc=\$?"
else
    SCRIPT="rc=0"
fi
for f in "${E2E[@]}"; do
    name=e2e/$(basename "$f" .sh)
    # Each end-to-end script prints "ok: …" / "FAIL: …" lines; its status decides the test.
    SCRIPT="$SCRIPT; echo '--- $name'; if L2TPD='$L2TPD_BIN' timeout ${L2TP_VM_E2E_TIMEOUT:-180} '$f'; then echo 'test $name ... ok'; else echo 'test $name ... FAILED'; rc=1; fi"
done
if [[ $BENCH == 1 ]]; then
    SCRIPT="$SCRIPT; '$BIN' --ignored --exact bench_create_delete_1000_eth_sessions_crate_vs_ip_l2tp --nocapture --test-threads=1 --color never"
fi
SCRIPT="$SCRIPT; exit \$rc"

LOG=${CARGO_TARGET_DIR:-target}/vm-tests.log
mkdir -p "$(dirname "$LOG")"
start=$(date +%s)
set +e
tests/vm/run.sh "${RUN_ARGS[@]}" -- sh -c "$SCRIPT" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
end=$(date +%s)
sed -i 's/\r$//' "$LOG" # the serial console ends lines with CR LF

passed=$(grep -cE '^test .* \.\.\. ok$' "$LOG" || true)
failed=$(grep -cE '^test .* \.\.\. FAILED$' "$LOG" || true)
echo
echo "kernel-tests: results (VM run $((end - start)) s, exit $rc)"
grep -E '^test .* \.\.\. (ok|FAILED|ignored)$' "$LOG" | sed 's/^/  /' || true
grep -E '^bench:' "$LOG" || true
echo "(full log: $LOG)"
if [[ $rc != 0 && $failed == 0 ]]; then
    # The binary or the VM died without reporting a failing test: count it as one.
    failed=1
fi
if [[ $passed == 0 && $failed == 0 ]]; then
    failed=1
fi
echo "vm: $passed passed, $failed failed"
[[ $failed == 0 ]]
