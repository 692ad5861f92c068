# shellcheck shell=dash disable=SC1091,SC2086,SC2162,SC3045
# (busybox sh in the guest: `read -t` exists there; /etc/*.conf exist only in the guest)
# Guest side of `scripts/vm-test --storm --latency` (busybox sh, run by /init as
# /cases.sh): mount latency under an emulated round-trip time.
#
# For each delay D (LAT_DELAYS, ms) the guest adds `tc qdisc ... netem delay D`
# on eth0 (egress: every round trip to the server gets D longer), then for each
# row (LAT_ROWS) and implementation (LAT_IMPLS: ref = nfs-utils 2.6.2, ours, proxy
# = ours with rpcproxyd running, proxyss = proxy plus the `stormsafe` option, i.e.
# no MNT by the kernel) mounts LAT_REPS times, one at a time, each
# unmounted (umount -i, not timed) before the next; implementations alternate
# mount by mount so drift hits both alike. Row v4fb ("v4 asked for, server only
# v3") runs after the host has restarted ganesha without NFSv4 (HOSTREQ
# nfs-versions 3).
# Prints:  LAT D=<ms> row=<row> impl=<impl> opts=<opts> median_ms=<m> min_ms=.. max_ms=.. fails=<n> all=<ms,...>
. /etc/vmtest.conf
. /etc/storm.conf
SPEC="$SRV:$EXP"
REQ=0
LAT_DELAYS=${LAT_DELAYS:-0 20 100}
LAT_ROWS=${LAT_ROWS:-v3tcp v3 v42 v4fb}
LAT_IMPLS=${LAT_IMPLS:-ref ours proxy}
LAT_REPS=${LAT_REPS:-10}

hostreq() {
    local line
    REQ=$((REQ + 1))
    echo "HOSTREQ $REQ $*"
    ACK=
    while read -t 120 line <&3; do
        case "$line" in "ACK $REQ "*) ACK=${line#"ACK $REQ "}; break ;; esac
    done
    case "$ACK" in ok*) return 0 ;; *) echo "LATWARN hostreq $* -> ${ACK:-no reply}"; return 1 ;; esac
}

modprobe sch_netem 2>/dev/null
printf '#!/bin/sh\nexec /usr/bin/umount -i "$@"\n' >/usr/bin/umount-i
chmod 755 /usr/bin/umount-i
mkdir -p /run/rpcproxyd /mnt/lat
PROXY_PID=
proxy() { # on|off
    if [ "$1" = on ] && [ -z "$PROXY_PID" ]; then
        /usr/sbin/rpcproxyd -f --socket /run/rpcproxyd/socket >>/tmp/rpcproxyd.log 2>&1 &
        PROXY_PID=$!
        i=0
        while [ ! -S /run/rpcproxyd/socket ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    elif [ "$1" = off ] && [ -n "$PROXY_PID" ]; then
        kill "$PROXY_PID"
        wait "$PROXY_PID" 2>/dev/null
        PROXY_PID=
        rm -f /run/rpcproxyd/socket
    fi
}

opts_of() {
    case $1 in
        v3tcp) echo "vers=3,proto=tcp,nolock" ;;
        v3) echo "vers=3,nolock" ;;
        v42) echo "vers=4.2" ;;
        v4fb) echo "nolock" ;;
    esac
}

delay() {
    /usr/sbin/tc qdisc del dev eth0 root 2>/dev/null
    if [ "$1" != 0 ]; then
        /usr/sbin/tc qdisc add dev eth0 root netem delay "${1}ms" limit 10000 ||
            echo "LATWARN tc netem delay $1 failed"
    fi
    # let the NFS client forget idle transports and cached state between delays
    sleep 1
    echo "LATNET D=$1 qdisc: $(/usr/sbin/tc qdisc show dev eth0 | head -n 1) ping: $(ping -c 3 -q "$SRV" 2>&1 | tail -n 1)"
}

# one mount: prints its wall time in ms (storm's p50 of n=1), or FAIL
one() { # impl opts
    local h=/usr/sbin/mount.nfs
    [ "$1" = ref ] && h=/ref/mount.nfs
    local o=$2
    case $1 in
        proxy) proxy on ;;
        proxyss) proxy on && o="$o,stormsafe" ;;
        *) proxy off ;;
    esac
    /usr/bin/storm --helper "$h" --spec "$SPEC" --opts "$o" --n 1 --concurrency 1 \
        --mnt-base /mnt/lat --umount /usr/bin/umount-i --label "$1" >/tmp/l.out 2>&1
    if grep -q ' fail    0 ' /tmp/l.out; then
        sed -n 's/.* p50 *\([0-9.]*\) ms .*/\1/p' /tmp/l.out | head -n 1
    else
        echo FAIL
        sed 's/^/LATWHY /' /tmp/l.out | head -n 4 >&2
    fi
}

row() { # D row
    local d=$1 r=$2 o impl k t
    o=$(opts_of "$r")
    for impl in $LAT_IMPLS; do : >"/tmp/lat.$impl"; done
    k=0
    while [ $k -lt "$LAT_REPS" ]; do
        for impl in $LAT_IMPLS; do
            t=$(one "$impl" "$o" 2>>/tmp/latwhy)
            echo "$t" >>"/tmp/lat.$impl"
        done
        k=$((k + 1))
    done
    for impl in $LAT_IMPLS; do
        grep -v FAIL "/tmp/lat.$impl" | sort -n >/tmp/lat.s
        n=$(wc -l </tmp/lat.s)
        f=$(grep -c FAIL "/tmp/lat.$impl")
        med=$(awk -v n="$n" 'NR == int((n + 1) / 2) { a = $1 } NR == int(n / 2) + 1 { b = $1 } END { if (n) printf "%.1f", (n % 2 ? a : (a + b) / 2); else print "-" }' /tmp/lat.s)
        echo "LAT D=$d row=$r impl=$impl opts=$o median_ms=$med min_ms=$(head -n 1 /tmp/lat.s) max_ms=$(tail -n 1 /tmp/lat.s) fails=$f all=$(tr '\n' ',' <"/tmp/lat.$impl")"
    done
    [ -s /tmp/latwhy ] && sed -n '1,4p' /tmp/latwhy && : >/tmp/latwhy
}

normal_rows=
fb=0
for r in $LAT_ROWS; do
    if [ "$r" = v4fb ]; then fb=1; else normal_rows="$normal_rows $r"; fi
done
for d in $LAT_DELAYS; do
    delay "$d"
    for r in $normal_rows; do row "$d" "$r"; done
done
if [ $fb = 1 ]; then
    delay 0
    if hostreq nfs-versions 3; then
        for d in $LAT_DELAYS; do
            delay "$d"
            row "$d" v4fb
        done
        delay 0
        hostreq nfs-versions 3,4
    fi
fi
proxy off
/usr/sbin/tc qdisc del dev eth0 root 2>/dev/null
echo "RESULT storm-1 PASS latency"
