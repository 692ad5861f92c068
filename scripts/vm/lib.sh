# shellcheck shell=bash
# scripts/vm/lib.sh — sourced by scripts/vm-test and scripts/demo.
# Kernel fetch/cache, initramfs build, qemu boot inside the testbed namespace.
# Expects: REPO (repo root), PROG, set -euo pipefail in the caller.

VM_CACHE=${NFSMOUNT_VM_CACHE:-/var/cache/nfsmount-vm}
VM_PKGS=(qemu-system-x86 busybox-static kmod cpio xz-utils zstd gzip util-linux nfs-common rpcbind
    strace coreutils openssl)
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
# vm_kernel [6.1|6.12]: sets KVER, KROOT (extracted package root), VMLINUX, KCONFIG.
# 6.1 (default, VM_KERNEL) is the machine's Debian 12 kernel (the host's apt
# configuration); 6.12 is Debian 13 (trixie) through the project-owned apt
# configuration of scripts/vm/pkgs.sh.
vm_kernel() {
    local t0 series=${1:-${VM_KERNEL:-6.1}} suite
    t0=$(now_ms)
    case $series in
        6.1) suite=host ;;
        6.12) suite=trixie ;;
        *) vdie "unknown kernel series '$series' (6.1 or 6.12)" ;;
    esac
    KVER=${NFSMOUNT_VM_KVER:-}
    [ "$series" = 6.12 ] && KVER=${NFSMOUNT_VM_KVER_612:-}
    if [ -z "$KVER" ]; then
        [ "$suite" = host ] || deb_suite_ready "$suite" || true
        KVER=$(vm_current_kver "$suite" || true)
        if [ -z "$KVER" ] && [ "$suite" = host ]; then
            apt_update_once force || true
            KVER=$(vm_current_kver "$suite" || true)
        fi
        if [ -z "$KVER" ]; then
            # offline: fall back to the newest kernel of that series already in the cache
            KVER=$(find "$VM_CACHE" -maxdepth 2 -name ok -printf '%h\n' 2>/dev/null | xargs -r -n1 basename |
                grep -E "^${series//./\\.}\.[0-9]" | sort -V | tail -n 1)
        fi
        [ -n "$KVER" ] || vdie "cannot determine the Debian kernel ABI for $series (apt-cache depends linux-image-amd64)"
    fi
    local kdir=$VM_CACHE/$KVER
    KROOT=$kdir/root
    VMLINUX=$kdir/vmlinux
    KCONFIG=$KROOT/boot/config-$KVER
    if [ -e "$kdir/ok" ] && [ -s "$VMLINUX" ]; then
        vlog "kernel $KVER from cache $kdir"
        return 0
    fi
    vlog "fetching kernel linux-image-$KVER ($suite) into $kdir"
    rm -rf "$kdir"
    mkdir -p "$KROOT"
    deb_get --suite "$suite" --into "$KROOT" "linux-image-$KVER" || vdie "could not fetch linux-image-$KVER"
    # merged /usr (trixie): modules in usr/lib/modules; depmod -b and modprobe -d look in lib/
    [ -e "$KROOT/lib" ] || ln -s usr/lib "$KROOT/lib"
    depmod -b "$KROOT" "$KVER"
    vm_extract_vmlinux "$KROOT/boot/vmlinuz-$KVER" "$VMLINUX.tmp"
    mv "$VMLINUX.tmp" "$VMLINUX"
    touch "$kdir/ok"
    vlog "kernel $KVER ready in $(($(now_ms) - t0)) ms"
}

vm_current_kver() { # SUITE
    deb_apt "${1:-host}" apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: linux-image-\([0-9][^ ]*-amd64\)$/\1/p' | head -n 1 | grep .
}

# The bzImage payload is xz (Debian 12, CONFIG_KERNEL_XZ) or zstd (Debian 13,
# CONFIG_KERNEL_ZSTD); the inner vmlinux is an ELF with a PVH note, so qemu
# -kernel boots it directly (no decompressor under TCG).
vm_extract_vmlinux() {
    local bz=$1 out=$2 off
    off=$({ LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" || true; } | head -n 1 | cut -d: -f1)
    if [ -n "$off" ]; then
        tail -c +$((off + 1)) "$bz" | xz -dc --single-stream >"$out" 2>/dev/null || true
    else
        off=$({ LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$bz" || true; } | head -n 1 | cut -d: -f1)
        # zstd -d stops with an error at the trailing bytes after the frame: the output is complete
        [ -n "$off" ] && { tail -c +$((off + 1)) "$bz" | zstd -dc -q >"$out" 2>/dev/null || true; }
    fi
    if [ "$(head -c 4 "$out" 2>/dev/null | od -An -c | tr -d ' ')" != '177ELF' ]; then
        vlog "no xz/zstd-compressed ELF vmlinux found in $bz; booting the bzImage instead (slower)"
        cp "$bz" "$out"
    fi
}

# ------------------------------------------------------------------ trixie userspace
# Debian 13 programs for the guests (nfs-utils 2.8.3 mount.nfs as a second
# reference, the knfsd server, tlshd): packages plus their library closure,
# unpacked once into $VM_CACHE/trixie-root (no maintainer scripts run).
TRX_PKGS=(nfs-common nfs-kernel-server rpcbind ktls-utils busybox-static netbase libc-bin)
vm_trixie_root() {
    TRX=$VM_CACHE/trixie-root
    # the marker names the packages and the closure rule (v2: zlib1g too)
    local want="${TRX_PKGS[*]} closure-v2" t0 d
    [ -e "$TRX/.ok" ] && [ "$(cat "$TRX/.ok")" = "$want" ] && return 0
    t0=$(now_ms)
    rm -rf "$TRX.tmp" "$TRX"
    deb_get --suite trixie --into "$TRX.tmp" --deps "${TRX_PKGS[@]}" || vdie "could not fetch the trixie packages"
    rm -rf "$TRX.tmp"/usr/share/{doc,man,info,locale,lintian,bug,zsh,bash-completion,i18n} \
        "$TRX.tmp"/usr/lib/x86_64-linux-gnu/gconv
    for d in bin sbin lib lib64; do [ -e "$TRX.tmp/$d" ] || ln -s "usr/$d" "$TRX.tmp/$d"; done
    # every library the programs need must come from the trixie root itself: a
    # gap in the closure would otherwise be filled from this host at build time
    # and fail in the guest ("libz.so.1: cannot open shared object file")
    local b gaps
    for b in "$TRX.tmp"/usr/sbin/* "$TRX.tmp"/usr/bin/*; do
        if [ ! -f "$b" ] || [ -L "$b" ] || ! head -c 4 "$b" | grep -q ELF; then continue; fi
        gaps=$("$TRX.tmp/usr/lib64/ld-linux-x86-64.so.2" --library-path "$TRX.tmp/usr/lib/x86_64-linux-gnu" \
            --list "$b" 2>/dev/null | grep -E '=> (/|not found)' | grep -v "=> $TRX.tmp/" || true)
        [ -z "$gaps" ] || vdie "trixie root: ${b#"$TRX.tmp"} needs libraries outside it: $(echo "$gaps" | tr -s '\n\t ' ' ')"
    done
    echo "$want" >"$TRX.tmp/.ok"
    mv "$TRX.tmp" "$TRX"
    vlog "trixie userspace ready in $TRX in $(($(now_ms) - t0)) ms"
}

# trx_copy BIN... : copy trixie programs (paths inside the trixie root) and their
# libraries into $IR/trixie (run in the guest through /trixie's own ld.so).
trx_copy() {
    local b lib ld=$TRX/usr/lib64/ld-linux-x86-64.so.2
    mkdir -p "$IR/trixie/usr/lib/x86_64-linux-gnu" "$IR/trixie/usr/lib64" "$IR/trixie/usr/sbin"
    [ -e "$IR/trixie/usr/lib64/ld-linux-x86-64.so.2" ] || cp -L "$ld" "$IR/trixie/usr/lib64/"
    for b in "$@"; do
        mkdir -p "$IR/trixie$(dirname "$b")"
        cp -L "$TRX$b" "$IR/trixie$b"
        { "$ld" --library-path "$TRX/usr/lib/x86_64-linux-gnu" --list "$TRX$b" 2>/dev/null |
            grep -oE "$TRX/[^ ]+\.so[^ ]*" || true; } | while read -r lib; do
            [ -e "$IR/trixie/usr/lib/x86_64-linux-gnu/${lib##*/}" ] ||
                cp -L "$lib" "$IR/trixie/usr/lib/x86_64-linux-gnu/"
        done
    done
}

# trx_wrapper NAME BIN : /usr/sbin/NAME in the guest runs trixie's BIN (same argv[0])
trx_wrapper() {
    # The loader runs under a copy named after the program, so the process's
    # comm is the program's name, as for an installed one (the helper's
    # diagnosis looks for a process named "tlshd").
    mkdir -p "$IR/trixie/ld"
    cp "$IR/trixie/usr/lib64/ld-linux-x86-64.so.2" "$IR/trixie/ld/$1"
    # shellcheck disable=SC2016 # "$0" and "$@" belong to the wrapper
    printf '#!/bin/sh\nexec /trixie/ld/%s --argv0 "$0" --library-path /trixie/usr/lib/x86_64-linux-gnu /trixie%s "$@"\n' \
        "$1" "$2" >"$IR/usr/sbin/$1"
    chmod 755 "$IR/usr/sbin/$1"
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

# vm_build_initramfs HELPER OUT CONF-VARS... : HELPER is a binary path, "nfs-utils"
# (the machine's Debian 12 mount.nfs, 2.6.2) or "nfs-utils-2.8.3" (Debian 13's).
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
    # setuid as on Debian: the user-mount8 cases run them as ordinary users
    chmod 4755 "$IR/usr/bin/mount" "$IR/usr/bin/umount"
    copy_bin /usr/bin/flock
    # user mounts (the user-* cases): run the setuid helper as an ordinary user
    copy_bin /usr/bin/setpriv
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
    elif [ "$helper" = nfs-utils-2.8.3 ]; then
        # Debian 13's mount.nfs (nfs-common 2.8.3) with its own libraries
        vm_trixie_root
        trx_copy /usr/sbin/mount.nfs
        trx_wrapper mount.nfs /usr/sbin/mount.nfs
    else
        copy_bin "$helper" /usr/sbin/mount.nfs
    fi
    chmod 4755 "$IR/usr/sbin/mount.nfs"
    for a in mount.nfs4 umount.nfs umount.nfs4; do
        ln -s mount.nfs "$IR/usr/sbin/$a"
    done
    # the operators' tools (nfsmount explain/doctor): our helper only
    [ "$helper" = nfs-utils ] || ln -s mount.nfs "$IR/usr/sbin/nfsmount"

    # kernel modules in load order
    local mods=("${VM_MODULES[@]}")
    # NFS over TLS (Linux 6.5+): the kernel's tls module and tlshd (ktls-utils 1.0 from Debian 13)
    if grep -q '^CONFIG_NET_HANDSHAKE=y' "$KCONFIG" 2>/dev/null; then
        mods+=(tls "${VM_TLS_CRYPTO[@]}")
        vm_trixie_root
        trx_copy /usr/sbin/tlshd
        trx_wrapper tlshd /usr/sbin/tlshd
        vm_tls_files client
    fi
    vm_copy_modules "$KROOT" "$KVER" "${mods[@]}"

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
nfsu1:x:1001:1001:user mounts (vm-test):/nonexistent:/usr/sbin/nologin
nfsu2:x:1002:1002:user mounts (vm-test):/nonexistent:/usr/sbin/nologin
EOF
    cat >"$IR/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
nfsu1:x:1001:
nfsu2:x:1002:
EOF
    echo "$GUEST_NAME" >"$IR/etc/hostname"
    : >"$IR/etc/fstab"
    ln -s /proc/self/mounts "$IR/etc/mtab"
    chown -R 103:65534 "$IR/var/lib/nfs"

    # guest programs + config
    install -m 0755 "$REPO/scripts/vm/init" "$IR/init"
    install -m 0644 "$REPO/scripts/vm/cases.sh" "$IR/cases.sh"
    install -m 0644 "$REPO/tests/cases/mount.cases" "$IR/mount.cases"
    install -m 0644 "$REPO/scripts/vm/stormsafe.sh" "$IR/stormsafe.sh"
    install -m 0644 "$REPO/scripts/vm/tls.sh" "$IR/tls.sh"
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

# vm_copy_modules KROOT KVER MODULE... : the modules and their dependencies into
# $IR/lib/modules (decompressed), load order in $IR/etc/modules.load, depmod.
# kTLS ciphers: the guests have no modprobe for the kernel's request_module,
# so the AEADs a TLS 1.3 session may pick are loaded up front (without them
# tlshd's handshake succeeds and then "The kernel does not support the
# requested algorithm")
VM_TLS_CRYPTO=(gcm ghash-generic aesni-intel ccm chacha20poly1305)
vm_copy_modules() {
    local kroot=$1 kver=$2 m f
    shift 2
    : >"$IR/etc/modules.load"
    while read -r m; do
        local rel=/lib/modules/${m#*/lib/modules/}
        mkdir -p "$IR$(dirname "$rel")"
        case $m in
            # busybox insmod cannot read compressed modules (Debian 13: .ko.xz)
            *.ko.xz) rel=${rel%.xz}; xz -dc "$m" >"$IR$rel" ;;
            *.ko.zst) rel=${rel%.zst}; zstd -dcq "$m" >"$IR$rel" ;;
            *) cp "$m" "$IR$rel" ;;
        esac
        echo "$rel" >>"$IR/etc/modules.load"
    done < <(for m in "$@"; do modprobe -d "$kroot" -S "$kver" --show-depends "$m"; done |
        awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
    [ -s "$IR/etc/modules.load" ] || vdie "modprobe --show-depends gave no modules"
    mkdir -p "$IR/lib/modules/$kver"
    for f in modules.order modules.builtin modules.builtin.modinfo; do
        [ -e "$kroot/lib/modules/$kver/$f" ] && cp "$kroot/lib/modules/$kver/$f" "$IR/lib/modules/$kver/"
    done
    depmod -b "$IR" "$kver" 2>/dev/null || true
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
    # shellcheck disable=SC2016 # expanded by the inner bash
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
    if [ "${SERVER:-ganesha}" = knfsd ] && knfsd_hostreq "$verb" "${args[@]}"; then
        vm_ack "$fifo" "$id" "$KNFSD_REPLY"
        return
    fi
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
                block | unblock | reject | unreject | unblock-all | loss)
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
                case $hits in *":DEBUG :Request"*) hits="Request${hits##*:DEBUG :Request}" ;; esac
                reply="ok ${hits:0:160}"
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
# the knfsd server guest (scripts/vm-test --server knfsd)
# shellcheck source=knfsd.sh
. "$REPO/scripts/vm/knfsd.sh"
# extra HOSTREQ verbs (count-mnt for the stormsafe case)
# shellcheck source=stormsafe-host.sh
. "$REPO/scripts/vm/stormsafe-host.sh"
