# shellcheck shell=bash
# scripts/vm/pkgs.sh — the project's one Debian package function, sourced by every
# script that needs packages (test-all, testbed, vm-test, demo, storm-bench,
# check-docs).
#
#   deb_get PKG...                         install whatever is missing on this
#                                          machine (apt-get install; temporary
#                                          policy-rc.d, so no host daemon starts)
#   deb_get --suite SUITE --into DIR [--deps] PKG...
#                                          download PKG (cached) from Debian SUITE
#                                          and unpack it into DIR (dpkg-deb -x; no
#                                          maintainer scripts); --deps adds the
#                                          closure of their library dependencies
#                                          (lib*), which is what ELF binaries need
#                                          at run time.
#
# SUITE "host" is the machine's own apt configuration (read only: apt-get
# download). Any other suite (e.g. trixie) uses a project-owned apt configuration
# under $NFSMOUNT_APT_DIR/SUITE (its own sources list, lists and cache; the
# machine's sources are never touched), updated at most every 12 h.
# ensure_packages PKG... is the old name of `deb_get PKG...`.

NFSMOUNT_APT_DIR=${NFSMOUNT_APT_DIR:-/var/cache/nfsmount-apt}
NFSMOUNT_DEB_MIRROR=${NFSMOUNT_DEB_MIRROR:-http://deb.debian.org/debian}

pkg_log() { printf '%s: %s\n' "${PROG:-nfsmount}" "$*" >&2; }

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# apt_update_once [force]: the machine's `apt-get update` at most every 12 h.
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

# deb_apt SUITE CMD ARGS... : run apt-get/apt-cache (CMD) with SUITE's
# configuration, bounded by timeout (DEB_APT_TIMEOUT, default 900 s).
deb_apt() {
    local suite=$1 cmd=$2 d=$NFSMOUNT_APT_DIR/$1
    shift 2
    local opts=()
    [ "$suite" = host ] || opts=(-o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=-
        -o Dir::Etc::preferencesparts="$d/empty.d" -o Dir::State::Lists="$d/lists" -o Dir::Cache="$d/cache"
        -o Dir::State::status=/dev/null -o Acquire::Languages=none -o APT::Architecture=amd64
        -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false)
    DEBIAN_FRONTEND=noninteractive timeout -k 10 "${DEB_APT_TIMEOUT:-900}" "$cmd" "${opts[@]}" "$@"
}

# deb_suite_ready SUITE: project-owned apt configuration for SUITE, lists fresh.
deb_suite_ready() {
    local suite=$1 d rc=0
    [ "$suite" = host ] && return 0
    d=$NFSMOUNT_APT_DIR/$suite
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/empty.d"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -e "$keyring" ] || deb_get debian-archive-keyring
    printf 'deb [signed-by=%s] %s %s main\n' "$keyring" "$NFSMOUNT_DEB_MIRROR" "$suite" >"$d/sources.list.new"
    cmp -s "$d/sources.list.new" "$d/sources.list" || { mv "$d/sources.list.new" "$d/sources.list"; rm -f "$d/updated"; }
    rm -f "$d/sources.list.new"
    if [ ! -e "$d/updated" ] || [ -n "$(find "$d/updated" -mmin +720 2>/dev/null)" ]; then
        pkg_log "apt-get update for $suite (project-owned lists in $d)"
        deb_apt "$suite" apt-get -q update >&2 || rc=$?
        if [ $rc -eq 0 ]; then touch "$d/updated"; else pkg_log "apt-get update ($suite) failed (rc=$rc)"; fi
    fi
    return $rc
}

# deb_lib_closure SUITE PKG... : PKG plus, recursively, every lib* (and zlib*:
# zlib1g holds libz.so.1) package they depend on (first alternative of each
# or-group; virtual packages skipped).
deb_lib_closure() {
    local suite=$1 frontier new=() p
    shift
    declare -A seen=()
    for p in "$@"; do seen[$p]=1; done
    frontier=("$@")
    while [ ${#frontier[@]} -gt 0 ]; do
        new=()
        while read -r p; do
            if [ -z "$p" ] || [ -n "${seen[$p]:-}" ]; then continue; fi
            seen[$p]=1
            new+=("$p")
        done < <(deb_apt "$suite" apt-cache depends --no-recommends --no-suggests --no-conflicts \
            --no-breaks --no-replaces --no-enhances "${frontier[@]}" 2>/dev/null |
            awk '/^ *\|?(Pre)?Depends: / { alt = ($1 ~ /^\|/); n = $2; if (!skip && n !~ /^</ && n ~ /^(lib|zlib)/) print n; skip = alt; next } { skip = 0 }')
        frontier=("${new[@]}")
    done
    printf '%s\n' "${!seen[@]}" | sort
}

deb_get() {
    local suite=host into='' deps=0
    while [ $# -gt 0 ]; do
        case $1 in
            --suite) suite=$2; shift 2 ;;
            --into) into=$2; shift 2 ;;
            --deps) deps=1; shift ;;
            *) break ;;
        esac
    done
    [ $# -gt 0 ] || return 0
    if [ -z "$into" ]; then
        deb_install_host "$@"
        return
    fi
    deb_suite_ready "$suite" || return 1
    local pkgs=("$@") p deb dl=$NFSMOUNT_APT_DIR/debs/$suite
    [ $deps = 1 ] && mapfile -t pkgs < <(deb_lib_closure "$suite" "$@")
    mkdir -p "$dl" "$into"
    local need=()
    for p in "${pkgs[@]}"; do
        compgen -G "$dl/${p}_*.deb" >/dev/null || need+=("$p")
    done
    if [ ${#need[@]} -gt 0 ]; then
        pkg_log "downloading from $suite: ${need[*]}"
        (cd "$dl" && deb_apt "$suite" apt-get -q download "${need[@]}" 2>&1 |
            grep -v "couldn't be accessed by user '_apt'" >&2) || true
    fi
    for p in "${pkgs[@]}"; do
        deb=$(compgen -G "$dl/${p}_*.deb" | sort -V | tail -n 1) || true
        [ -n "$deb" ] || { pkg_log "apt-get download $p ($suite) failed"; return 1; }
        dpkg-deb -x "$deb" "$into" || { pkg_log "dpkg-deb -x $deb failed"; return 1; }
    done
}

# deb_install_host PKG...: apt-get install the missing ones on this machine.
deb_install_host() {
    local missing=() p rc=0 made_policy=0
    for p in "$@"; do
        pkg_installed "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || { pkg_log "missing packages ${missing[*]} and no apt-get"; return 1; }
    pkg_log "installing missing packages: ${missing[*]}"
    # package scripts must not start host-wide daemons (rpcbind, ganesha)
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    apt_update_once normal || true
    DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -q --no-install-recommends \
        "${missing[@]}" </dev/null >&2 || rc=$?
    [ $made_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ $rc -ne 0 ]; then
        pkg_log "apt-get install ${missing[*]} failed (rc=$rc)"
        return 1
    fi
}

ensure_packages() { deb_get "$@"; }

# vm_allow_rules FILE [VERSION]: the "<case-glob>: <ERE>" part of every vm-allow
# line in docs/differences.md. Accepted forms (optionally indented, optionally a
# list item):
#   vm-allow: <glob>: <ERE>              for every reference nfs-utils version
#   vm-allow@<VERSION>: <glob>: <ERE>    only against that version (e.g. 2.8.3)
#   `vm-allow…: <glob>: <ERE>`           any comment after the closing backtick
# Without VERSION: every rule (what the docs check validates).
vm_allow_rules() {
    [ -f "$1" ] || return 0
    local tag='(@[0-9.]+)?'
    [ -n "${2:-}" ] && tag="(@${2//./\\.})?"
    sed -n -E -e "s/^[[:space:]]*([-*][[:space:]]+)?\`vm-allow$tag:[[:space:]]*([^\`]*)\`.*\$/\\3/p" \
        -e 't' -e "s/^[[:space:]]*([-*][[:space:]]+)?vm-allow$tag:[[:space:]]*(.*[^[:space:]])[[:space:]]*\$/\\3/p" "$1"
}
