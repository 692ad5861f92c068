# bash completion for mount.nfs, mount.nfs4, umount.nfs, umount.nfs4 (nfsmount)
# GENERATED from src/options/catalog.rs and tests/docs_support/mod.rs by `make completions`; do not edit by hand.

_nfsmount_mount_flags='-f --fake -n --no-mtab -r --read-only --ro -w --read-write --rw -v --verbose -V --version -o --options -s --sloppy -h --help'
_nfsmount_umount_flags='-f --force -l --lazy -n --no-mtab -r --read-only -v --verbose -h --help'
_nfsmount_opts=(
    ac noac acdirmax= acdirmin= acl noacl acregmax= acregmin=
    actimeo= addr= alignwrite noalignwrite bg bsize= cert_serial= clientaddr=
    cto nocto fatal_neterrors= fg fsc nofsc hard intr
    nointr local_lock= lock nolock lookupcache= max_connect= migration nomigration
    minorversion= mountaddr= mounthost= mountport= mountproto= mountvers= namlen= nconnect=
    nfsvers= port= posix noposix privkey_serial= proto= rdirplus nordirplus
    rdirplus= rdma resvport noresvport retrans= retry= stormsafe nostormsafe
    rsize= sec= sharecache nosharecache sloppy soft softerr softreval
    nosoftreval source= tcp timeo= trunkdiscovery notrunkdiscovery udp v2
    v3 v4 v4.0 v4.1 v4.2 vers= write= wsize=
    xprtsec= nfsprog= mountprog= defaults auto noauto user nouser
    users nousers owner noowner group nogroup _netdev nofail
    comment= x- X- uhelper= helper= ro rw exec
    noexec suid nosuid dev nodev sync async dirsync
    remount mand nomand atime noatime diratime nodiratime relatime
    norelatime strictatime nostrictatime lazytime nolazytime iversion noiversion symfollow
    nosymfollow silent loud
)

# _nfsmount_values KEY: the values KEY= accepts, one word each.
_nfsmount_values()
{
    case $1 in
        fatal_neterrors) printf '%s\n' default ENETDOWN:ENETUNREACH ENETUNREACH:ENETDOWN none ;;
        local_lock) printf '%s\n' all flock posix none ;;
        lookupcache) printf '%s\n' all none pos positive ;;
        mountproto) printf '%s\n' tcp udp tcp6 udp6 rdma rdma6 ;;
        nfsvers) printf '%s\n' 3 4 4.0 4.1 4.2 ;;
        proto) printf '%s\n' tcp udp tcp6 udp6 rdma rdma6 ;;
        rdirplus) printf '%s\n' none force ;;
        sec) printf '%s\n' sys none null krb5 krb5i krb5p lkey lkeyi lkeyp spkm3 spkm3i spkm3p ;;
        vers) printf '%s\n' 3 4 4.0 4.1 4.2 ;;
        write) printf '%s\n' lazy eager wait ;;
        xprtsec) printf '%s\n' none tls mtls ;;
    esac
}

# Drop from every reply the part of CUR that readline treats as already
# typed: everything up to its last COMP_WORDBREAKS character (= and :).
_nfsmount_trim()
{
    local cur=$1 i k=-1
    for ((i = 0; i < ${#cur}; i++)); do
        [[ $COMP_WORDBREAKS == *"${cur:i:1}"* ]] && k=$i
    done
    ((k >= 0)) || return 0
    for i in "${!COMPREPLY[@]}"; do
        COMPREPLY[i]=${COMPREPLY[i]:k+1}
    done
}

# Complete a comma-separated option list; $1 is what is typed so far.
_nfsmount_complete_opts()
{
    local cur=$1 head last key v o
    head=
    [[ $cur == *,* ]] && head=${cur%,*},
    last=${cur##*,}
    COMPREPLY=()
    if [[ $last == *=* ]]; then
        key=${last%%=*}
        while IFS= read -r v; do
            [[ $key=$v == "$last"* ]] && COMPREPLY+=("$head$key=$v")
        done < <(_nfsmount_values "$key")
    else
        for o in "${_nfsmount_opts[@]}"; do
            [[ $o == "$last"* ]] && COMPREPLY+=("$head$o")
        done
        if ((${#COMPREPLY[@]} == 1)) && [[ ${COMPREPLY[0]} == *[=-] ]]; then
            compopt -o nospace 2>/dev/null
        fi
    fi
}

_nfsmount()
{
    local line cur prev words cmd flags want_o=
    line=${COMP_LINE:0:COMP_POINT}
    cur=${line##*[[:space:]]}
    read -r -a words <<<"${line%"$cur"}"
    prev=${words[${#words[@]}-1]}
    cmd=${words[0]##*/}
    COMPREPLY=()

    case $cmd in
        umount.*) flags=$_nfsmount_umount_flags ;;
        *) flags=$_nfsmount_mount_flags ;;
    esac

    if [[ $cmd != umount.* ]]; then
        case $prev in
            -o | --options) want_o=$cur ;;
        esac
        case $cur in
            --options=*) want_o=${cur#--options=} ;;
            -o?*) want_o=${cur#-o} ;;
        esac
        if [[ -n $want_o || $prev == -o || $prev == --options ]]; then
            _nfsmount_complete_opts "$want_o"
            local pre=${cur%"$want_o"} i
            for i in "${!COMPREPLY[@]}"; do
                COMPREPLY[i]=$pre${COMPREPLY[i]}
            done
            _nfsmount_trim "$cur"
            return 0
        fi
    fi

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return 0
    fi

    # Positional arguments.
    local w n=0 skip=
    for w in "${words[@]:1}"; do
        if [[ -n $skip ]]; then
            skip=
        elif [[ $w == -o || $w == --options ]]; then
            skip=1
        elif [[ $w != -* ]]; then
            n=$((n + 1))
        fi
    done
    if [[ $cmd == umount.* ]]; then
        ((n == 0)) || return 0
        local mounts
        mounts=$(awk '$3 == "nfs" || $3 == "nfs4" { print $2 }' /proc/self/mounts 2>/dev/null)
        COMPREPLY=($(compgen -W "$mounts" -- "$cur"))
    elif ((n == 0)); then
        # server:/path: offer host names, then let the user type the path.
        [[ $cur == *:* ]] && return 0
        COMPREPLY=($(compgen -A hostname -S : -- "$cur"))
        compopt -o nospace 2>/dev/null
    elif ((n == 1)); then
        COMPREPLY=($(compgen -d -- "$cur"))
    fi
    return 0
}

complete -F _nfsmount mount.nfs mount.nfs4 umount.nfs umount.nfs4
