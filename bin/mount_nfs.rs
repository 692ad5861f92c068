//! The helper binary. Installed as mount.nfs, mount.nfs4, umount.nfs, umount.nfs4;
//! it dispatches on the basename of argv[0].
fn main() {
    std::process::exit(nfsmount::cli::helper_main());
}
