#!/usr/bin/env bash
# The project's test command (README quick start): format and lint checks, the workspace's
# tests (codec, engine, daemon, xl2tpd interop in network namespaces — needs root), then the
# kernel tests inside a QEMU VM (tests/vm/). Ends with one line `test: N passed, M failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
failed=0
step() { echo; echo "=== $*"; }

step "cargo fmt --check"
cargo fmt --all -- --check || failed=$((failed + 1))
step "cargo clippy"
cargo clippy --workspace --all-targets -q -- -D warnings || failed=$((failed + 1))

step "cargo test --workspace"
log=$(mktemp)
cargo test --workspace 2>&1 | tee "$log"
test_rc=${PIPESTATUS[0]}
passed=$(grep -Eo '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
tfailed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
[ "$test_rc" = 0 ] || [ "$tfailed" -gt 0 ] || tfailed=1
rm -f "$log"

# Kernel tests in the VM, over several boots so that each has its own time limit and a busy
# machine cannot push one long boot past it: the kernel crate's tests on Debian's 6.1 kernel,
# the end-to-end tests (pppd, xl2tpd, two of ours) on 6.1 in four groups, and the kernel
# crate's tests again on 6.12 (the genl family id differs).
run_vm() {
    step "kernel tests in the VM ($*)"
    local vmlog vm_rc vp vf
    vmlog=$(mktemp)
    "$@" 2>&1 | tee "$vmlog"
    vm_rc=${PIPESTATUS[0]}
    vp=$(grep -Eo '^vm: [0-9]+ passed' "$vmlog" | awk '{print $2}' | tail -n1)
    vf=$(grep -Eo '^vm: [0-9]+ passed, [0-9]+ failed' "$vmlog" | awk '{print $4}' | tail -n1)
    passed=$((passed + ${vp:-0}))
    tfailed=$((tfailed + ${vf:-0}))
    [ "$vm_rc" = 0 ] || [ "${vf:-0}" -gt 0 ] || tfailed=$((tfailed + 1))
    rm -f "$vmlog"
}
E2E_A="ppp-lac-lns ppp-switch kill-restart"
E2E_B="v3-eth v3-eth-ip mixed-planes"
E2E_C="v3-eth-ip6 xl2tpd-kernel userspace-kernel xl2tpd-l2tpns"
# Built-in PPP on the kernel data plane (ppp = "builtin").
E2E_D="kppp-xl2tpd kppp-lac kppp-radius"
E2E_E="pppoe-ac pppoe-lns"
# Each boot's own limit (seconds): a quiet machine needs well under half of it.
export L2TP_VM_TIMEOUT=${L2TP_VM_TIMEOUT:-720}
if [ "${L2TP_SKIP_VM:-0}" != 1 ]; then
    vm_start=$(date +%s)
    # Every end-to-end script belongs to one of the groups (a new one must be added to one).
    for f in tests/vm/e2e/*.sh; do
        n=$(basename "$f" .sh)
        case " $E2E_A $E2E_B $E2E_C $E2E_D $E2E_E " in
            *" $n "*) ;;
            *) echo "test.sh: tests/vm/e2e/$n.sh is in no VM boot group"; tfailed=$((tfailed + 1)) ;;
        esac
    done
    run_vm env L2TP_VM_E2E=0 tests/vm/kernel-tests.sh --kernel 6.1
    run_vm env L2TP_VM_UNIT=0 L2TP_VM_E2E_ONLY="$E2E_A" tests/vm/kernel-tests.sh --kernel 6.1
    run_vm env L2TP_VM_UNIT=0 L2TP_VM_E2E_ONLY="$E2E_B" tests/vm/kernel-tests.sh --kernel 6.1
    run_vm env L2TP_VM_UNIT=0 L2TP_VM_E2E_ONLY="$E2E_C" tests/vm/kernel-tests.sh --kernel 6.1
    run_vm env L2TP_VM_E2E_TIMEOUT=300 L2TP_VM_UNIT=0 L2TP_VM_E2E_ONLY="$E2E_D" tests/vm/kernel-tests.sh --kernel 6.1
    run_vm env L2TP_VM_UNIT=0 L2TP_VM_E2E_ONLY="$E2E_E" tests/vm/kernel-tests.sh --kernel 6.1
    run_vm env L2TP_VM_E2E=0 tests/vm/kernel-tests.sh --kernel 6.12
    echo "vm: all boots took $(( $(date +%s) - vm_start )) s"
fi

tfailed=$((tfailed + failed))
echo
echo "test: $passed passed, $tfailed failed"
[ "$tfailed" = 0 ]
