# shellcheck shell=dash disable=SC1091,SC2086
# (guest scripts run in busybox sh, close to dash; word splitting of command
# strings and option lists is deliberate; /etc/*.conf exist only in the guest)
# Guest side of `scripts/vm-test --storm --profile`: where does a helper's time go?
# (busybox sh, run by /init as /cases.sh). Prints PROFILE lines.
. /etc/vmtest.conf
SPEC="$SRV:$EXP"
DATE=/usr/bin/date
now_ms() { $DATE +%s%3N; }
loop_ms() { # N CMD... -> average ms per run
    local n=$1 t0 i=0
    shift
    t0=$(now_ms)
    while [ $i -lt "$n" ]; do "$@" >/dev/null 2>&1; i=$((i + 1)); done
    echo $((($(now_ms) - t0) * 1000 / n))
}
# Start-up cost per exec, with ASLR on (2) and off (0); extra binaries given
# with STORM_EXTRA_DIR (in /exp) are timed too, e.g. a `make static` helper.
for aslr in 2 0; do
    echo $aslr >/proc/sys/kernel/randomize_va_space
    line="PROFILE exec-only aslr=$aslr (us/run, 30 runs): ours-V=$(loop_ms 30 /usr/sbin/mount.nfs -V) ref-V=$(loop_ms 30 /ref/mount.nfs -V)"
    for b in /exp/*; do
        [ -f "$b" ] || continue
        chmod 755 "$b"
        line="$line $(basename "$b")=$(loop_ms 30 "$b" -V)"
    done
    echo "$line"
done
echo 2 >/proc/sys/kernel/randomize_va_space
# The guest's helper is a production build: it ignores NFSMOUNT_PROXY_SOCKET
# and always tries /run/rpcproxyd/socket, so the daemon runs only for the
# modes that use it.
mkdir -p /run/rpcproxyd
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
for o in "vers=3,nolock" "vers=3,proto=tcp,nolock"; do
    for impl in ref ours stormsafe proxy proxyss; do
        case $impl in
            ref) h=/ref/mount.nfs oo=$o px=off ;;
            ours) h=/usr/sbin/mount.nfs oo=$o px=off ;;
            stormsafe) h=/usr/sbin/mount.nfs oo=$o,stormsafe px=off ;;
            proxy) h=/usr/sbin/mount.nfs oo=$o px=on ;;
            proxyss) h=/usr/sbin/mount.nfs oo=$o,stormsafe px=on ;;
        esac
        proxy $px
        base=/mnt/p-$impl-$(echo "$o" | tr ',=' '__')
        /usr/bin/storm --helper "$h" --spec "$SPEC" --opts "$oo" --n 20 --concurrency 1 \
            --mnt-base "$base" --label "$impl" >/tmp/s.out 2>&1
        echo "PROFILE seq $(head -n 3 /tmp/s.out | tr '\n' ' ')"
        /usr/bin/storm --helper "$h" --spec "$SPEC" --opts "$oo" --n 40 --concurrency 8 \
            --mnt-base "$base-c8" --label "$impl" >/tmp/s.out 2>&1
        echo "PROFILE c8 $(head -n 3 /tmp/s.out | tr '\n' ' ')"
    done
done
mkdir -p /mnt/v1
for impl in ours stormsafe proxyss; do
    case $impl in
        ours) oo="vers=3,nolock" px=off ;;
        stormsafe) oo="vers=3,nolock,stormsafe" px=off ;;
        proxyss) oo="vers=3,nolock,stormsafe" px=on ;;
    esac
    proxy $px
    t0=$(now_ms)
    /usr/sbin/mount.nfs "$SPEC" /mnt/v1 -v -o "$oo" >/tmp/v.out 2>&1
    echo "PROFILE verbose $impl rc=$? ms=$(($(now_ms) - t0))"
    sed "s/^/PROFILE   /" /tmp/v.out
    umount /mnt/v1
done
proxy off
echo "RESULT storm-1 PASS profile"
