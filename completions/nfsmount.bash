# bash completion for nfsmount(8): `nfsmount explain` and `nfsmount doctor`.
# Written by hand (the mount.nfs completion is generated); -o values come from the
# mount.nfs completion, loaded from the same directory when needed.

_nfsmount_tool()
{
    local cur prev sub
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    sub=${COMP_WORDS[1]}
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
        mapfile -t COMPREPLY < <(compgen -W 'explain doctor --version --help' -- "$cur")
        return
    fi
    case $sub in
        explain)
            case $prev in
                -o | --options)
                    local f
                    for f in "${BASH_SOURCE[0]%/*}"/mount.nfs{,.bash}; do
                        declare -F _nfsmount_complete_opts >/dev/null && break
                        # shellcheck disable=SC1090
                        [[ -r $f ]] && . "$f"
                    done
                    declare -F _nfsmount_complete_opts >/dev/null && _nfsmount_complete_opts "$cur"
                    return
                    ;;
                -t | --types)
                    mapfile -t COMPREPLY < <(compgen -W 'nfs nfs4' -- "$cur")
                    return
                    ;;
            esac
            case $cur in
                --fstab=*)
                    mapfile -t COMPREPLY < <(compgen -f -- "${cur#--fstab=}")
                    COMPREPLY=("${COMPREPLY[@]/#/--fstab=}")
                    return
                    ;;
                -*)
                    mapfile -t COMPREPLY < <(compgen -W '-o --options -t --types -s --sloppy -r -w -n --fstab --fstab= --probe --json' -- "$cur")
                    return
                    ;;
            esac
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            ;;
        doctor)
            mapfile -t COMPREPLY < <(compgen -W '--json --help' -- "$cur")
            ;;
    esac
}
complete -F _nfsmount_tool nfsmount
