# shellcheck shell=bash
# scripts/vm/knfsd.sh — sourced by scripts/vm/lib.sh: the knfsd server guest.
#
# Topology (scripts/vm-test --server knfsd): inside the test bed's namespace a
# bridge <NS>-br0 holds the namespace's addresses (10.213.0.1, fd00:213::1) and
# two taps: <NS>-tap0 (client guest, 10.213.0.2) and <NS>-tap1 (server guest,
# 10.213.0.3 / fd00:213::3). Still no route out of the namespace.
# The server guest runs Debian 13's kernel and nfs-kernel-server 2.8.3 from the
# trixie userspace (vm_trixie_root); scripts/vm/server-init is its /init.
# Requests: knfsd_req VERB ARGS over its second serial port, reply on its console.

KNFSD_ADDR=10.213.0.3
KNFSD_ADDR6=fd00:213::3
KNFSD_NAME=nfsmount-knfsd
KNFSD_MODULES=(virtio_pci virtio_net nfsd tls "${VM_TLS_CRYPTO[@]}")
KNFSD_REQ=0
KNFSD_QPID=

# knfsd_bridge: put the namespace's tap into a bridge with a second tap
knfsd_bridge() {
    local br=$TB_NS-br0 tap1=$TB_NS-tap1
    KNFSD_TAP=$tap1
    ip -n "$TB_NS" link show "$br" >/dev/null 2>&1 && return 0
    ip -n "$TB_NS" link add "$br" type bridge
    ip -n "$TB_NS" tuntap add dev "$tap1" mode tap
    ip -n "$TB_NS" addr flush dev "$TB_TAP"
    ip -n "$TB_NS" link set "$TB_TAP" master "$br"
    ip -n "$TB_NS" link set "$tap1" master "$br"
    ip -n "$TB_NS" addr add "$TB_TAP_ADDR/24" dev "$br"
    ip -n "$TB_NS" addr add "$TB_TAP_ADDR6/64" dev "$br" nodad
    ip -n "$TB_NS" link set "$tap1" up
    ip -n "$TB_NS" link set "$br" up
}

# knfsd_initramfs OUT: the server's root: the trixie userspace, 6.12 modules, /init
knfsd_initramfs() {
    local out=$1 t0 a
    t0=$(now_ms)
    IR=$(mktemp -d "${out%/*}/srv-initramfs.XXXXXX")
    cp -a "$TRX/." "$IR/"
    rm -f "$IR/.ok"
    mkdir -p "$IR"/{proc,sys,dev,run,tmp,root,bb,etc} "$IR/lib/modules"
    for a in $("$IR/usr/bin/busybox" --list); do ln -s /usr/bin/busybox "$IR/bb/$a"; done
    vm_copy_modules "$SKROOT" "$SKVER" "${KNFSD_MODULES[@]}"
    vm_tls_files server
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
    printf 'passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\nrpc: files\n' \
        >"$IR/etc/nsswitch.conf"
    cat >"$IR/etc/hosts" <<EOF
127.0.0.1 localhost
$KNFSD_ADDR $KNFSD_NAME $SERVER_NAME
$GUEST_ADDR $GUEST_NAME
EOF
    ln -sf /proc/self/mounts "$IR/etc/mtab"
    install -m 0755 "$REPO/scripts/vm/server-init" "$IR/init"
    {
        echo "SRV_ADDR=$KNFSD_ADDR"
        echo "SRV_ADDR6=$KNFSD_ADDR6"
        echo "SRV_NAME=$KNFSD_NAME"
        echo "EXP=$TB_EXPORT"
        echo "CLIENT_NET=${TB_TAP_SUBNET:-10.213.0.0/24}"
        echo "CLIENT_NET6=${TB_TAP_SUBNET6:-fd00:213::/64}"
        echo "EXPORT_EXTRA=${KNFSD_EXPORT_EXTRA:-}"
    } >"$IR/etc/srv.conf"
    (cd "$IR" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$out"
    rm -rf "$IR"
    vlog "server initramfs $(du -h "$out" | cut -f1) built in $(($(now_ms) - t0)) ms"
}

# knfsd_start DIR: boot the server guest (kernel 6.12), wait for SRVREADY
knfsd_start() {
    local dir=$1 t0 deadline
    mkdir -p "$dir"
    knfsd_bridge
    knfsd_initramfs "$dir/initramfs.cpio.gz"
    KNFSD_LOG=$dir/serial.log
    KNFSD_CTL=$dir/serial.ctl
    rm -f "$KNFSD_CTL.in" "$KNFSD_CTL.out" "$KNFSD_LOG"
    mkfifo "$KNFSD_CTL.in" "$KNFSD_CTL.out"
    : >"$KNFSD_LOG"
    t0=$(now_ms)
    vlog "booting the knfsd server guest (kernel $SKVER) in netns $TB_NS"
    setsid ip netns exec "$TB_NS" qemu-system-x86_64 -accel "$(vm_accel)" -cpu max -m "${KNFSD_MEM:-512}" -smp 1 \
        -nodefaults -no-user-config -display none -no-reboot -monitor none \
        -serial stdio -serial "pipe:$KNFSD_CTL" \
        -kernel "$SVMLINUX" -initrd "$dir/initramfs.cpio.gz" \
        -append "console=ttyS0 panic=-1 loglevel=3 nfsmount-vm-server" \
        -netdev "tap,id=n0,ifname=$KNFSD_TAP,script=no,downscript=no" \
        -device virtio-net-pci,netdev=n0,mac=52:54:00:6e:66:74 \
        </dev/null >"$KNFSD_LOG" 2>"$dir/qemu-err" &
    KNFSD_QPID=$!
    echo "$KNFSD_QPID" >"$TB_DIR/pids/qemu-knfsd"
    deadline=$(($(date +%s) + ${KNFSD_BOOT_TIMEOUT:-180}))
    until grep -q '^SRVREADY' <(tr -d '\r' <"$KNFSD_LOG"); do
        kill -0 "$KNFSD_QPID" 2>/dev/null || vdie "knfsd server guest died (see $KNFSD_LOG)"
        [ "$(date +%s)" -lt "$deadline" ] || vdie "knfsd server guest not ready in ${KNFSD_BOOT_TIMEOUT:-180}s (see $KNFSD_LOG)"
        sleep 0.2
    done
    rm -f "$dir/initramfs.cpio.gz"
    KNFSD_READY_MS=$(($(now_ms) - t0))
    tr -d '\r' <"$KNFSD_LOG" | grep -E '^SRV (error|insmod|portlist|exports|warning)' | sed 's/^/  server: /' >&2 || true
    vlog "knfsd server ready in ${KNFSD_READY_MS} ms"
}

# knfsd_req VERB ARGS... : prints the reply ("ok ..." / "fail ...") and leaves it
# in KNFSD_ANS; status 0 = ok. Request ids are unique per request (time stamp
# and counter), also when requests come from subshells: with a bare counter two
# requests shared an id and the reply to an earlier one was taken for a later
# one's.
knfsd_req() {
    local id t0 line
    KNFSD_REQ=$((KNFSD_REQ + 1))
    id=${EPOCHREALTIME/./}.$KNFSD_REQ
    KNFSD_ANS="fail no reply from the server guest to '$*'"
    # shellcheck disable=SC2016 # expanded by the inner bash
    if ! timeout 5 bash -c 'printf "%s\n" "$2" >"$1"' _ "$KNFSD_CTL.in" "$id $*"; then
        KNFSD_ANS="fail could not write to the server's control channel"
        echo "$KNFSD_ANS"
        return 1
    fi
    t0=$(date +%s)
    while [ $(($(date +%s) - t0)) -lt "${KNFSD_REQ_TIMEOUT:-30}" ]; do
        line=$(tr -d '\r' <"$KNFSD_LOG" | grep -F "SRVACK $id " | tail -n 1)
        if [ -n "$line" ]; then
            KNFSD_ANS=${line#"SRVACK $id "}
            echo "$KNFSD_ANS"
            [ "${KNFSD_ANS%% *}" = ok ]
            return
        fi
        sleep 0.1
    done
    echo "$KNFSD_ANS"
    return 1
}

# knfsd_hostreq VERB ARGS : the client's HOSTREQ verbs that concern the server.
# Returns 1 for verbs it does not handle; else sets KNFSD_REPLY.
knfsd_hostreq() {
    local verb=$1
    shift
    case $verb in
        check-file) knfsd_req check-file "$@" ;;
        logmark) knfsd_req logmark ;;
        check-umnt) knfsd_req check-umnt "$GUEST_ADDR" ;;
        count-mnt) knfsd_req count-mnt "$GUEST_ADDR" ;;
        stop | start) knfsd_req "$verb" ;;
        srv) knfsd_req "$@" ;;
        fault) KNFSD_ANS="fail testbed faults act on the namespace's own daemons, not on the knfsd guest" ;;
        *) return 1 ;;
    esac >/dev/null
    KNFSD_REPLY=$KNFSD_ANS
    return 0
}

knfsd_stop() {
    [ -n "${KNFSD_QPID:-}" ] || return 0
    if kill -0 "$KNFSD_QPID" 2>/dev/null; then
        knfsd_req poweroff >/dev/null 2>&1 || true
        local n=0
        while kill -0 "$KNFSD_QPID" 2>/dev/null && [ $n -lt 30 ]; do sleep 0.1; n=$((n + 1)); done
        kill -KILL "$KNFSD_QPID" 2>/dev/null || true
    fi
    wait "$KNFSD_QPID" 2>/dev/null || true
    rm -f "$TB_DIR/pids/qemu-knfsd" "$KNFSD_CTL.in" "$KNFSD_CTL.out"
    KNFSD_QPID=
}

# ------------------------------------------------------------------ TLS
# vm_tls_certs: a self-signed CA and server/client certificates for tlshd
# (cached in $VM_CACHE/tls; the server's names and addresses as subjectAltName:
# the client's tlshd checks the name the mount used, e.g. 10.213.0.3).
vm_tls_certs() {
    VM_TLS=$VM_CACHE/tls
    [ -s "$VM_TLS/client.pem" ] && [ -s "$VM_TLS/server.pem" ] && return 0
    rm -rf "$VM_TLS.tmp"
    mkdir -p "$VM_TLS.tmp"
    (
        cd "$VM_TLS.tmp" || exit 1
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -subj "/CN=nfsmount test CA" -keyout ca.key -out ca.pem \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign || exit 1
        for who in server client; do
            if [ "$who" = server ]; then
                san="IP:$KNFSD_ADDR,IP:$KNFSD_ADDR6,DNS:$KNFSD_NAME,DNS:$SERVER_NAME"
            else
                san="IP:$GUEST_ADDR,IP:$GUEST_ADDR6,DNS:$GUEST_NAME"
            fi
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=nfsmount-$who" \
                -keyout "$who.key" -out "$who.csr" || exit 1
            printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$san" >"$who.ext"
            openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
                -extfile "$who.ext" -out "$who.pem" || exit 1
        done
    ) >"$VM_CACHE/tls-gen.log" 2>&1 || vdie "openssl could not make the test certificates (see $VM_CACHE/tls-gen.log)"
    rm -f "$VM_TLS.tmp"/*.csr "$VM_TLS.tmp"/*.ext "$VM_TLS.tmp"/*.srl "$VM_TLS.tmp/ca.key"
    mv "$VM_TLS.tmp" "$VM_TLS"
}

# vm_tls_files server|client : certificates and /etc/tlshd/tlshd.conf into $IR
vm_tls_files() {
    local who=$1
    vm_tls_certs
    mkdir -p "$IR/etc/tlshd"
    cp "$VM_TLS/ca.pem" "$VM_TLS/$who.pem" "$VM_TLS/$who.key" "$IR/etc/tlshd/"
    chmod 600 "$IR/etc/tlshd/$who.key"
    {
        printf '[debug]\nloglevel=%s\ntls=0\nnl=0\n\n' "${VM_TLSHD_LOGLEVEL:-1}"
        printf '[authenticate.%s]\nx509.truststore=/etc/tlshd/ca.pem\n' "$who"
        printf 'x509.certificate=/etc/tlshd/%s.pem\nx509.private_key=/etc/tlshd/%s.key\n' "$who" "$who"
    } >"$IR/etc/tlshd/tlshd.conf"
}
