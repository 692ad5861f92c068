# shellcheck shell=bash
# scripts/vm/stormsafe-host.sh — sourced by scripts/vm/lib.sh: extra HOSTREQ verbs.
#   count-mnt : MOUNT (program 100005) procedure 1 (MNT) requests from the guest in
#               ganesha.log since the last logmark -> "ok <count>"
#   nfs-versions 3|3,4 : ganesha serves only NFSv3 / v3 and v4 (restarted; latency mode)
# ganesha 4.3 (testbed --debug): "Request from ::ffff:10.213.0.2 for Program 100005, Version 3, Function 1 has xid=..."
vm_hostreq_ext() { # VERB ARGS... -> prints the reply
    case $1 in
        count-mnt)
            local n
            sleep 0.5
            n=$(tail -c +$((VM_MARK + 1)) "$TB_DIR/logs/ganesha.log" |
                grep -E 'Request from [^ ]* for Program 100005, Version [0-9]+, Function 1 ' |
                grep -cF "$GUEST_ADDR" || true)
            echo "ok ${n:-0}"
            ;;
        nfs-versions)
            # latency mode: ganesha without NFSv4 (the v4 -> v3 fallback row), or back
            case ${2:-} in
                3 | 3,4)
                    if "$REPO/scripts/testbed" ctl --name "$TB_NS" nfs-versions "$2" >/dev/null 2>&1; then
                        echo ok
                    else echo "fail testbed ctl nfs-versions $2 failed"; fi
                    ;;
                *) echo "fail nfs-versions 3|3,4" ;;
            esac
            ;;
        *) echo "fail unknown request $1" ;;
    esac
}
