# shellcheck shell=dash disable=SC1091,SC2086
# (guest scripts run in busybox sh, close to dash; word splitting of command
# strings and option lists is deliberate; /etc/*.conf exist only in the guest)
# Guest side of `scripts/vm-test --storm` (busybox sh, run by /init as /cases.sh).
# Config: /etc/vmtest.conf (SRV, EXP, ...) and /etc/storm.conf:
#   STORM_RUNS="impl|opts|n|c ..."   impl: ref | ours | proxy | stormsafe | proxyss (proxy + stormsafe)
# One run per boot is what the host does (a fresh guest = no TIME_WAIT left over);
# with several runs the guest waits for TIME_WAIT to drain in between.
# Output lines (parsed by the host):
#   STORM <the storm example's line>      STORMWHY <failure reason line>
#   STORMX <label> key=value ...          extra counters measured here
#   RESULT storm PASS|FAIL <detail>
. /etc/vmtest.conf
. /etc/storm.conf
SPEC="$SRV:$EXP"
if [ "${STORM_ASLR:-1}" = 0 ]; then
    echo 0 >/proc/sys/kernel/randomize_va_space && echo "VMTEST aslr off (randomize_va_space=0)"
fi
DATE=/usr/bin/date
now_ms() { $DATE +%s%3N; }

active_opens() {
    awk '$1 == "Tcp:" { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ActiveOpens") c = i; h = 1 } else print $c }' /proc/net/snmp
}
# TIME_WAIT sockets by (local port class, remote port): "lo:111=3 hi:20048=5 ..."
time_wait_detail() {
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "06" {
        n = split($2, a, ":"); lp = ("0x" a[n]) + 0; m = split($3, b, ":"); rp = ("0x" b[m]) + 0
        k = (lp < 1024 ? "lo" : "hi") ":" rp; c[k]++ }
        END { for (k in c) printf "%s=%d ", k, c[k] }'
}
time_wait_count() {
    cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '$4 == "06"' | wc -l
}

# kernel RPC tracing: which RPCs the kernel itself sends (MNT!) and its TCP connects
TR=/sys/kernel/tracing
trace_setup() {
    [ -d $TR/events ] || mount -t tracefs nodev $TR 2>/dev/null
    [ -d $TR/events/sunrpc ] || { echo "VMTEST warning: no sunrpc trace events"; return 1; }
    echo 32768 >$TR/buffer_size_kb
    echo 'progname == "mount"' >$TR/events/sunrpc/rpc_request/filter 2>/dev/null
    echo 1 >$TR/events/sunrpc/rpc_request/enable
    [ -d $TR/events/sunrpc/rpc_socket_connect ] && echo 1 >$TR/events/sunrpc/rpc_socket_connect/enable
    : >$TR/trace
}
trace_counts() { # -> "KMNT KCONN"
    local t=/tmp/trace.txt
    cat $TR/trace >$t 2>/dev/null
    : >$TR/trace
    echo "$(grep -cE 'rpc_request:.* mountv[0-9]+ (MOUNT|MNT) ' $t) $(grep -c 'rpc_socket_connect:' $t)"
}

start_proxy() {
    mkdir -p /run/rpcproxyd
    rm -f /run/rpcproxyd/socket
    # shellcheck disable=SC2086 # STORM_PROXY_ARGS: extra daemon options, split on purpose
    /usr/sbin/rpcproxyd -f --socket /run/rpcproxyd/socket ${STORM_PROXY_ARGS:-} >/tmp/rpcproxyd.log 2>&1 &
    PROXY_PID=$!
    i=0
    while [ ! -S /run/rpcproxyd/socket ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -S /run/rpcproxyd/socket ] || echo "VMTEST warning: rpcproxyd socket did not appear: $(cat /tmp/rpcproxyd.log)"
}
stop_proxy() {
    [ -n "${PROXY_PID:-}" ] || return 0
    /usr/sbin/rpcproxyd --stats --socket /run/rpcproxyd/socket 2>&1 | head -n 14 | sed 's/^/STORMPROXY /'
    kill "$PROXY_PID" 2>/dev/null
    wait "$PROXY_PID" 2>/dev/null
    PROXY_PID=
    rm -f /run/rpcproxyd/socket
}

# unmount all N with the implementation's umount.nfs, 32 at a time, each bounded
umount_all() { # UMOUNT BASE N
    local um=$1 base=$2 n=$3 i=0 j t0 left
    t0=$(now_ms)
    while [ $i -lt "$n" ]; do
        j=0
        pids=
        while [ $j -lt 32 ] && [ $i -lt "$n" ]; do
            timeout -s KILL 60 "$um" "$base/m$i" >/dev/null 2>&1 &
            pids="$pids $!"
            i=$((i + 1))
            j=$((j + 1))
        done
        # not a bare `wait`: rpcproxyd runs in the background too
        wait $pids
    done
    left=$(awk -v b="$base/" 'index($2, b) == 1' /proc/mounts | wc -l)
    UMS=$(($(now_ms) - t0))
    if [ "$left" -gt 0 ]; then
        awk -v b="$base/" 'index($2, b) == 1 { print $2 }' /proc/mounts | while read -r m; do umount -l "$m"; done
    fi
    UMLEFT=$left
}

# CPU ticks (1/100 s): the whole guest busy (user+nice+system+irq+softirq), one process
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
pid_ticks() { if [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ]; then awk '{ print $14 + $15 }' "/proc/$1/stat"; else echo 0; fi; }
# ms per mount, one decimal, from TICKS over N mounts
ms_per_mount() { echo "$(($1 * 10000 / $2 / 1000)).$(($1 * 10000 / $2 % 1000 / 100))"; }

drain_time_wait() {
    local t0
    t0=$(date +%s)
    while [ "$(time_wait_count)" -gt 0 ] && [ $(($(date +%s) - t0)) -lt 75 ]; do sleep 1; done
}

ulimit -n 65536 2>/dev/null
ulimit -u unlimited 2>/dev/null
trace_setup
k=0
for run in $STORM_RUNS; do
    k=$((k + 1))
    [ $k -gt 1 ] && drain_time_wait
    impl=${run%%|*}
    rest=${run#*|}
    opts=${rest%%|*}
    rest=${rest#*|}
    n=${rest%%|*}
    c=${rest#*|}
    case $impl in
        ref) helper=/ref/mount.nfs um=/ref/umount.nfs label="nfs-utils 2.6.2" ;;
        ours) helper=/usr/sbin/mount.nfs um=/usr/sbin/umount.nfs label="ours, no proxy" ;;
        proxy) helper=/usr/sbin/mount.nfs um=/usr/sbin/umount.nfs label="ours + rpcproxyd" ;;
        stormsafe) helper=/usr/sbin/mount.nfs um=/usr/sbin/umount.nfs label="ours, stormsafe" opts="$opts,stormsafe" ;;
        proxyss) helper=/usr/sbin/mount.nfs um=/usr/sbin/umount.nfs label="ours+rpcproxyd, stormsafe" opts="$opts,stormsafe" ;;
        *) echo "RESULT storm FAIL unknown impl $impl"; continue ;;
    esac
    [ "$impl" = ref ] || label="$label${STORM_TAG:-}"
    base=/mnt/s$k
    case $impl in proxy*) start_proxy ;; esac
    if [ -n "${PROXY_PID:-}" ] && [ "${STORM_WARMUP:-1}" = 1 ]; then
        # warm-up: one mount+umount so the daemon holds its connections
        mkdir -p /mnt/warm
        timeout -s KILL 60 "$helper" "$SPEC" /mnt/warm -o "$opts" >/dev/null 2>&1 &&
            timeout -s KILL 60 "$um" /mnt/warm >/dev/null 2>&1
    fi
    trace_counts >/dev/null
    dmesg -c >/dev/null 2>&1
    ao0=$(active_opens)
    cpu0=$(busy_ticks)
    px0=$(pid_ticks "${PROXY_PID:-}")
    echo "VMTEST storm-start $label $opts n=$n c=$c uptime=$(cut -d' ' -f1 /proc/uptime)"
    timeout -s KILL "${STORM_RUN_TIMEOUT:-1500}" /usr/bin/storm --helper "$helper" --spec "$SRV:$EXP" \
        --opts "$opts" --n "$n" --concurrency "$c" --mnt-base "$base" --label "$label" >/tmp/storm.out 2>&1
    src=$?
    ao1=$(active_opens)
    cpu1=$(busy_ticks)
    px1=$(pid_ticks "${PROXY_PID:-}")
    # shellcheck disable=SC2046 # the counts are plain numbers
    set -- $(trace_counts)
    kmnt=$1
    kconn=$2
    mounted=$(awk -v b="$base/" 'index($2, b) == 1' /proc/mounts | wc -l)
    sed -n '1p' /tmp/storm.out | sed 's/^/STORM /'
    sed -n '2,$p' /tmp/storm.out | head -n 20 | sed 's/^/STORMWHY /'
    # the guest kernel's own complaints during the storm (counted, numbers masked)
    dmesg -c 2>/dev/null | sed 's/^\[[ 0-9.]*\] //; s/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn | head -n 8 | sed 's/^/STORMDMESG /'
    opens=$((ao1 - ao0))
    user=$((opens - kconn))
    echo "STORMX $impl|$opts|$n|$c storm_rc=$src mounted=$mounted tcp_active_opens=$opens kernel_tcp_connects=$kconn userspace_tcp_connects=$user kernel_MNT_calls=$kmnt"
    # where the guest's CPU went, ms per mount: everything, and rpcproxyd's share
    # (the helpers' own user/sys split is in the STORM line)
    echo "STORMX $impl|$opts|$n|$c cpu_ms_per_mount guest_busy=$(ms_per_mount $((cpu1 - cpu0)) "$n") rpcproxyd=$(ms_per_mount $((px1 - px0)) "$n")"
    echo "STORMX $impl|$opts|$n|$c time_wait_now(local<1024=lo,remote_port)= $(time_wait_detail)"
    if [ "${STORM_UMOUNT:-1}" = 1 ]; then
        umount_all "$um" "$base" "$n"
        echo "STORMX $impl|$opts|$n|$c umount_ms=$UMS left_after_umount=$UMLEFT time_wait_after_umount=$(time_wait_count)"
    else
        echo "STORMX $impl|$opts|$n|$c umount skipped (--no-umount; the guest is powered off)"
    fi
    stop_proxy
    if [ "$src" = 0 ] && [ "$mounted" = "$n" ]; then
        echo "RESULT storm-$k PASS $label $opts n=$n c=$c"
    else
        echo "RESULT storm-$k FAIL $label $opts n=$n c=$c storm_rc=$src mounted=$mounted"
    fi
done
