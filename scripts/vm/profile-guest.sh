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
mkdir -p /run/rpcproxyd
/usr/sbin/rpcproxyd -f --socket /run/rpcproxyd/socket >/tmp/rpcproxyd.log 2>&1 &
PROXY_PID=$!
sleep 1
for o in "vers=3,nolock" "vers=3,proto=tcp,nolock"; do
    for impl in ref ours stormsafe proxy proxyss; do
        case $impl in
            ref) h=/ref/mount.nfs oo=$o env="NFSMOUNT_PROXY_SOCKET=/nonexistent" ;;
            ours) h=/usr/sbin/mount.nfs oo=$o env="NFSMOUNT_PROXY_SOCKET=/nonexistent" ;;
            stormsafe) h=/usr/sbin/mount.nfs oo=$o,stormsafe env="NFSMOUNT_PROXY_SOCKET=/nonexistent" ;;
            proxy) h=/usr/sbin/mount.nfs oo=$o env="NFSMOUNT_PROXY_SOCKET=/run/rpcproxyd/socket" ;;
            proxyss) h=/usr/sbin/mount.nfs oo=$o,stormsafe env="NFSMOUNT_PROXY_SOCKET=/run/rpcproxyd/socket" ;;
        esac
        base=/mnt/p-$impl-$(echo "$o" | tr ',=' '__')
        env $env /usr/bin/storm --helper "$h" --spec "$SPEC" --opts "$oo" --n 20 --concurrency 1 \
            --mnt-base "$base" --label "$impl" >/tmp/s.out 2>&1
        echo "PROFILE seq $(head -n 3 /tmp/s.out | tr '\n' ' ')"
        env $env /usr/bin/storm --helper "$h" --spec "$SPEC" --opts "$oo" --n 40 --concurrency 8 \
            --mnt-base "$base-c8" --label "$impl" >/tmp/s.out 2>&1
        echo "PROFILE c8 $(head -n 3 /tmp/s.out | tr '\n' ' ')"
    done
done
mkdir -p /mnt/v1
for impl in ours stormsafe proxyss; do
    case $impl in
        ours) oo="vers=3,nolock" env="NFSMOUNT_PROXY_SOCKET=/nonexistent" ;;
        stormsafe) oo="vers=3,nolock,stormsafe" env="NFSMOUNT_PROXY_SOCKET=/nonexistent" ;;
        proxyss) oo="vers=3,nolock,stormsafe" env="NFSMOUNT_PROXY_SOCKET=/run/rpcproxyd/socket" ;;
    esac
    t0=$(now_ms)
    env $env /usr/sbin/mount.nfs "$SPEC" /mnt/v1 -v -o "$oo" >/tmp/v.out 2>&1
    echo "PROFILE verbose $impl rc=$? ms=$(($(now_ms) - t0))"
    sed "s/^/PROFILE   /" /tmp/v.out
    umount /mnt/v1
done
kill $PROXY_PID
echo "RESULT storm-1 PASS profile"
