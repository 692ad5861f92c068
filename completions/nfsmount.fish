# fish completion for nfsmount(8): `nfsmount explain` and `nfsmount doctor`.
# Written by hand; see docs/explain-doctor.md.
complete -c nfsmount -f
complete -c nfsmount -n '__fish_use_subcommand' -a explain -d 'show what mount.nfs would do, without mounting'
complete -c nfsmount -n '__fish_use_subcommand' -a doctor -d 'check this machine and an NFS server'
complete -c nfsmount -n '__fish_use_subcommand' -l version -d 'print the version line'
complete -c nfsmount -n '__fish_use_subcommand' -l help -d 'print the usage'
complete -c nfsmount -n '__fish_seen_subcommand_from explain' -s o -l options -x -d 'mount options'
complete -c nfsmount -n '__fish_seen_subcommand_from explain' -s t -l types -x -a 'nfs nfs4' -d 'helper to explain'
complete -c nfsmount -n '__fish_seen_subcommand_from explain' -s s -l sloppy -d 'sloppy option parsing'
complete -c nfsmount -n '__fish_seen_subcommand_from explain' -s r -d 'read-only'
complete -c nfsmount -n '__fish_seen_subcommand_from explain' -s w -d 'read-write'
complete -c nfsmount -n '__fish_seen_subcommand_from explain' -s n -d 'ignored'
complete -c nfsmount -n '__fish_seen_subcommand_from explain' -l fstab -r -F -d 'take spec and options from fstab'
complete -c nfsmount -n '__fish_seen_subcommand_from explain' -l probe -d 'also run the negotiation against the server'
complete -c nfsmount -n '__fish_seen_subcommand_from explain doctor' -l json -d 'print JSON'
complete -c nfsmount -n '__fish_seen_subcommand_from explain' -a '(__fish_complete_directories)'
