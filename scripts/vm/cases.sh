# shellcheck shell=dash disable=SC1091,SC2086,SC2015,SC2162,SC2209,SC3045,SC2046
# (busybox sh in the guest, close to dash; word splitting of command strings (and of $(as_user ...)) is
# deliberate; /etc/vmtest.conf exists only in the guest; `c=bg` names a case;
# busybox read has -t)
# Guest test cases for scripts/vm-test (busybox sh; sourced config /etc/vmtest.conf).
#
# Per case the console gets:
#   OUT <case> <line>        helper's stdout/stderr
#   RC <case> <n>            helper's exit status
#   TIME <case> mount=<ms>   wall time of the helper (strace'd if STRACE=1)
#   SYSCALL <case> <strace line>   mount(2)/umount2(2)/execve(2) as seen by strace
#   MOUNTS <case> <the /proc/mounts line>
#   RESULT <case> PASS|FAIL|XFAIL <detail>
# and talks to the host with `HOSTREQ <id> <request>`; the host answers
# `ACK <id> ok|fail <detail>` on /dev/ttyS1 (fd 3).
. /etc/vmtest.conf

SPEC="$SRV:$EXP"
REQ=0

# busybox sh prefers its own applets over PATH (FEATURE_SH_STANDALONE), so the
# real util-linux/coreutils tools are called by absolute path.
DATE=/usr/bin/date
MOUNT8=/usr/bin/mount
UMOUNT8=/usr/bin/umount
FLOCK=/usr/bin/flock

now_ms() { $DATE +%s%3N; }

hostreq() {
    local t0 line
    REQ=$((REQ + 1))
    echo "HOSTREQ $REQ $*"
    ACK=
    t0=$(date +%s)
    while [ $(($(date +%s) - t0)) -lt 60 ]; do
        line=
        read -t 60 line <&3 || continue
        case "$line" in
            "ACK $REQ "*)
                ACK=${line#"ACK $REQ "}
                break
                ;;
        esac
    done
    [ -n "$ACK" ] || ACK="fail no reply from host"
    case "$ACK" in ok*) return 0 ;; *) return 1 ;; esac
}

result() { # CASE STATUS DETAIL...
    c=$1
    s=$2
    shift 2
    echo "RESULT $c $s $*"
}

emit_out() { # CASE FILE
    [ -s "$2" ] || return 0
    sed "s/^/OUT $1 /" "$2"
}

emit_trace() { # CASE FILE
    [ -s "$2" ] || return 0
    grep -E '(^|[0-9] +)(mount|umount2|execve)\(' "$2" | grep -v 'resumed>' |
        sed -e 's/^[0-9][0-9]* *//' -e "s/^/SYSCALL $1 /"
}

# run CASE CMD... : run the command (traced when possible); sets RC, MS.
# strace follows forks (mount(8) execs the helper; bg helpers fork), but it would
# wait for daemons the helper starts (start-statd -> rpc.statd) to exit; so we
# watch the trace for the main process's exit and then detach strace (SIGTERM
# makes strace detach and leave the tracees running).
run() {
    local c=$1 t0 sp main n
    shift
    rm -f "/tmp/$c.out" "/tmp/$c.strace"
    t0=$(now_ms)
    if [ "$STRACE" = 1 ] && [ "${NOTRACE:-0}" != 1 ]; then
        # -I 1: SIGTERM makes strace detach and exit (with -o the default blocks it).
        # No --seccomp-bpf: its filter would stay in detached daemons and make
        # their execve/mount calls fail with ENOSYS.
        strace -I 1 -f -q -s 4096 -e trace=execve,mount,umount2 \
            -o "/tmp/$c.strace" "$@" >"/tmp/$c.out" 2>&1 &
        sp=$!
        main=
        while kill -0 "$sp" 2>/dev/null; do
            [ -n "$main" ] || main=$(sed -n '1s/ .*//p' "/tmp/$c.strace" 2>/dev/null)
            if [ -n "$main" ] && grep -qE "^$main +\+\+\+ (exited with|killed by)" "/tmp/$c.strace"; then
                break
            fi
            if [ $(($(now_ms) - t0)) -ge $((${RUN_LIMIT:-120} * 1000)) ]; then
                [ -n "$main" ] && kill -KILL "$main" 2>/dev/null
                break
            fi
            sleep 0.05
        done
        MS=$(($(now_ms) - t0))
        [ -n "$main" ] || main=$(sed -n '1s/ .*//p' "/tmp/$c.strace" 2>/dev/null)
        n=0
        while kill -0 "$sp" 2>/dev/null && [ $n -lt 6 ]; do
            sleep 0.05
            n=$((n + 1))
        done
        kill "$sp" 2>/dev/null
        wait "$sp" 2>/dev/null
        RC=
        [ -n "$main" ] && RC=$(sed -n "s/^$main  *+++ exited with \([0-9]*\) +++\$/\1/p" "/tmp/$c.strace")
        if [ -z "$RC" ]; then
            sig=$(sed -n "s/^$main  *+++ killed by SIG\([A-Z0-9]*\).*/\1/p" "/tmp/$c.strace")
            RC=137
            [ -n "$sig" ] && echo "VMTEST note: $c killed by SIG$sig"
        fi
    else
        timeout -s KILL "${RUN_LIMIT:-120}" "$@" >"/tmp/$c.out" 2>&1
        RC=$?
        MS=$(($(now_ms) - t0))
    fi
    emit_out "$c" "/tmp/$c.out"
    emit_trace "$c" "/tmp/$c.strace"
    echo "RC $c $RC"
    echo "TIME $c $MS"
}

mounts_line() { # MP -> line of /proc/mounts (last one for that mount point)
    awk -v mp="$1" '$2 == mp { l = $0 } END { if (l != "") print l }' /proc/mounts
}

is_mounted() { [ -n "$(mounts_line "$1")" ]; }

has_opt() { # LINE OPT : is OPT (exact token) in the option field?
    echo "$1" | awk -v o="$2" '{ n = split($4, a, ","); for (i = 1; i <= n; i++) if (a[i] == o) f = 1 } END { exit !f }'
}

# roundtrip CASE MP : write a file, read it back, host checks it in the export
roundtrip() {
    tok="$1-$(cat /proc/sys/kernel/random/uuid)"
    f="$2/$1.txt"
    if ! echo "$tok" >"$f" 2>/tmp/rt.err; then
        RT="write failed: $(cat /tmp/rt.err)"
        return 1
    fi
    sync
    got=$(cat "$f" 2>/tmp/rt.err)
    if [ "$got" != "$tok" ]; then
        RT="read back '$got' != '$tok' $(cat /tmp/rt.err)"
        return 1
    fi
    if ! hostreq check-file "$1.txt" "$tok"; then
        RT="host check: $ACK"
        return 1
    fi
    RT="roundtrip ok"
    return 0
}

# do_umount CASE MP [CMD...] (default umount.nfs MP)
do_umount() {
    local c=$1 mp=$2
    shift 2
    [ $# -eq 0 ] && set -- umount.nfs "$mp"
    run "$c-umount" "$@"
    if is_mounted "$mp"; then
        UM="still mounted after umount (rc=$RC)"
        # clean up so later cases are not affected
        umount -l "$mp" 2>/dev/null
        return 1
    fi
    [ "$RC" = 0 ] || {
        UM="umount rc=$RC"
        return 1
    }
    UM="umount ok ${MS}ms"
    return 0
}

# mount_case CASE EXPECT_TYPE OPTCHECKS MOUNTCMD... :
#   mount, check fs type and options, roundtrip, umount.
#   OPTCHECKS: space separated tokens that must be in /proc/mounts options
#   ("!tok" = must NOT be there); "-" for none.
mount_case() {
    c=$1
    etype=$2
    checks=$3
    shift 3
    mp=/mnt/$c
    mkdir -p "$mp"
    run "$c" "$@"
    line=$(mounts_line "$mp")
    [ -n "$line" ] && echo "MOUNTS $c $line"
    if [ "$RC" != 0 ] || [ -z "$line" ]; then
        result "$c" FAIL "mount rc=$RC, mounted=$([ -n "$line" ] && echo yes || echo no): $(head -n 3 "/tmp/$c.out" | tr '\n' ' ')"
        [ -n "$line" ] && umount -l "$mp"
        return 1
    fi
    set -- $line
    bad=
    [ "$etype" = - ] || [ "$3" = "$etype" ] || bad="$bad fstype=$3(want $etype)"
    [ "$checks" = - ] && checks=
    for t in $checks; do
        case "$t" in
            !*) has_opt "$line" "${t#!}" && bad="$bad has:${t#!}" ;;
            *) has_opt "$line" "$t" || bad="$bad missing:$t" ;;
        esac
    done
    ok=1
    detail="mount ${MS}ms"
    [ -n "$bad" ] && {
        ok=0
        detail="$detail; options:$bad"
    }
    if [ "${RO:-0}" = 1 ]; then
        if (echo x >"$mp/ro-test.txt") 2>/tmp/ro.err; then
            ok=0
            detail="$detail; write on ro mount succeeded"
        else
            detail="$detail; write refused ($(tr -d '\n' </tmp/ro.err | sed 's/.*: //'))"
            grep -q 'Read-only' /tmp/ro.err || {
                ok=0
                detail="$detail; expected a read-only file system error"
            }
        fi
        ls "$mp" >/dev/null 2>&1 || {
            ok=0
            detail="$detail; ls failed"
        }
    else
        roundtrip "$c" "$mp" || ok=0
        detail="$detail; $RT"
    fi
    if [ -n "${EXTRA:-}" ]; then
        if $EXTRA "$c" "$mp"; then detail="$detail; $EX"; else
            ok=0
            detail="$detail; $EX"
        fi
    fi
    do_umount "$c" "$mp" ${UMOUNT_CMD:-} || ok=0
    detail="$detail; $UM"
    if [ $ok = 1 ]; then result "$c" PASS "$detail"; else result "$c" FAIL "$detail"; fi
}

# ------------------------------------------------------------------ extras
remount_check() { # CASE MP : ro, then rw again, through mount(8) -o remount
    local c=$1 mp=$2 l n t_ro
    run "$c-ro" $MOUNT8 -o remount,ro "$mp"
    t_ro=$MS
    l=$(mounts_line "$mp")
    if [ "$RC" != 0 ] || ! has_opt "$l" ro; then
        EX="remount,ro rc=$RC: $(head -n 2 "/tmp/$c-ro.out" | tr '\n' ' ')| $l"
        return 1
    fi
    if (echo x >"$mp/$c-ro.txt") 2>/dev/null; then
        EX="a write succeeded after remount,ro"
        return 1
    fi
    run "$c-rw" $MOUNT8 -o remount,rw "$mp"
    l=$(mounts_line "$mp")
    if [ "$RC" != 0 ] || ! has_opt "$l" rw; then
        EX="remount,rw rc=$RC: $(head -n 2 "/tmp/$c-rw.out" | tr '\n' ' ')| $l"
        return 1
    fi
    echo "MOUNTS $c-rw $l"
    roundtrip "$c-rw" "$mp" || {
        EX="after remount,rw: $RT"
        return 1
    }
    # a remount changes the mount in place: still one mount there, not two
    n=$(awk -v mp="$mp" '$2 == mp' /proc/mounts | wc -l)
    if [ "$n" != 1 ]; then
        EX="$n mounts at $mp after the remounts"
        return 1
    fi
    EX="remount,ro ${t_ro}ms (write refused), remount,rw ${MS}ms, roundtrip ok"
    return 0
}

lock_check() { # flock works and conflicts are seen; statd runs in the guest
    f=$2/lockfile
    : >"$f"
    if ! timeout -s KILL 30 $FLOCK -w 20 "$f" -c true 2>/tmp/lk.err; then
        EX="flock failed: $(cat /tmp/lk.err)"
        return 1
    fi
    timeout -s KILL 30 $FLOCK -w 20 "$f" -c "$FLOCK -n '$f' true" 2>/dev/null
    inner=$?
    if [ $inner = 0 ]; then
        EX="conflicting flock -n succeeded (no lock conflict)"
        return 1
    fi
    if ! pidof rpc.statd >/dev/null; then
        EX="flock ok but rpc.statd not running in guest"
        return 1
    fi
    EX="flock ok, conflict seen (rc=$inner), statd pid $(pidof rpc.statd)"
    return 0
}

umnt_mark() {
    hostreq logmark
}

# ------------------------------------------------------------------ cases
# The plain mount cases are data (/mount.cases = tests/cases/mount.cases, shared
# with tests/compliance.rs). data_case NAME runs the row named NAME; fails (1)
# when there is none.
trim() { # STRING -> without leading/trailing blanks
    local x="${1#"${1%%[! ]*}"}"
    printf '%s' "${x%"${x##*[! ]}"}"
}

data_case() {
    local row helper server opts fstype expect spec
    row=$(grep -v '^#' /mount.cases 2>/dev/null | while IFS= read -r l; do
        [ "${l%% *}" = "$1" ] && { echo "$l"; break; }
    done)
    [ -n "$row" ] || return 1
    IFS='|' read -r _ helper server opts fstype expect <<EOF
$row
EOF
    helper=$(trim "$helper")
    server=$(trim "$server")
    opts=$(trim "$opts")
    fstype=$(trim "$fstype")
    expect=$(trim "$expect")
    # $SRV6, $GUEST_ADDR6 (/etc/vmtest.conf) in the expected tokens
    eval "expect=\"$expect\""
    case "$server" in
        v6) spec="[$SRV6]:$EXP" ;;
        *) spec="$SPEC" ;;
    esac
    if [ "$opts" = - ]; then
        mount_case "$1" "$fstype" "$expect" "$helper" "$spec" "/mnt/$1"
    else
        mount_case "$1" "$fstype" "$expect" "$helper" "$spec" "/mnt/$1" -o "$opts"
    fi
    return 0
}

case_by_name() { mount_case by-name nfs "vers=3 addr=$SRV" mount.nfs "$SRVNAME:$EXP" /mnt/by-name -o vers=3,nolock; }
case_mount8_v3() {
    UMOUNT_CMD="$UMOUNT8 /mnt/mount8-v3"
    mount_case mount8-v3 nfs "vers=3 nolock" $MOUNT8 -t nfs -o vers=3,nolock "$SPEC" /mnt/mount8-v3; }
case_mount8_v4() {
    UMOUNT_CMD="$UMOUNT8 /mnt/mount8-v4"
    mount_case mount8-v4 nfs4 - $MOUNT8 -t nfs4 "$SPEC" /mnt/mount8-v4; }
# No vers= against a server that serves only NFSv3 (ganesha restarted without
# v4): the kernel's NFSv4 mount(2) fails and the helper falls back to v3, as
# nfs-utils does; --compare compares both mount(2) calls.
case_v4_to_v3() {
    if ! hostreq nfs-versions 3; then
        result v4-to-v3 FAIL "host could not restart ganesha with NFSv3 only: $ACK"
        return
    fi
    mount_case v4-to-v3 nfs "vers=3 nolock" mount.nfs "$SPEC" /mnt/v4-to-v3 -o nolock
    hostreq nfs-versions 3,4 || echo "VMTEST note: v4-to-v3: ganesha back to v3 and v4: $ACK"
}

# remount through mount(8), as administrators do: ro, then rw (v4 and v3)
case_remount_v4() {
    EXTRA=remount_check
    UMOUNT_CMD="$UMOUNT8 /mnt/remount-v4"
    mount_case remount-v4 nfs4 - $MOUNT8 -t nfs4 "$SPEC" /mnt/remount-v4
}
case_remount_v3() {
    EXTRA=remount_check
    UMOUNT_CMD="$UMOUNT8 /mnt/remount-v3"
    mount_case remount-v3 nfs "vers=3 nolock" $MOUNT8 -t nfs -o vers=3,nolock "$SPEC" /mnt/remount-v3
}
case_ro_nosuid() {
    RO=1
    mount_case ro-nosuid - "ro nosuid" mount.nfs "$SPEC" /mnt/ro-nosuid -o ro,nosuid; }
case_v3_lock() {
    EXTRA=lock_check
    mount_case v3-lock nfs "vers=3 local_lock=none !nolock" mount.nfs "$SPEC" /mnt/v3-lock -o vers=3,proto=tcp; }


case_v3_udp() {
    c=v3-udp
    mp=/mnt/$c
    mkdir -p "$mp"
    if [ "$NOUDP" = 1 ]; then
        run "$c" mount.nfs "$SPEC" "$mp" -o vers=3,proto=udp,nolock
        line=$(mounts_line "$mp")
        if [ -n "$line" ]; then
            echo "MOUNTS $c $line"
            umount -l "$mp"
            result "$c" FAIL "mounted although the kernel has CONFIG_NFS_DISABLE_UDP_SUPPORT=y?"
        elif [ "$RC" = 32 ]; then
            result "$c" XFAIL "guest kernel built with CONFIG_NFS_DISABLE_UDP_SUPPORT=y: mount(2) EINVAL, helper rc=32: $(head -n 2 "/tmp/$c.out" | tr '\n' ' ')"
        else
            result "$c" FAIL "expected rc=32 (kernel without NFS/UDP), got rc=$RC: $(head -n 2 "/tmp/$c.out" | tr '\n' ' ')"
        fi
    else
        mount_case "$c" nfs "vers=3 proto=udp" mount.nfs "$SPEC" "$mp" -o vers=3,proto=udp,nolock
    fi
}

# fault_case CASE FAULT EXPECT_RC OPTS : with the test bed's FAULT applied
# (`testbed ctl` words), a v3/v4 mount must fail with EXPECT_RC and leave
# nothing mounted; the first line goes into the result (compared with nfs-utils
# by --compare).
fault_case() {
    c=$1
    mp=/mnt/$c
    mkdir -p "$mp"
    if ! hostreq fault $2; then
        result "$c" FAIL "host fault '$2': $ACK"
        return 1
    fi
    NOTRACE=1
    run "$c" mount.nfs "$SPEC" "$mp" -o "$4"
    NOTRACE=0
    hostreq fault unblock-all || echo "VMTEST note: $c: unblock-all: $ACK"
    line=$(mounts_line "$mp")
    first=$(grep -v '^$' "/tmp/$c.out" | head -n 1)
    if [ -n "$line" ]; then
        echo "MOUNTS $c $line"
        umount -l "$mp"
        result "$c" FAIL "mounted although $2: $line"
    elif [ "$RC" = "$3" ]; then
        result "$c" PASS "rc=$RC in ${MS}ms: $first"
    else
        result "$c" FAIL "expected rc=$3, got rc=$RC: $(head -n 2 "/tmp/$c.out" | tr '\n' ' ')"
    fi
}

# NFS over TCP refused: no silent switch to UDP (nfs-utils' rule), v3 and v4.
case_fault_nfs_refused() { fault_case fault-nfs-refused "reject tcp 2049" 32 vers=3,nolock,retry=0; }
case_fault_v4_refused() { fault_case fault-v4-refused "reject tcp 2049" 32 retry=0; }
# rpcbind's TCP port black-holed: the probe moves to UDP after the 10 s connect
# timeout, as nfs-utils does; a kernel without NFS over UDP then refuses.
case_fault_rpcbind_tcp_blocked() {
    if [ "$NOUDP" = 1 ]; then
        fault_case fault-rpcbind-tcp-blocked "block tcp 111" 32 vers=3,nolock,retry=0
    else
        hostreq fault block tcp 111
        mount_case fault-rpcbind-tcp-blocked nfs "vers=3 proto=udp" mount.nfs "$SPEC" /mnt/fault-rpcbind-tcp-blocked -o vers=3,nolock,retry=0
        hostreq fault unblock-all
    fi
}

# Packet loss with the real kernel: LOSS_PCT % of the packets to and from the
# server's ports dropped, both ways (nftables in the namespace); LOSS_RUNS mounts
# each of v3 (mountd over UDP, the helper's own probes) and v4.2, each bounded
# to 60 s. PASS when all but at most one of each version mount and every mount
# is gone again; the detail has the times.
LOSS_PCT=10
LOSS_RUNS=3
case_fault_loss() {
    c=fault-loss
    mp=/mnt/$c
    mkdir -p "$mp"
    if ! hostreq fault loss "$LOSS_PCT"; then
        result "$c" FAIL "host fault 'loss $LOSS_PCT': $ACK"
        return
    fi
    local v o i n bad=0 d="$LOSS_PCT% loss:"
    for v in 3 4.2; do
        o=vers=$v
        [ "$v" = 3 ] && o=vers=3,nolock
        n=0
        d="$d v$v"
        i=1
        while [ "$i" -le "$LOSS_RUNS" ]; do
            NOTRACE=1
            RUN_LIMIT=60
            run "$c-v$v-$i" mount.nfs "$SPEC" "$mp" -o "$o"
            NOTRACE=0
            RUN_LIMIT=120
            if [ "$RC" = 0 ] && is_mounted "$mp"; then
                n=$((n + 1))
                d="$d ${MS}ms"
            else
                d="$d rc=$RC:$(grep -v '^$' "/tmp/$c-v$v-$i.out" | head -n 1 | cut -c1-60)"
            fi
            timeout -s KILL 30 "$UMOUNT8" "$mp" >/dev/null 2>&1 || umount -l "$mp" 2>/dev/null
            i=$((i + 1))
        done
        d="$d ($n/$LOSS_RUNS);"
        [ "$n" -ge $((LOSS_RUNS - 1)) ] || bad=1
    done
    hostreq fault unblock-all || echo "VMTEST note: $c: unblock-all: $ACK"
    if is_mounted "$mp"; then
        umount -l "$mp"
        result "$c" FAIL "$d still mounted afterwards"
    elif [ "$bad" = 0 ]; then
        result "$c" PASS "$d"
    else
        result "$c" FAIL "$d"
    fi
}

case_not_exported() {
    c=not-exported
    mp=/mnt/$c
    mkdir -p "$mp"
    run "$c" mount.nfs "$SRV:$EXP-not-exported" "$mp"
    line=$(mounts_line "$mp")
    msg=$(grep -v '^$' "/tmp/$c.out" | head -n 2 | tr '\n' ' ')
    if [ -n "$line" ]; then
        echo "MOUNTS $c $line"
        umount -l "$mp"
        result "$c" FAIL "mount of a non-exported path succeeded"
    elif [ "$RC" = 32 ] && [ -n "$msg" ]; then
        result "$c" PASS "rc=32 in ${MS}ms: $msg"
    else
        result "$c" FAIL "expected rc=32 and a message, got rc=$RC: '$msg'"
    fi
}

case_umnt() {
    c=umnt
    mp=/mnt/$c
    mkdir -p "$mp"
    run "$c" mount.nfs "$SPEC" "$mp" -o vers=3,proto=tcp,nolock
    line=$(mounts_line "$mp")
    [ -n "$line" ] && echo "MOUNTS $c $line"
    if [ -z "$line" ]; then
        result "$c" FAIL "mount rc=$RC: $(head -n 2 "/tmp/$c.out" | tr '\n' ' ')"
        return
    fi
    if ! hostreq logmark; then
        umount -l "$mp"
        result "$c" FAIL "host logmark: $ACK"
        return
    fi
    do_umount "$c" "$mp"
    um=$?
    if hostreq check-umnt "$EXP"; then
        [ $um = 0 ] && result "$c" PASS "$UM; server saw UMNT: ${ACK#ok }" ||
            result "$c" FAIL "$UM; server saw UMNT"
    else
        result "$c" FAIL "$UM; server did not see UMNT: ${ACK#fail }"
    fi
}

# ------------------------------------------------------------------ user mounts
# /etc/fstab entries marked user/users/owner, mounted and unmounted by ordinary
# users (nfsu1 = 1001, nfsu2 = 1002, scripts/vm/lib.sh) through the setuid helper
# (docs/security-review.md). setpriv drops to the user as mount(8) does before it
# runs a helper; the setuid bit brings root back.
SETPRIV=/usr/bin/setpriv

as_user() { # UID -> the command prefix that runs as that user
    echo "$SETPRIV --reuid=$1 --regid=$1 --clear-groups"
}

user_fstab() { # MP OPTS : the fstab line for MP, once
    grep -q " $1 " /etc/fstab 2>/dev/null || echo "$SPEC $1 nfs $2 0 0" >>/etc/fstab
}

# user_case CASE FSTAB-OPTS MOUNTER OTHER UNMOUNTER IMPLIED :
#   MOUNTER mounts the entry; OTHER (if set) must fail to unmount it (rc 32,
#   still mounted); UNMOUNTER unmounts it. IMPLIED: flags the kernel must show.
user_case() {
    c=$1
    opts=$2
    who=$3
    other=$4
    unmounter=$5
    implied=$6
    mp=/mnt/$c
    mkdir -p "$mp"
    [ -n "${MP_OWNER:-}" ] && chown "$MP_OWNER" "$mp"
    user_fstab "$mp" "$opts"
    # the helper directly, or as users do it: mount(8)/umount(8) (setuid) check
    # fstab, then run the helper
    mcmd="/usr/sbin/mount.nfs $SPEC"
    ucmd=/usr/sbin/umount.nfs
    if [ "${USER_VIA:-}" = mount8 ]; then
        mcmd=$MOUNT8
        ucmd=$UMOUNT8
    fi
    run "$c" $(as_user "$who") $mcmd "$mp"
    line=$(mounts_line "$mp")
    [ -n "$line" ] && echo "MOUNTS $c $line"
    if [ "$RC" != 0 ] || [ -z "$line" ]; then
        if [ -n "${XFAIL_REF:-}" ] && [ "$RC" = 32 ] && [ -z "$line" ] &&
            ! /usr/sbin/mount.nfs -V 2>&1 | grep -q nfsmount; then
            # the reference helper (nfs-utils) refuses by design
            result "$c" XFAIL "nfs-utils: $XFAIL_REF: $(head -n 1 "/tmp/$c.out")"
            return 0
        fi
        result "$c" FAIL "user $who: mount rc=$RC, mounted=$([ -n "$line" ] && echo yes || echo no): $(head -n 3 "/tmp/$c.out" | tr '\n' ' ')"
        [ -n "$line" ] && umount -l "$mp"
        return 1
    fi
    bad=
    for t in $implied; do has_opt "$line" "$t" || bad="$bad missing:$t"; done
    detail="user $who mounted ${MS}ms"
    roundtrip "$c" "$mp" || bad="$bad $RT"
    grep -q "TARGET=$mp .*user=" /run/mount/utab 2>/dev/null && detail="$detail; utab $(grep -o "user=[a-z0-9]*" /run/mount/utab | tail -n 1)"
    n=$(grep -c "TARGET=$mp " /run/mount/utab 2>/dev/null)
    [ "${n:-0}" -le 1 ] || bad="$bad $n utab lines for $mp"
    if [ -n "$other" ]; then
        run "$c-other" $(as_user "$other") /usr/sbin/umount.nfs "$mp"
        if ! is_mounted "$mp"; then
            bad="$bad user $other could unmount it (rc=$RC)"
        elif [ "$RC" != 32 ]; then
            bad="$bad user $other: rc=$RC (want 32)"
        else
            detail="$detail; user $other refused (rc 32: $(head -n 1 "/tmp/$c-other.out"))"
        fi
    fi
    do_umount "$c" "$mp" $(as_user "$unmounter") $ucmd "$mp" || bad="$bad $UM"
    n=$(grep -c "TARGET=$mp " /run/mount/utab 2>/dev/null)
    [ "${n:-0}" = 0 ] || bad="$bad utab still has $mp"
    detail="$detail; $UM by user $unmounter"
    if [ -z "$bad" ]; then result "$c" PASS "$detail"; else result "$c" FAIL "$detail;$bad"; fi
}

case_user_mount() { user_case user-mount vers=4.2,user,noauto 1001 1002 1001 "nosuid nodev noexec"; }
case_users_umount() { user_case users-umount vers=4.2,users,noauto 1001 "" 1002 "nosuid nodev noexec"; }
# The same through mount(8) and umount(8) run by the user, the way fstab
# `user`/`users` entries are used; mount(8) checks fstab first, then runs the
# setuid helper.
case_user_mount8() {
    USER_VIA=mount8
    user_case user-mount8 vers=3,nolock,user,noauto 1001 "" 1001 "nosuid nodev noexec"
    USER_VIA=
}
case_users_umount8() {
    USER_VIA=mount8
    user_case users-umount8 vers=4.2,users,noauto 1001 "" 1002 "nosuid nodev noexec"
    USER_VIA=
}
# libmount's owner/group look at a /dev/ source and never allow NFS; ours: the
# mount point's owner (docs/differences.md #2), so nfs-utils FAILs this one.
case_user_owner() {
    MP_OWNER=1001
    XFAIL_REF="owner never allows an NFS mount in libmount"
    user_case user-owner vers=4.2,owner,noauto 1001 1002 1001 "nosuid nodev"
    MP_OWNER=
    XFAIL_REF=
}
case_user_nonfstab() {
    c=user-nonfstab
    mp=/mnt/$c
    mkdir -p "$mp"
    run "$c" $(as_user 1001) /usr/sbin/mount.nfs "$SPEC" "$mp"
    line=$(mounts_line "$mp")
    if [ -n "$line" ]; then
        echo "MOUNTS $c $line"
        umount -l "$mp"
        result "$c" FAIL "a mount that is not in /etc/fstab succeeded for user 1001"
    elif [ "$RC" = 32 ]; then
        result "$c" PASS "refused, rc 32: $(head -n 1 "/tmp/$c.out")"
    else
        result "$c" FAIL "rc=$RC (want 32): $(head -n 2 "/tmp/$c.out" | tr '\n' ' ')"
    fi
}

case_bg() {
    c=bg
    mp=/mnt/$c
    mkdir -p "$mp"
    if ! hostreq stop ganesha; then
        result "$c" FAIL "host could not stop ganesha: $ACK"
        return
    fi
    NOTRACE=1
    run "$c" mount.nfs "$SPEC" "$mp" -o bg,vers=4.2
    NOTRACE=0
    rc1=$RC
    bgout=$(head -n 2 "/tmp/$c.out" | tr '\n' ' ')
    hostreq start-after "$BG_DELAY" ganesha || {
        result "$c" FAIL "host could not schedule ganesha start: $ACK"
        return
    }
    t0=$(date +%s)
    while ! is_mounted "$mp" && [ $(($(date +%s) - t0)) -lt "$BG_WAIT" ]; do
        sleep 0.2
    done
    waited=$(($(date +%s) - t0))
    line=$(mounts_line "$mp")
    [ -n "$line" ] && echo "MOUNTS $c $line"
    if [ "$rc1" != 0 ]; then
        [ -n "$line" ] && umount -l "$mp"
        result "$c" FAIL "helper with bg and server down exited rc=$rc1 (want 0): $bgout"
        return
    fi
    if [ -z "$line" ]; then
        result "$c" FAIL "not mounted ${BG_WAIT}s after ganesha restart (helper said: $bgout)"
        return
    fi
    ok=1
    roundtrip "$c" "$mp" || ok=0
    do_umount "$c" "$mp" || ok=0
    d="backgrounded ('$bgout'), mounted ${waited}s after the server was scheduled to return in ${BG_DELAY}s; $RT; $UM"
    if [ $ok = 1 ]; then result "$c" PASS "$d"; else result "$c" FAIL "$d"; fi
}

# ---- operators' tools and outside deadlines (docs/explain-doctor.md,
# docs/autofs-systemd.md); `nfsmount` exists only with our helper.
have_tools() { # CASE
    [ -e /usr/sbin/nfsmount ] && return 0
    result "$1" XFAIL "helper $HELPER_TAG has no nfsmount doctor/explain"
    return 1
}

# start_syslog: busybox syslogd into /tmp/messages, so the helpers' syslog lines
# can be shown (OUT <case> syslog: ...).
start_syslog() {
    [ -S /dev/log ] && return 0
    /bb/syslogd -n -O /tmp/messages >/dev/null 2>&1 &
    i=0
    while [ ! -S /dev/log ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
}

emit_syslog() { # CASE
    [ -s /tmp/messages ] || return 0
    grep -E 'mount|nfs' /tmp/messages | tail -n 5 | sed "s/^/OUT $1 syslog: /"
    : >/tmp/messages
}

# doctor against the healthy server: exit 0, every server check ok
case_doctor_healthy() {
    c=doctor-healthy
    have_tools "$c" || return
    run "$c" nfsmount doctor "$SPEC"
    bad=$(grep -E '^(ERROR|WARNING) +server\.' "/tmp/$c.out" | head -n 1)
    if [ "$RC" = 0 ] && [ -z "$bad" ] && grep -qE '^ok +server.export ' "/tmp/$c.out" &&
        grep -qE '^ok +kernel.nfs ' "/tmp/$c.out"; then
        result "$c" PASS "rc=0 in ${MS}ms: $(tail -n 1 "/tmp/$c.out")"
    else
        result "$c" FAIL "rc=$RC: ${bad:-$(tail -n 1 "/tmp/$c.out")}"
    fi
}

# doctor with the server's mountd stopped (its port rejects, TCP and UDP):
# exit 1, mountd errors, NFSv4 still ok; the JSON form says the same.
case_doctor_mountd_down() {
    c=doctor-mountd-down
    have_tools "$c" || return
    if ! hostreq fault reject udp 20048 || ! hostreq fault reject tcp 20048; then
        result "$c" FAIL "host fault: $ACK"
        hostreq fault unblock-all
        return
    fi
    run "$c" nfsmount doctor "$SPEC"
    NOTRACE=1
    nfsmount doctor --json "$SPEC" >/tmp/$c.json 2>&1
    jrc=$?
    NOTRACE=0
    hostreq fault unblock-all || echo "VMTEST note: $c: unblock-all: $ACK"
    if [ "$RC" = 1 ] && [ "$jrc" = 1 ] &&
        grep -qE '^ERROR +server.mountd.udp ' "/tmp/$c.out" &&
        grep -qE '^ERROR +server.mountd.tcp ' "/tmp/$c.out" &&
        grep -qE '^ok +server.nfs4.tcp ' "/tmp/$c.out" &&
        grep -q '"exit_status": 1' /tmp/$c.json; then
        result "$c" PASS "rc=1 in ${MS}ms: $(grep -E '^ERROR +server.mountd.udp' "/tmp/$c.out")"
    else
        result "$c" FAIL "rc=$RC json-rc=$jrc: $(grep -E '^(ERROR|WARNING)' "/tmp/$c.out" | head -n 3 | tr '\n' ' ')"
    fi
}

# SIGTERM (autofs mount_wait, systemd) to a helper stuck on a black-holed
# rpcbind: one final line naming the step, to stderr and syslog, exit 32.
case_sigterm_blackhole() {
    c=sigterm-blackhole
    mp=/mnt/$c
    mkdir -p "$mp"
    start_syslog
    if ! hostreq fault block tcp 111 || ! hostreq fault block udp 111; then
        result "$c" FAIL "host fault: $ACK"
        hostreq fault unblock-all
        return
    fi
    t0=$(now_ms)
    mount.nfs "$SPEC" "$mp" -o vers=3,nolock >/tmp/$c.out 2>&1 &
    pid=$!
    sleep 4
    kill -TERM $pid
    wait $pid
    RC=$?
    MS=$(($(now_ms) - t0))
    hostreq fault unblock-all || echo "VMTEST note: $c: unblock-all: $ACK"
    emit_out "$c" "/tmp/$c.out"
    emit_syslog "$c"
    echo "RC $c $RC"
    last=$(grep -v '^$' "/tmp/$c.out" | tail -n 1)
    if is_mounted "$mp"; then
        umount -l "$mp"
        result "$c" FAIL "mounted although rpcbind is black-holed"
    elif [ "$HELPER_TAG" != ours ]; then
        result "$c" XFAIL "nfs-utils: rc=$RC, last line '$last' (no final line)"
    elif [ "$RC" = 32 ] && echo "$last" | grep -q '^mount.nfs: stopped by SIGTERM after [0-9.]* s, while .*rpcbind'; then
        result "$c" PASS "rc=32 after ${MS}ms: $last"
    else
        result "$c" FAIL "rc=$RC: $last"
    fi
}

# systemd's x-systemd.mount-timeout through the real mount(8): mount(8) reads
# fstab and drops x-* before the helper runs; the helper reads the entry, fits
# its retries inside the limit and gives up with one line before it.
case_systemd_timeout() {
    c=systemd-timeout
    mp=/mnt/$c
    mkdir -p "$mp"
    start_syslog
    echo "$SPEC $mp nfs vers=3,nolock,x-systemd.mount-timeout=8 0 0" >/etc/fstab
    if ! hostreq fault block tcp 111 || ! hostreq fault block udp 111; then
        result "$c" FAIL "host fault: $ACK"
        hostreq fault unblock-all
        : >/etc/fstab
        return
    fi
    NOTRACE=1
    run "$c" "$MOUNT8" "$mp"
    NOTRACE=0
    hostreq fault unblock-all || echo "VMTEST note: $c: unblock-all: $ACK"
    : >/etc/fstab
    emit_syslog "$c"
    last=$(grep -v '^$' "/tmp/$c.out" | tail -n 1)
    if is_mounted "$mp"; then
        umount -l "$mp"
        result "$c" FAIL "mounted although rpcbind is black-holed"
    elif [ "$HELPER_TAG" != ours ]; then
        result "$c" XFAIL "nfs-utils: rc=$RC after ${MS}ms, last line '$last'"
    elif [ "$RC" = 32 ] && [ "$MS" -lt 8000 ] &&
        echo "$last" | grep -q 'giving up before x-systemd.mount-timeout=8 s (/etc/fstab:1) after 7'; then
        result "$c" PASS "rc=32 after ${MS}ms: $last"
    else
        result "$c" FAIL "rc=$RC after ${MS}ms: $last"
    fi
}

# scripts/demo: mount through mount(8) -> /sbin/mount.nfs (the helper under test),
# show what the kernel got, a file round trip, umount.  Lines for the user: DEMO.
case_demo() {
    local v c mp ok mms
    for v in 4.2 3; do
        c=demo-v$v
        mp=/mnt/$c
        mkdir -p "$mp"
        echo "DEMO"
        echo "DEMO guest# mount -t nfs -o vers=$v $SPEC $mp"
        run "$c" "$MOUNT8" -t nfs -o "vers=$v" "$SPEC" "$mp" >/dev/null
        sed 's/^/DEMO   | /' "/tmp/$c.out"
        if [ -s "/tmp/$c.strace" ]; then
            grep -E 'execve\("/sbin/mount.nfs|(^|[0-9] +)mount\(' "/tmp/$c.strace" |
                sed -e 's/^[0-9][0-9]* *//' -e 's/, 0x[0-9a-f]* \/\* [0-9]* vars \*\/)/)/' -e 's/^/DEMO   strace: /'
        fi
        echo "DEMO   exit status $RC after ${MS} ms"
        line=$(mounts_line "$mp")
        if [ -z "$line" ]; then
            echo "DEMO   NOT MOUNTED"
            result "$c" FAIL "mount rc=$RC"
            continue
        fi
        echo "DEMO guest# grep $mp /proc/mounts"
        echo "DEMO   $line"
        ok=1
        mms=$MS
        echo "DEMO guest: write a random token to $mp/$c.txt, read it back:"
        if roundtrip "$c" "$mp"; then
            echo "DEMO   $(cat "$mp/$c.txt")"
            echo "DEMO   (the server's export on the host has $c.txt with that content: ${ACK#ok })"
        else
            echo "DEMO   round trip FAILED: $RT"
            ok=0
        fi
        echo "DEMO guest# umount $mp"
        do_umount "$c" "$mp" "$UMOUNT8" "$mp" >/dev/null || ok=0
        echo "DEMO   $UM"
        if [ $ok = 1 ]; then result "$c" PASS "mount ${mms}ms, $RT, $UM"; else result "$c" FAIL "$RT; $UM"; fi
    done
}

# case stormsafe (scripts/vm/stormsafe.sh)
[ -f /stormsafe.sh ] && . /stormsafe.sh
# NFS over TLS cases xprtsec-* (scripts/vm/tls.sh)
[ -f /tls.sh ] && . /tls.sh

# ------------------------------------------------------------------ main
for c in $CASES; do
    echo "VMTEST case-start $c uptime=$(cut -d' ' -f1 /proc/uptime)"
    fn=case_$(echo "$c" | tr '.-' '__')
    RO=0
    EXTRA=
    UMOUNT_CMD=
    NOTRACE=0
    if type "$fn" >/dev/null 2>&1; then
        "$fn"
    elif ! data_case "$c"; then
        result "$c" FAIL "unknown case"
    fi
done
