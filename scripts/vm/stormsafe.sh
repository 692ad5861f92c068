# shellcheck shell=dash
# Guest case `stormsafe` for scripts/vm-test (sourced by /cases.sh; busybox sh).
# Proves that `-o vers=3,nolock,stormsafe` makes the KERNEL send no MOUNT (MNT)
# call: the guest kernel's sunrpc:rpc_request trace events (filtered to the
# "mount" RPC program) are counted around each mount(2), and the server side
# (ganesha DEBUG log, MOUNT program 100005 procedure 1 from the guest) is counted
# too.  Control: the same mount in text mode (no stormsafe) must show the
# kernel's MNT, so a broken check cannot pass.
#   FAIL if: the kernel sent a MNT for the stormsafe mount; the kernel sent no MNT
#   for the text-mode mount (tracing broken); the server did not see one MNT
#   fewer for stormsafe; the round trip or umount failed.

SS_TR=/sys/kernel/tracing
ss_trace_setup() {
    [ -d $SS_TR/events ] || mount -t tracefs nodev $SS_TR 2>/dev/null
    [ -d $SS_TR/events/sunrpc/rpc_request ] || return 1
    echo 'progname == "mount"' >$SS_TR/events/sunrpc/rpc_request/filter 2>/dev/null
    echo 1 >$SS_TR/events/sunrpc/rpc_request/enable || return 1
    : >$SS_TR/trace
}
ss_kernel_mnt() { # -> number of kernel MNT requests since the last call; lines in /tmp/ss.trace
    cat $SS_TR/trace >/tmp/ss.trace 2>/dev/null
    : >$SS_TR/trace
    grep -cE 'rpc_request:.* mountv[0-9]+ (MOUNT|MNT) ' /tmp/ss.trace
}

# ss_mount TAG OPTS : mount, count kernel + server MNT, round trip, umount
ss_mount() {
    local tag=$1 opts=$2 mp=/mnt/$1
    mkdir -p "$mp"
    ss_kernel_mnt >/dev/null
    hostreq logmark || { SS_ERR="host logmark: $ACK"; return 1; }
    run "$tag" mount.nfs "$SPEC" "$mp" -o "$opts"
    SS_K=$(ss_kernel_mnt)
    grep -E 'rpc_request:' /tmp/ss.trace | head -n 3 | sed "s/^ */VMTEST $tag kernel-trace: /"
    # not in $(...): hostreq prints the HOSTREQ line the host must see
    SS_S="?"
    hostreq count-mnt && SS_S=$(echo "${ACK#ok }" | cut -d' ' -f1)
    SS_LINE=$(mounts_line "$mp")
    [ -n "$SS_LINE" ] && echo "MOUNTS $tag $SS_LINE"
    if [ "$RC" != 0 ] || [ -z "$SS_LINE" ]; then
        SS_ERR="mount rc=$RC: $(head -n 2 "/tmp/$tag.out" | tr '\n' ' ')"
        return 1
    fi
    SS_RT=ok
    roundtrip "$tag" "$mp" || SS_RT="$RT"
    do_umount "$tag" "$mp" || SS_RT="$SS_RT; $UM"
    return 0
}

case_stormsafe() {
    c=stormsafe
    if ! ss_trace_setup; then
        result "$c" FAIL "no sunrpc:rpc_request trace event in the guest kernel; cannot observe the kernel's MNT"
        return
    fi
    if ! ss_mount stormsafe-text vers=3,nolock; then
        result "$c" FAIL "control (text mode): $SS_ERR"
        return
    fi
    kt=$SS_K st=$SS_S rtt=$SS_RT
    mpt=$(echo "$SS_LINE" | grep -o 'mountport=[0-9]*')
    if ! ss_mount stormsafe vers=3,nolock,stormsafe; then
        if [ "$RC" = 32 ] && ! /usr/sbin/mount.nfs -V 2>&1 | grep -q nfsmount; then
            # a reference helper (nfs-utils) has no such option
            result "$c" XFAIL "nfs-utils has no stormsafe option: $SS_ERR"
        else
            result "$c" FAIL "stormsafe: $SS_ERR"
        fi
        return
    fi
    ks=$SS_K ss=$SS_S rts=$SS_RT
    mps=$(echo "$SS_LINE" | grep -o 'mountport=[0-9]*')
    d="kernel MNT calls: text=$kt stormsafe=$ks; server saw MNT from the guest: text=$st stormsafe=$ss; /proc/mounts: text '${mpt:-no mountport=}' stormsafe '${mps:-no mountport=}'; round trip: text $rtt, stormsafe $rts"
    bad=
    [ "$ks" = 0 ] || bad="$bad the kernel sent $ks MNT call(s) for the stormsafe mount;"
    [ "$kt" -ge 1 ] 2>/dev/null || bad="$bad control failed: no kernel MNT seen for the text-mode mount (check broken);"
    if [ "$st" != "?" ] && [ "$ss" != "?" ]; then
        [ "$ss" -lt "$st" ] || bad="$bad server saw $ss MNT for stormsafe vs $st for text mode (expected one fewer);"
    else
        bad="$bad no server-side MNT count;"
    fi
    [ "$rts" = ok ] || bad="$bad stormsafe round trip/umount: $rts;"
    if [ -z "$bad" ]; then result "$c" PASS "$d"; else result "$c" FAIL "$bad $d"; fi
}
