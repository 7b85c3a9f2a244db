#!/usr/bin/env bash
# tests/vm/run.sh — run one command inside a QEMU (TCG) VM booting a stock Debian kernel that has
# the L2TP / PPP modules, with this machine's whole root file system mounted read-only over 9p.
#
#   tests/vm/run.sh [--kernel 6.1|6.12] [--mem MB] [--timeout SECS] -- CMD [ARGS...]
#
# Inside the VM, CMD runs as root in a chroot of the host root, in the current directory (which must
# be visible at the same path, e.g. the repository checkout; one under /tmp is bound back), with fresh /tmp, /run, /proc, /sys,
# /dev, and the modules l2tp_eth l2tp_ip l2tp_ip6 l2tp_ppp l2tp_netlink pppoe veth tun loaded.
# A writable scratch share is mounted at /mnt inside the VM; its host path is exported to CMD as
# $VM_WORK (and on the host it stays in the cache dir until the next run).
# Exit status: CMD's status; 124 if the VM timed out; 125 on harness failure.
#
# Needs (Debian): qemu-system-x86 busybox-static kmod cpio (+ apt to fetch the kernel once).
# The kernel .deb and its extracted tree are cached under ${L2TP_VM_CACHE:-/var/cache/l2tp-vm};
# later runs do not download. Verbose console: L2TP_VM_VERBOSE=1.
# Recipe: ../shared/design/vm.md.
set -euo pipefail

KVER_SERIES=6.1
MEM=512
TIMEOUT=${L2TP_VM_TIMEOUT:-540}
while [[ $# -gt 0 ]]; do
    case "$1" in
        --kernel) KVER_SERIES=$2; shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1 (use -- before the command)" >&2; exit 125 ;;
    esac
done
[[ $# -gt 0 ]] || { echo "run.sh: no command given (usage: run.sh [--kernel 6.1|6.12] -- CMD ARGS...)" >&2; exit 125; }

CACHE=${L2TP_VM_CACHE:-/var/cache/l2tp-vm}
KCACHE=$CACHE/$KVER_SERIES
mkdir -p "$KCACHE"
die() { echo "run.sh: $*" >&2; exit 125; }
for tool in qemu-system-x86_64 cpio depmod modprobe gzip; do
    command -v "$tool" >/dev/null || die "missing $tool (apt-get install qemu-system-x86 kmod cpio)"
done
BUSYBOX=/bin/busybox
[[ -x $BUSYBOX ]] || die "missing /bin/busybox (apt-get install busybox-static)"

# --- 1. kernel package (download once) -------------------------------------------------------
pkg_name() {
    case "$KVER_SERIES" in
        6.1)
            apt-cache show linux-image-amd64 2>/dev/null \
                | sed -n 's/^Depends: \(linux-image-6\.1\.[^ ,]*-amd64\).*/\1/p' | head -n1 ;;
        6.12)
            apt-cache search --names-only '^linux-image-6\.12\.[0-9.]*\+deb12-amd64-unsigned$' 2>/dev/null \
                | awk '{print $1}' | sort -V | tail -n1 ;;
        *) die "unsupported --kernel $KVER_SERIES (6.1 or 6.12)" ;;
    esac
}
DEB=$(ls "$KCACHE"/linux-image-*.deb 2>/dev/null | head -n1 || true)
if [[ -z $DEB ]]; then
    PKG=$(pkg_name)
    if [[ -z $PKG ]]; then
        apt-get update -qq >&2 || true
        PKG=$(pkg_name)
    fi
    [[ -n $PKG ]] || die "cannot find a Debian kernel image package for $KVER_SERIES"
    echo "run.sh: downloading $PKG into $KCACHE" >&2
    (cd "$KCACHE" && apt-get download -q -o APT::Sandbox::User=root "$PKG" >&2) || die "apt-get download $PKG failed"
    DEB=$(ls "$KCACHE"/linux-image-*.deb | head -n1)
fi
KROOT=$KCACHE/kroot
if [[ ! -f $KROOT/.extracted ]]; then
    rm -rf "$KROOT"
    dpkg-deb -x "$DEB" "$KROOT"
    touch "$KROOT/.extracted"
fi
VMLINUZ=$(ls "$KROOT"/boot/vmlinuz-* | head -n1)
KVER=${VMLINUZ##*/vmlinuz-}
[[ -f $KROOT/lib/modules/$KVER/modules.dep ]] || depmod -b "$KROOT" "$KVER"

# --- 2. initramfs (cached; rebuilt when this script changes) ---------------------------------
MODULES="l2tp_eth l2tp_ip l2tp_ip6 l2tp_ppp l2tp_netlink pppoe veth tun 9p 9pnet_virtio virtio_pci"
INITRD=$KCACHE/initramfs.cpio.gz
STAMP=$(sha256sum "$0" | cut -c1-16)
if [[ ! -f $INITRD || "$(cat "$KCACHE/initramfs.stamp" 2>/dev/null)" != "$STAMP" ]]; then
    IR=$KCACHE/initrd
    rm -rf "$IR"
    mkdir -p "$IR"/{bin,dev,proc,sys,newroot,lib/modules/"$KVER"}
    cp "$BUSYBOX" "$IR/bin/busybox"
    for m in $MODULES; do
        modprobe -d "$KROOT" -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
    done | sort -u | while read -r f; do
        rel=${f#"$KROOT"}
        mkdir -p "$IR$(dirname "$rel")"
        cp "$f" "$IR$rel"
    done
    cp "$KROOT/lib/modules/$KVER"/modules.* "$IR/lib/modules/$KVER/"
    cat > "$IR/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
for m in $MODULES; do modprobe \$m || echo "init: modprobe \$m failed"; done
rc=125
if mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000 hostroot /newroot; then
    mount -t proc proc /newroot/proc
    mount -t sysfs sysfs /newroot/sys
    mount -t devtmpfs dev /newroot/dev
    [ -e /newroot/dev/ppp ] || mknod /newroot/dev/ppp c 108 0
    # The guest gets a fresh /tmp; the host's stays reachable at /tmp/.host (a checkout under
    # the host's /tmp is bound back to its own path by cmd.sh).
    mkdir -p /hosttmp
    mount -o bind /newroot/tmp /hosttmp
    mount -t tmpfs tmpfs /newroot/tmp
    mkdir -p /newroot/tmp/.host
    mount -o bind /hosttmp /newroot/tmp/.host
    mount -t tmpfs tmpfs /newroot/run
    mkdir -p /newroot/run/netns
    mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 work /newroot/mnt
    ip link set lo up 2>/dev/null
    chroot /newroot /bin/sh /mnt/cmd.sh
    rc=\$?
    echo \$rc > /newroot/mnt/rc
    sync
else
    echo "init: cannot mount host root"
fi
echo "VMTEST_EXIT=\$rc"
poweroff -f
EOF
    chmod +x "$IR/init"
    (cd "$IR" && find . | cpio -o -H newc --quiet | gzip -1) > "$INITRD"
    echo "$STAMP" > "$KCACHE/initramfs.stamp"
fi

# --- 3. work share and the command -----------------------------------------------------------
WORK=$CACHE/work.$$
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
{
    echo "#!/bin/sh"
    echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    echo "export HOME=/tmp L2TP_VM=1 VM_WORK=/mnt"
    for v in CARGO_TARGET_DIR RUST_BACKTRACE RUST_LOG L2TP_TEST_VERBOSE L2TP_BENCH_N; do
        [[ -n ${!v:-} ]] && printf 'export %s=%q\n' "$v" "${!v}"
    done
    # A checkout under the host's /tmp (CI clones may live there): bind its top directory
    # back to the same path over the guest's fresh /tmp.
    case $PWD in
        /tmp/?*)
            top=${PWD#/tmp/}
            top=/tmp/${top%%/*}
            printf 'mkdir -p %q && mount --bind %q %q || exit 125\n' "$top" "/tmp/.host${top#/tmp}" "$top"
            ;;
    esac
    printf 'cd %q || exit 125\n' "$PWD"
    printf '%q ' "$@"
    echo
} > "$WORK/cmd.sh"
chmod +x "$WORK/cmd.sh"

# --- 4. boot ---------------------------------------------------------------------------------
LOG=$WORK/console.log
set +e
# Multi-threaded TCG with one vCPU per host core (at most 2): a busy host still leaves the
# guest one thread's worth; L2TP_VM_SMP=1 gives the old single-threaded emulation.
SMP=${L2TP_VM_SMP:-$(( $(nproc) >= 2 ? 2 : 1 ))}
timeout --foreground -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -m "$MEM" -smp "$SMP" -nodefaults \
    -display none -no-reboot -serial stdio \
    -kernel "$VMLINUZ" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 oops=panic quiet loglevel=3" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap,id=hostroot \
    -virtfs local,path="$WORK",mount_tag=work,security_model=none,id=work \
    </dev/null 2>&1 | tee "$LOG" | if [[ ${L2TP_VM_VERBOSE:-0} == 1 ]]; then cat; else grep --line-buffered -v -E '^(\[ *[0-9.]+\]|init: )' || true; fi
QRC=${PIPESTATUS[0]}
set -e
if [[ $QRC == 124 ]]; then
    echo "run.sh: VM timed out after ${TIMEOUT}s" >&2
    exit 124
fi
RC=$(sed -n 's/.*VMTEST_EXIT=\([0-9]*\).*/\1/p' "$LOG" | tail -n1)
if [[ -z $RC ]]; then
    echo "run.sh: no VMTEST_EXIT on the console (qemu status $QRC); last lines:" >&2
    tail -n 20 "$LOG" >&2
    exit 125
fi
exit "$RC"
