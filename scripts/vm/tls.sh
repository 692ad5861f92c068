# shellcheck shell=dash disable=SC2086
# Guest cases xprtsec-* for scripts/vm-test (sourced by /cases.sh; busybox sh):
# NFS over TLS (RFC 9289, Linux 6.5+ client, `xprtsec=tls|mtls`) against the
# knfsd server guest, whose second export "$EXP-tls" admits only TLS clients
# (exports option xprtsec=tls:mtls). tlshd runs in both guests with
# certificates from a CA the host scripts made (scripts/vm/knfsd.sh).
# Evidence that the traffic is TLS: the mount of the TLS-only export works
# (and the same mount without xprtsec= is refused), the kernel's kTLS counters
# (/proc/net/tls_stat) grow, and tlshd logs a successful handshake.
SPEC_TLS="$SRV:$EXP-tls"

tls_total() { # sum of the kTLS session counters (software and device, tx and rx)
    awk '$1 ~ /^Tls(Tx|Rx)(Sw|Device)$/ { s += $2 } END { print s + 0 }' /proc/net/tls_stat 2>/dev/null || echo 0
}

# EXTRA hook for mount_case: kTLS sessions opened and tlshd said so
tls_evidence() {
    local now hs
    now=$(tls_total)
    hs=$(grep -c 'Handshake with .* was successful' /tmp/tlshd.log 2>/dev/null)
    EX="kTLS sessions $TLS_T0 -> $now; tlshd handshakes ok: $TLS_H0 -> $hs"
    [ "$now" -gt "$TLS_T0" ] && [ "$hs" -gt "$TLS_H0" ]
}

# tls_logs CASE: the last lines of tlshd's log in this guest and in the server
# guest, as TLSLOG lines on the console (why a handshake failed)
tls_logs() {
    tail -n 6 /tmp/tlshd.log 2>/dev/null | sed "s/^/TLSLOG $1 client: /"
    hostreq srv log tlshd 6 # (prints the HOSTREQ line the host must see)
    echo "TLSLOG $1 server: $ACK"
}

tls_mark() {
    TLS_T0=$(tls_total)
    TLS_H0=$(grep -c 'Handshake with .* was successful' /tmp/tlshd.log 2>/dev/null)
}

tls_supported() { [ "${KERNEL_SERIES:-6.1}" != 6.1 ] && [ -e /proc/net/tls_stat ]; }

# on 6.1 the kernel knows no xprtsec=: expect the helper's rc 32, no mount
tls_xfail_old_kernel() { # CASE OPTS
    c=$1
    mp=/mnt/$c
    mkdir -p "$mp"
    run "$c" mount.nfs "$SPEC_TLS" "$mp" -o "$2"
    line=$(mounts_line "$mp")
    if [ -n "$line" ]; then
        echo "MOUNTS $c $line"
        umount -l "$mp"
        result "$c" FAIL "mounted with $2 on a kernel without xprtsec support?"
    elif [ "$RC" = 32 ]; then
        result "$c" XFAIL "kernel $(uname -r) has no xprtsec= (Linux 6.5+): rc=32: $(head -n 2 "/tmp/$c.out" | tr '\n' ' ')"
    else
        result "$c" FAIL "expected rc=32 on a kernel without xprtsec=, got $RC: $(head -n 2 "/tmp/$c.out" | tr '\n' ' ')"
    fi
}

case_xprtsec_tls() {
    tls_supported || { tls_xfail_old_kernel xprtsec-tls vers=4.2,xprtsec=tls; return; }
    tls_mark
    EXTRA=tls_evidence
    mount_case xprtsec-tls nfs4 "vers=4.2 xprtsec=tls" mount.nfs "$SPEC_TLS" /mnt/xprtsec-tls -o vers=4.2,xprtsec=tls
    tls_logs xprtsec-tls
}

case_xprtsec_mtls() {
    tls_supported || { tls_xfail_old_kernel xprtsec-mtls vers=4.2,xprtsec=mtls; return; }
    tls_mark
    EXTRA=tls_evidence
    mount_case xprtsec-mtls nfs4 "vers=4.2 xprtsec=mtls" mount.nfs "$SPEC_TLS" /mnt/xprtsec-mtls -o vers=4.2,xprtsec=mtls
    tls_logs xprtsec-mtls
}

# expect_refused CASE SPEC OPTS WHY : the mount must fail (rc 32), nothing mounted
expect_refused() {
    c=$1
    mp=/mnt/$c
    mkdir -p "$mp"
    run "$c" mount.nfs "$2" "$mp" -o "$3"
    line=$(mounts_line "$mp")
    msg=$(grep -v '^$' "/tmp/$c.out" | head -n 2 | tr '\n' ' ')
    if [ -n "$line" ]; then
        echo "MOUNTS $c $line"
        umount -l "$mp"
        result "$c" FAIL "mounted, but $4"
    elif [ "$RC" = 32 ]; then
        result "$c" PASS "rc=32 in ${MS}ms ($4): $msg"
    else
        result "$c" FAIL "expected rc=32 ($4), got rc=$RC: $msg"
    fi
}

# the TLS-only export refuses a cleartext mount: proves the server enforces TLS
case_xprtsec_required() { expect_refused xprtsec-required "$SPEC_TLS" vers=4.2 "the export admits only xprtsec=tls:mtls"; }
# NFSv3 over TLS: MOUNT and NLM stay cleartext; what does the kernel do?
case_xprtsec_v3() {
    tls_supported || { tls_xfail_old_kernel xprtsec-v3 vers=3,nolock,xprtsec=tls; return; }
    tls_mark
    EXTRA=tls_evidence
    mount_case xprtsec-v3 nfs "vers=3 xprtsec=tls" mount.nfs "$SPEC_TLS" /mnt/xprtsec-v3 -o vers=3,nolock,xprtsec=tls
    tls_logs xprtsec-v3
}
case_xprtsec_udp() { expect_refused xprtsec-udp "$SPEC_TLS" vers=3,proto=udp,nolock,xprtsec=tls "TLS needs a stream transport"; }
case_xprtsec_bad() { expect_refused xprtsec-bad "$SPEC_TLS" vers=4.2,xprtsec=ssl "xprtsec= takes none, tls or mtls"; }
# no tlshd in the client: the kernel's handshake upcall has no listener
case_xprtsec_no_tlshd() {
    tls_supported || { tls_xfail_old_kernel xprtsec-no-tlshd vers=4.2,xprtsec=tls,retry=0; return; }
    p=$(pidof tlshd)
    [ -n "$p" ] && kill $p
    sleep 0.3
    expect_refused xprtsec-no-tlshd "$SPEC_TLS" vers=4.2,xprtsec=tls,retry=0 "no tlshd in the client"
    tlshd -s -c /etc/tlshd/tlshd.conf >>/tmp/tlshd.log 2>&1 &
    sleep 0.3
}
