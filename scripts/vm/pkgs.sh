# shellcheck shell=bash
# scripts/vm/pkgs.sh — sourced: ensure_packages PKG... installs whatever is missing
# with apt-get (Debian/Ubuntu), never starting host daemons (temporary policy-rc.d).

pkg_log() { printf '%s: %s\n' "${PROG:-nfsmount}" "$*" >&2; }

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# apt_update_once: run `apt-get update` at most every 12 h (stamp file).
apt_update_once() {
    local stamp=/var/lib/apt/periodic/nfsmount-updated rc=0
    if [ "${1:-}" = force ] || [ ! -e "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get update -q >&2 || rc=$?
        if [ $rc -eq 0 ]; then
            mkdir -p "${stamp%/*}"
            touch "$stamp"
        fi
    fi
    return $rc
}

ensure_packages() {
    local missing=() p rc=0 made_policy=0
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || { pkg_log "missing packages ${missing[*]} and no apt-get"; return 1; }
    pkg_log "installing missing packages: ${missing[*]}"
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    apt_update_once || true
    DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -q --no-install-recommends \
        "${missing[@]}" </dev/null >&2 || rc=$?
    [ $made_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ $rc -ne 0 ]; then
        pkg_log "apt-get install ${missing[*]} failed (rc=$rc)"
        return 1
    fi
}

# vm_allow_rules FILE: the "<case-glob>: <ERE>" part of every vm-allow line in
# docs/differences.md. Accepted forms (optionally indented, optionally a list item):
#   vm-allow: <glob>: <ERE>
#   `vm-allow: <glob>: <ERE>`  any comment after the closing backtick
vm_allow_rules() {
    [ -f "$1" ] || return 0
    sed -n -E -e 's/^[[:space:]]*([-*][[:space:]]+)?`vm-allow:[[:space:]]*([^`]*)`.*$/\2/p' \
        -e 't' -e 's/^[[:space:]]*([-*][[:space:]]+)?vm-allow:[[:space:]]*(.*[^[:space:]])[[:space:]]*$/\2/p' "$1"
}
