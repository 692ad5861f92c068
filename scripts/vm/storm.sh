# shellcheck shell=bash
# shellcheck disable=SC2034 # IR, KEEP, VM_VERBOSE, TB_UP are read by lib.sh / vm-test
# scripts/vm/storm.sh — sourced by scripts/vm-test for `--storm` (scripts/storm-bench vm).
# Mount storm with REAL kernel mounts in the qemu guest:
#
#   scripts/vm-test --storm [--n "100 1000"] [--quick] [--c "N 32"]
#       [--opts "vers=3,proto=tcp,nolock vers=3,nolock"] [--impls "ref ours proxy stormsafe"]
#       [--name NS] [--mem MiB] [--smp N] [--out DIR] [--no-umount] [--static] [-v]
#   scripts/vm-test --storm --latency   (one boot: median of LAT_REPS=10 mounts per
#       row at netem delays LAT_DELAYS="0 20 100" ms, rows LAT_ROWS="v3tcp v3 v42 v4fb",
#       impls LAT_IMPLS="ref ours proxy"; scripts/vm/latency-guest.sh)
#   scripts/vm-test --storm --profile   (one boot: cost per exec with ASLR on/off,
#       sequential and c=8 mounts, -v step timings; STORM_EXTRA_DIR=DIR adds DIR's
#       binaries to the exec timing, e.g. a `make static` helper)
#
#   impls: ref = Debian's mount.nfs 2.6.2 (as /ref/mount.nfs in the guest),
#          ours = target/release/mount-nfs, proxy = ours with rpcproxyd in the guest,
#          stormsafe = ours with -o ...,stormsafe; proxyss = rpcproxyd + stormsafe.
#   --c: concurrency list; the word N means "= n".
#   --static: our helper from `make static` (static glibc, static-pie), labelled "(static)".
#   STORM_ASLR=0: the guest turns address randomisation off (randomize_va_space=0).
# Every run is its own boot (a fresh guest has no TIME_WAIT from the run before;
# a boot costs ~5 s under TCG against 60 s of TIME_WAIT drain). The guest runs
# examples/storm (N helpers on N mount points, C at a time), counts the kernel's
# own MNT calls and TCP connects with sunrpc trace events, then unmounts all with
# the same implementation's umount.nfs.  Lines collected in $OUT/storm.txt, table
# at the end.

storm_usage() {
    sed -n '3,27p' "$REPO/scripts/vm/storm.sh" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# storm_overlay OUT : cpio.gz with the extra guest files (appended to the base initramfs)
storm_overlay() {
    local out=$1 ir f
    ir=$(mktemp -d "${out%/*}/overlay.XXXXXX")
    IR=$ir
    mkdir -p "$ir/usr/bin" "$ir/usr/sbin" "$ir/ref" "$ir/mnt"
    copy_bin /usr/sbin/mount.nfs /ref/mount.nfs
    chmod 4755 "$ir/ref/mount.nfs"
    ln -s mount.nfs "$ir/ref/umount.nfs"
    copy_bin "$REPO/target/release/rpcproxyd" /usr/sbin/rpcproxyd
    copy_bin "$REPO/target/release/examples/storm" /usr/bin/storm
    # the base image has /lib -> usr/lib etc.: keep the overlay on the real paths
    for f in lib lib64 bin sbin; do
        if [ -d "$ir/$f" ] && [ ! -L "$ir/$f" ]; then
            mkdir -p "$ir/usr/$f"
            cp -a "$ir/$f/." "$ir/usr/$f/"
            rm -rf "${ir:?}/$f"
        fi
    done
    case ${STORM_GUEST:-storm-guest.sh} in
        /*) install -m 0644 "$STORM_GUEST" "$ir/cases.sh" ;;
        *) install -m 0644 "$REPO/scripts/vm/${STORM_GUEST:-storm-guest.sh}" "$ir/cases.sh" ;;
    esac
    # development aid: extra files for the guest under /exp
    if [ -n "${STORM_EXTRA_DIR:-}" ]; then mkdir -p "$ir/exp" && cp -a "$STORM_EXTRA_DIR/." "$ir/exp/"; fi
    (cd "$ir" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$out"
    rm -rf "$ir"
}

storm_conf_cpio() { # OUT RUNS
    local out=$1 ir
    ir=$(mktemp -d "${out%/*}/conf.XXXXXX")
    mkdir -p "$ir/etc"
    {
        printf 'STORM_RUNS="%s"\n' "$2"
        printf 'STORM_RUN_TIMEOUT=%s\n' "${STORM_RUN_TIMEOUT:-1500}"
        printf 'STORM_UMOUNT=%s\n' "${STORM_UMOUNT:-1}"
        if [ "${STORM_STATIC:-0}" = 1 ]; then printf 'STORM_TAG=" (static)"\n'; fi
        printf 'STORM_PROXY_ARGS="%s"\n' "${STORM_PROXY_ARGS:-}"
        # STORM_ASLR=0: the guest runs with randomize_va_space=0 (measures what
        # address randomisation costs under TCG; docs/benchmarks.md)
        # shellcheck disable=SC2016 # expanded by the guest when it reads storm.conf
        if [ "${STORM_ASLR:-1}" = 0 ]; then printf 'STORM_ASLR=0\nSTORM_TAG="${STORM_TAG:-} (ASLR off)"\n'; fi
        local v
        for v in LAT_DELAYS LAT_ROWS LAT_IMPLS LAT_REPS; do
            [ -n "${!v:-}" ] && printf '%s="%s"\n' "$v" "${!v}"
        done
    } >"$ir/etc/storm.conf"
    (cd "$ir" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$out"
    rm -rf "$ir"
}

storm_main() {
    local ns_list="100 1000" c_list="N 32" opts_list="vers=3,proto=tcp,nolock vers=3,nolock"
    local impls="ref ours proxy stormsafe" n c o impl k=0 runs=() r dir rc=0
    TB_NS=nfsstmvm
    VM_MEM=${VM_MEM:-3072}
    VM_SMP=${VM_SMP:-2}
    OUT=
    while [ $# -gt 0 ]; do
        case $1 in
            --n) ns_list=${2:?}; shift 2 ;;
            --quick) ns_list=100; shift ;;
            --c) c_list=${2:?}; shift 2 ;;
            --opts) opts_list=${2:?}; shift 2 ;;
            --impls) impls=${2:?}; shift 2 ;;
            --name) TB_NS=${2:?}; shift 2 ;;
            --mem) VM_MEM=${2:?}; shift 2 ;;
            --smp) VM_SMP=${2:?}; shift 2 ;;
            --out) OUT=${2:?}; shift 2 ;;
            --keep) KEEP=1; shift ;;
            --no-umount) STORM_UMOUNT=0; shift ;;
            --static) STORM_STATIC=1; shift ;;
            --profile) STORM_GUEST=${STORM_GUEST:-profile-guest.sh}; ns_list=1 c_list=1 opts_list=profile impls=profile; shift ;;
            --latency) STORM_GUEST=${STORM_GUEST:-latency-guest.sh}; ns_list=1 c_list=1 opts_list=latency impls=latency; shift ;;
            -v | --verbose) VM_VERBOSE=1; shift ;;
            -h | --help) storm_usage ;;
            *) vlog "unknown --storm argument $1"; storm_usage ;;
        esac
    done
    export VM_MEM VM_SMP
    [ "$(id -u)" = 0 ] || vdie "must run as root (network namespace, tap, qemu)"
    OUT=${OUT:-/var/tmp/nfsmount-vm/$TB_NS}
    mkdir -p "$OUT"
    ensure_packages "${VM_PKGS[@]}"
    [ -x /usr/sbin/mount.nfs ] || ensure_packages nfs-common
    (cd "$REPO" && cargo build --release --quiet --bin mount-nfs --bin rpcproxyd &&
        cargo build --release --quiet --example storm) >&2 || vdie "cargo build failed"
    STORM_HELPER=$REPO/target/release/mount-nfs
    if [ "${STORM_STATIC:-0}" = 1 ]; then
        make -s -C "$REPO" static >&2 || vdie "make static failed"
        STORM_HELPER=$(compgen -G "$REPO/target/static/*/release/mount-nfs" | head -n 1)
    fi
    vm_kernel
    TB_UP=1
    TB_ENV=$("$REPO/scripts/testbed" up --name "$TB_NS") || vdie "testbed up failed"
    eval "$(grep -E '^TESTBED_[A-Z0-9_]+=' <<<"$TB_ENV" | sed 's/^TESTBED_/TB_/' | sed -E "s/=(.*)$/='\\1'/")"
    TB_ADDR=$TB_TAP_ADDR
    find "$TB_EXPORT" -mindepth 1 -delete 2>/dev/null || true

    VM_STRACE=0 vm_build_initramfs "$STORM_HELPER" "$OUT/base.cpio.gz" "HELPER_TAG=storm"
    storm_overlay "$OUT/overlay.cpio.gz"

    for n in $ns_list; do
        for c in $c_list; do
            [ "$c" = N ] && c=$n
            for o in $opts_list; do
                for impl in $impls; do
                    runs+=("$impl|$o|$n|$c")
                done
            done
        done
    done
    : >"$OUT/storm.txt"
    {
        echo "# VM storm $(date -u '+%Y-%m-%d %H:%M UTC'): real kernel mounts in a qemu guest ($(vm_accel), -smp $VM_SMP, -m $VM_MEM), kernel $KVER"
        echo "# server nfs-ganesha in netns $TB_NS ($TB_ADDR), guest $GUEST_ADDR; one fresh boot per run"
    } | tee -a "$OUT/storm.txt"
    for r in "${runs[@]}"; do
        k=$((k + 1))
        dir=$OUT/run$k
        rm -rf "$dir"
        mkdir -p "$dir"
        storm_conf_cpio "$dir/conf.cpio.gz" "$r"
        cat "$OUT/base.cpio.gz" "$OUT/overlay.cpio.gz" "$dir/conf.cpio.gz" >"$dir/initramfs.cpio.gz"
        VM_TIMEOUT=${VM_TIMEOUT:-1800} vm_boot "storm$k" "$dir/initramfs.cpio.gz" "$dir/serial.log"
        rm -f "$dir/initramfs.cpio.gz"
        tr -d '\r' <"$dir/serial.log" >"$dir/console.txt"
        grep -E '^(STORM|STORMWHY|STORMX|STORMPROXY|STORMDMESG|PROFILE|LAT|LATNET|LATWHY|LATWARN|RESULT) ' "$dir/console.txt" | tee -a "$OUT/storm.txt" || true
        if ! grep -q '^RESULT storm-1 PASS' "$dir/console.txt"; then
            rc=1
            grep -q '^RESULT storm-' "$dir/console.txt" ||
                echo "RESULT storm FAIL $r: no result (boot rc=$BOOT_RC; see $dir/console.txt)" | tee -a "$OUT/storm.txt"
        fi
    done
    storm_table "$OUT/storm.txt" | tee "$OUT/table.md"
    printf '== vm-test --storm: logs in %s ==\n' "$OUT"
    return $rc
}

# storm_table FILE : markdown table from STORM + STORMX lines
storm_table() {
    awk '
    /^STORM / {
        l = $0; sub(/^STORM /, "", l)
        # the label is everything before " n="
        i = index(l, " n=")
        lab = substr(l, 1, i - 1); sub(/ +$/, "", lab)
        rest = substr(l, i + 1)
        split(rest, f, " +")
        # f: n=.. c=.. opts wall X s X mounts/s fail X p50 X ms p99 X ms TIME_WAIT<1024 X >=1024 X new TCP/mount X
        row[++nr] = lab; n[nr] = f[1]; c[nr] = f[2]; o[nr] = f[3]; wall[nr] = f[5]; mps[nr] = f[7]
        fl[nr] = f[10]; p50[nr] = f[12]; p99[nr] = f[15]; twl[nr] = f[18]; twh[nr] = f[20]; tcp[nr] = f[23]
        why[nr] = ""
        next
    }
    /^STORMWHY / { w = $0; sub(/^STORMWHY +/, "", w); why[nr] = why[nr] (why[nr] == "" ? "" : "; ") w; next }
    /^STORMX / && /kernel_MNT_calls/ {
        for (i = 3; i <= NF; i++) { split($i, kv, "="); x[nr, kv[1]] = kv[2] }
        next
    }
    END {
        print "| variant | N | C | options | wall s | mounts/s | failures | p50 ms | p99 ms | peak TW <1024 | peak TW >=1024 | new TCP/mount (all) | userspace TCP/mount (derived) | kernel MNT/mount |"
        print "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        for (i = 1; i <= nr; i++) {
            nn = n[i]; sub(/n=/, "", nn); cc = c[i]; sub(/c=/, "", cc)
            # userspace TCP = all TCP active opens minus the kernel ones: its MNT calls when
            # they go over TCP (proto=tcp implies mountproto=tcp) and its one shared NFS
            # transport (sunrpc:rpc_socket_connect also fires for UDP, so not used here)
            kt = (o[i] ~ /proto=tcp/ ? x[i, "kernel_MNT_calls"] : 0) + 1
            u = (nn > 0 && x[i, "tcp_active_opens"] != "") ? sprintf("%.3f", (x[i, "tcp_active_opens"] - kt) / nn) : "?"
            km = (nn > 0 && x[i, "kernel_MNT_calls"] != "") ? sprintf("%.2f", x[i, "kernel_MNT_calls"] / nn) : "?"
            ff = fl[i]; if (why[i] != "") ff = ff " (" why[i] ")"
            printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", row[i], nn, cc, o[i], wall[i], mps[i], ff, p50[i], p99[i], twl[i], twh[i], tcp[i], u, km
        }
    }' "$1"
}
