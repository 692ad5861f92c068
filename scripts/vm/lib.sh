# shellcheck shell=bash
# scripts/vm/lib.sh — sourced by scripts/vm-test and scripts/demo.
# Kernel fetch/cache, initramfs build, qemu boot inside the testbed namespace.
# Expects: REPO (repo root), PROG, set -euo pipefail in the caller.

VM_CACHE=${NFSMOUNT_VM_CACHE:-/var/cache/nfsmount-vm}
VM_PKGS=(qemu-system-x86 busybox-static kmod cpio xz-utils gzip util-linux nfs-common rpcbind
    strace coreutils)
# modules the guest needs; the load order comes from modprobe --show-depends
VM_MODULES=(virtio_pci virtio_net nfsv3 nfsv4 sch_netem) # sch_netem: latency mode (tc netem)
GUEST_ADDR=10.213.0.2
GUEST_ADDR6=fd00:213::2
GUEST_NAME=nfsmount-guest
SERVER_NAME=nfsmount-server

vlog() { printf '%s: %s\n' "$PROG" "$*" >&2; }
vdie() {
    vlog "error: $*"
    exit 1
}
now_ms() { date +%s%3N; }

# ------------------------------------------------------------------ kernel
# vm_kernel: sets KVER, KROOT (extracted package root), VMLINUX, KCONFIG.
vm_kernel() {
    local t0 deb dl pkg
    t0=$(now_ms)
    KVER=${NFSMOUNT_VM_KVER:-}
    if [ -z "$KVER" ]; then
        KVER=$(vm_current_kver || true)
        if [ -z "$KVER" ]; then
            apt_update_once force || true
            KVER=$(vm_current_kver || true)
        fi
        if [ -z "$KVER" ]; then
            # offline: fall back to the newest kernel already in the cache
            KVER=$(find "$VM_CACHE" -maxdepth 2 -name ok -printf '%h\n' 2>/dev/null | xargs -r -n1 basename |
                sort -V | tail -n 1)
        fi
        [ -n "$KVER" ] || vdie "cannot determine the Debian kernel ABI (apt-cache depends linux-image-amd64)"
    fi
    local kdir=$VM_CACHE/$KVER
    KROOT=$kdir/root
    VMLINUX=$kdir/vmlinux
    KCONFIG=$KROOT/boot/config-$KVER
    if [ -e "$kdir/ok" ] && [ -s "$VMLINUX" ]; then
        vlog "kernel $KVER from cache $kdir"
        return 0
    fi
    vlog "fetching kernel linux-image-$KVER into $kdir"
    rm -rf "$kdir"
    dl=$kdir/dl
    mkdir -p "$dl" "$KROOT"
    pkg=linux-image-$KVER
    (cd "$dl" && timeout 600 apt-get download -q "$pkg" 2>&1 | grep -v "couldn't be accessed by user '_apt'" >&2) ||
        true
    deb=$(ls "$dl"/*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || vdie "apt-get download $pkg failed"
    dpkg-deb -x "$deb" "$KROOT"
    rm -rf "$dl"
    depmod -b "$KROOT" "$KVER"
    vm_extract_vmlinux "$KROOT/boot/vmlinuz-$KVER" "$VMLINUX.tmp"
    mv "$VMLINUX.tmp" "$VMLINUX"
    touch "$kdir/ok"
    vlog "kernel $KVER ready in $(($(now_ms) - t0)) ms"
}

vm_current_kver() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -n 1 | grep .
}

# The bzImage payload is xz (CONFIG_KERNEL_XZ); the inner vmlinux is an ELF with a
# PVH note, so qemu -kernel boots it directly (no decompressor under TCG).
vm_extract_vmlinux() {
    local bz=$1 out=$2 off
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -n 1 | cut -d: -f1)
    if [ -n "$off" ]; then
        tail -c +$((off + 1)) "$bz" | xz -dc --single-stream >"$out" 2>/dev/null || true
    fi
    if [ "$(head -c 4 "$out" 2>/dev/null | od -An -c | tr -d ' ')" != '177ELF' ]; then
        vlog "no xz-compressed ELF vmlinux found in $bz; booting the bzImage instead (slower)"
        cp "$bz" "$out"
    fi
}

# ------------------------------------------------------------------ initramfs
# copy_bin SRC [DEST-IN-ROOT]: copy a binary and its shared libraries into $IR.
copy_bin() {
    local src=$1 dst=${2:-$1} lib
    [ -e "$src" ] || vdie "missing $src"
    mkdir -p "$IR$(dirname "$dst")"
    cp -L "$src" "$IR$dst"
    # (a static binary has none: ldd and grep fail, which is fine)
    { ldd "$src" 2>/dev/null | grep -oE '(/[^ ]+\.so[^ ]*)' || true; } | while read -r lib; do
        [ -e "$IR$lib" ] && continue
        mkdir -p "$IR$(dirname "$lib")"
        cp -L "$lib" "$IR$lib"
    done
}

# vm_build_initramfs HELPER OUT CONF-VARS... : HELPER is a binary path or "nfs-utils".
vm_build_initramfs() {
    local helper=$1 out=$2 t0 m a
    shift 2
    t0=$(now_ms)
    IR=$(mktemp -d "${out%/*}/initramfs.XXXXXX")
    mkdir -p "$IR"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,bb,proc,sys,dev,run,tmp,root,mnt,etc}
    mkdir -p "$IR"/var/lib/nfs/{sm,sm.bak} "$IR/var/tmp"
    ln -s usr/bin "$IR/bin"
    ln -s usr/sbin "$IR/sbin"
    ln -s usr/lib "$IR/lib"
    ln -s usr/lib64 "$IR/lib64"

    # busybox: applets as symlinks in /bb (last in PATH, so real tools win)
    cp /bin/busybox "$IR/usr/bin/busybox"
    ln -s busybox "$IR/usr/bin/sh"
    for a in $(/bin/busybox --list); do
        ln -s /usr/bin/busybox "$IR/bb/$a"
    done

    # real tools (+ their libraries)
    copy_bin /usr/bin/mount
    copy_bin /usr/bin/umount
    copy_bin /usr/bin/flock
    copy_bin /usr/bin/date
    copy_bin /usr/sbin/rpcbind
    copy_bin /usr/sbin/rpcinfo
    copy_bin /usr/sbin/rpc.statd
    copy_bin /usr/sbin/sm-notify
    # tc (iproute2) for `netem delay` (scripts/vm/latency-guest.sh)
    [ -x /usr/sbin/tc ] && copy_bin /usr/sbin/tc
    cp /usr/sbin/start-statd "$IR/usr/sbin/start-statd"
    if [ -x /usr/bin/strace ] && [ "${VM_STRACE:-1}" = 1 ]; then
        copy_bin /usr/bin/strace
        STRACE_IN_GUEST=1
    else
        STRACE_IN_GUEST=0
    fi

    # the helper under test
    if [ "$helper" = nfs-utils ]; then
        copy_bin /usr/sbin/mount.nfs /usr/sbin/mount.nfs
    else
        copy_bin "$helper" /usr/sbin/mount.nfs
    fi
    chmod 4755 "$IR/usr/sbin/mount.nfs"
    for a in mount.nfs4 umount.nfs umount.nfs4; do
        ln -s mount.nfs "$IR/usr/sbin/$a"
    done

    # kernel modules in load order
    : >"$IR/etc/modules.load"
    while read -r m; do
        local rel=${m#"$KROOT"}
        mkdir -p "$IR$(dirname "$rel")"
        cp "$m" "$IR$rel"
        echo "$rel" >>"$IR/etc/modules.load"
    done < <(for m in "${VM_MODULES[@]}"; do modprobe -d "$KROOT" -S "$KVER" --show-depends "$m"; done |
        awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
    [ -s "$IR/etc/modules.load" ] || vdie "modprobe --show-depends gave no modules"
    for f in modules.order modules.builtin modules.builtin.modinfo; do
        [ -e "$KROOT/lib/modules/$KVER/$f" ] && cp "$KROOT/lib/modules/$KVER/$f" "$IR/lib/modules/$KVER/"
    done
    depmod -b "$IR" "$KVER" 2>/dev/null || true

    # /etc
    for f in netconfig services protocols rpc; do
        [ -e "/etc/$f" ] && cp "/etc/$f" "$IR/etc/$f"
    done
    cat >"$IR/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files
services: files
protocols: files
rpc: files
EOF
    cat >"$IR/etc/hosts" <<EOF
127.0.0.1 localhost
$GUEST_ADDR $GUEST_NAME
$TB_ADDR $SERVER_NAME
EOF
    cat >"$IR/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
_rpc:x:102:65534::/run/rpcbind:/usr/sbin/nologin
statd:x:103:65534::/var/lib/nfs:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
    cat >"$IR/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
    echo "$GUEST_NAME" >"$IR/etc/hostname"
    : >"$IR/etc/fstab"
    ln -s /proc/self/mounts "$IR/etc/mtab"
    chown -R 103:65534 "$IR/var/lib/nfs"

    # guest programs + config
    install -m 0755 "$REPO/scripts/vm/init" "$IR/init"
    install -m 0644 "$REPO/scripts/vm/cases.sh" "$IR/cases.sh"
    install -m 0644 "$REPO/scripts/vm/stormsafe.sh" "$IR/stormsafe.sh"
    {
        echo "SRV=$TB_ADDR"
        echo "EXP=$TB_EXPORT"
        echo "SRVNAME=$SERVER_NAME"
        echo "GUEST_ADDR=$GUEST_ADDR"
        echo "SRV6=${TB_TAP_ADDR6:-}"
        echo "GUEST_ADDR6=$GUEST_ADDR6"
        echo "GUEST_NAME=$GUEST_NAME"
        echo "STRACE=$STRACE_IN_GUEST"
        for a in "$@"; do printf '%s\n' "$a"; done
    } >"$IR/etc/vmtest.conf"

    (cd "$IR" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$out"
    rm -rf "$IR"
    vlog "initramfs $(du -h "$out" | cut -f1) built in $(($(now_ms) - t0)) ms"
}

# ------------------------------------------------------------------ accel
vm_accel() { # prints "tcg" or "kvm"
    case ${VM_ACCEL:-auto} in
        tcg | kvm) echo "$VM_ACCEL" ;;
        auto)
            if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
                echo kvm
            else
                echo tcg
            fi
            ;;
        *) vdie "bad --accel ${VM_ACCEL}" ;;
    esac
}

# ------------------------------------------------------------------ boot
# vm_boot TAG INITRD SERIALLOG : boots the guest inside the testbed namespace and
# serves HOSTREQ lines until it exits or the deadline passes.  Sets BOOT_RC
# (0 = guest finished, 1 = timeout/crash) and BOOT_MS.
vm_boot() {
    local tag=$1 initrd=$2 serial=$3 accel cpu ctl qpid t0 done_lines=0 deadline first_deadline
    local line n
    accel=$(vm_accel)
    cpu=max
    [ "$accel" = kvm ] && cpu=host
    ctl=${serial%.log}.ctl
    rm -f "$ctl.in" "$ctl.out" "$serial"
    mkfifo "$ctl.in" "$ctl.out"
    t0=$(now_ms)
    vlog "booting guest ($tag, accel=$accel) in netns $TB_NS"
    setsid ip netns exec "$TB_NS" qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m "${VM_MEM:-768}" -smp "${VM_SMP:-1}" \
        -nodefaults -no-user-config -display none -no-reboot -monitor none \
        -serial stdio -serial "pipe:$ctl" \
        -kernel "$VMLINUX" -initrd "$initrd" \
        -append "console=ttyS0 panic=-1 loglevel=3 nfsmount-vm-test" \
        -netdev "tap,id=n0,ifname=$TB_TAP,script=no,downscript=no" \
        -device virtio-net-pci,netdev=n0,mac=52:54:00:6e:66:73 \
        </dev/null >"$serial" 2>"${serial%.log}.qemu-err" &
    qpid=$!
    echo "$qpid" >"$TB_DIR/pids/qemu-$tag"
    VM_QPID=$qpid
    deadline=$(($(date +%s) + ${VM_TIMEOUT:-600}))
    # /init must print within this (TCG: ~3 s; generous for loaded CI machines)
    local boot_limit=${VM_BOOT_TIMEOUT:-120}
    [ "$accel" = kvm ] && [ "${VM_ACCEL:-auto}" = auto ] && boot_limit=45
    first_deadline=$(($(date +%s) + boot_limit))
    BOOT_RC=1
    while kill -0 "$qpid" 2>/dev/null; do
        n=$(wc -l <"$serial")
        if [ "$n" -gt "$done_lines" ]; then
            local new=()
            mapfile -t new < <(sed -n "$((done_lines + 1)),${n}p" "$serial" | tr -d '\r')
            done_lines=$n
            for line in "${new[@]}"; do
                [ "${VM_VERBOSE:-0}" = 1 ] && printf '  [%s] %s\n' "$tag" "$line" >&2
                if [ -n "${VM_ECHO_RE:-}" ] && [[ "$line" =~ $VM_ECHO_RE ]]; then
                    line_out=${line#DEMO}
                    printf '%s\n' "${line_out# }"
                fi
                case $line in
                    HOSTREQ\ *) vm_hostreq "$ctl.in" "$line" ;;
                esac
            done
        fi
        if [ "$(date +%s)" -gt "$deadline" ]; then
            vlog "guest ($tag) exceeded ${VM_TIMEOUT:-600}s; killing qemu $qpid"
            break
        fi
        if [ "$(date +%s)" -gt "$first_deadline" ] && ! grep -q 'VMTEST init' "$serial"; then
            vlog "guest ($tag) did not reach /init within ${boot_limit}s; killing qemu $qpid"
            break
        fi
        sleep 0.1
    done
    if kill -0 "$qpid" 2>/dev/null; then
        kill -TERM "$qpid" 2>/dev/null || true
        sleep 1
        kill -KILL "$qpid" 2>/dev/null || true
    fi
    wait "$qpid" 2>/dev/null || true
    # lines written just before the guest powered off
    n=$(wc -l <"$serial")
    if [ "$n" -gt "$done_lines" ]; then
        while IFS= read -r line; do
            [ "${VM_VERBOSE:-0}" = 1 ] && printf '  [%s] %s\n' "$tag" "$line" >&2
            if [ -n "${VM_ECHO_RE:-}" ] && [[ "$line" =~ $VM_ECHO_RE ]]; then
                line_out=${line#DEMO}
                printf '%s\n' "${line_out# }"
            fi
        done < <(sed -n "$((done_lines + 1)),${n}p" "$serial" | tr -d '\r')
    fi
    rm -f "$TB_DIR/pids/qemu-$tag"
    VM_QPID=
    for p in "${VM_BGPIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    VM_BGPIDS=()
    rm -f "$ctl.in" "$ctl.out"
    grep -q '^VMTEST done' <(tr -d '\r' <"$serial") && BOOT_RC=0
    BOOT_MS=$(($(now_ms) - t0))
    # auto-detected KVM that cannot boot the guest (e.g. nested/PVM): fall back to TCG
    if [ "$BOOT_RC" != 0 ] && [ "$accel" = kvm ] && [ "${VM_ACCEL:-auto}" = auto ] &&
        ! grep -q 'VMTEST init' "$serial"; then
        vlog "KVM did not boot the guest; retrying with TCG (set --accel kvm to insist)"
        VM_ACCEL=tcg
        vm_boot "$@"
    fi
}

VM_BGPIDS=()
VM_MARK=0

vm_ack() { # FIFO ID REPLY
    timeout 5 bash -c 'printf "ACK %s %s\n" "$2" "$3" >"$1"' _ "$1" "$2" "$3" ||
        vlog "could not send ACK $2 to the guest"
}

# vm_hostreq FIFO "HOSTREQ <id> <verb> args..."
vm_hostreq() {
    local fifo=$1 id verb reply
    read -r _ id verb rest <<<"$2"
    local args=()
    read -r -a args <<<"${rest:-}"
    reply="fail unknown request"
    case $verb in
        stop)
            if "$REPO/scripts/testbed" ctl --name "$TB_NS" stop "${args[0]}" >/dev/null 2>&1; then
                reply=ok
            else reply="fail testbed ctl stop ${args[0]} failed"; fi
            ;;
        start)
            if "$REPO/scripts/testbed" ctl --name "$TB_NS" start "${args[0]}" >/dev/null 2>&1; then
                reply=ok
            else reply="fail testbed ctl start ${args[0]} failed"; fi
            ;;
        fault)
            # testbed faults (nftables in the namespace) for the fault cases
            case "${args[0]:-}" in
                block | unblock | reject | unreject | unblock-all)
                    if "$REPO/scripts/testbed" ctl --name "$TB_NS" "${args[@]}" >/dev/null 2>&1; then
                        reply=ok
                    else reply="fail testbed ctl ${args[*]} failed"; fi
                    ;;
                *) reply="fail fault verb '${args[0]:-}' not allowed" ;;
            esac
            ;;
        start-after)
            ("sleep" "${args[0]}" && "$REPO/scripts/testbed" ctl --name "$TB_NS" start "${args[1]}" \
                >>"$TB_DIR/logs/vm-hostreq.log" 2>&1) &
            VM_BGPIDS+=($!)
            reply=ok
            ;;
        check-file)
            local f=$TB_EXPORT/${args[0]} want=${args[1]} got
            got=$(cat "$f" 2>/dev/null || echo "<missing>")
            if [ "$got" = "$want" ]; then
                reply="ok $f has the token"
            else
                reply="fail $f: '$got' != '$want'"
            fi
            ;;
        logmark)
            VM_MARK=$(stat -c %s "$TB_DIR/logs/ganesha.log" 2>/dev/null || echo 0)
            reply=ok
            ;;
        check-umnt)
            # ganesha logs each dispatched request at DISPATCH debug level (testbed --debug)
            local hits i
            for i in 1 2 3 4 5 6 7 8 9 10; do
                hits=$(tail -c +$((VM_MARK + 1)) "$TB_DIR/logs/ganesha.log" | vm_umnt_lines | head -n 1)
                [ -n "$hits" ] && break
                sleep 0.2
            done
            if [ -n "$hits" ]; then
                reply="ok $(sed 's/^.*:DEBUG :Request/Request/' <<<"$hits" | cut -c1-160)"
            else
                reply="fail no MOUNT v3 UMNT (procedure 3) from $GUEST_ADDR in ganesha.log after the mark"
            fi
            ;;
        *) declare -F vm_hostreq_ext >/dev/null && reply=$(vm_hostreq_ext "$verb" "${args[@]}") ;;
    esac
    vm_ack "$fifo" "$id" "$reply"
}

# filter ganesha.log for MOUNT protocol UMNT requests from the guest
vm_umnt_lines() {
    grep -E "$VM_UMNT_RE" | grep -F "$GUEST_ADDR" || true
}
# ganesha 4.3, DISPATCH at DEBUG: "Request from ::ffff:10.213.0.2 for Program 100005, Version 3, Function 3 has xid=..."
VM_UMNT_RE='Request from [^ ]* for Program 100005, Version [0-9]+, Function 3 '
# extra HOSTREQ verbs (count-mnt for the stormsafe case)
# shellcheck source=stormsafe-host.sh
. "$REPO/scripts/vm/stormsafe-host.sh"
