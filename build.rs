//! Link GCC's unwinder statically instead of loading libgcc_s.so.1 at start-up.
//!
//! Rust's std on linux-gnu asks the linker for `-lgcc_s`. Loading that library
//! costs every process its symbol binding plus libgcc's CPU-model constructor
//! (`__cpu_indicator_init`, a series of CPUID instructions, which trap to the
//! hypervisor in a VM). Measured on the development VM: about 0.1 ms of a 2 ms
//! `mount.nfs -f`. The helper is started once per mount, so this is paid per
//! mount in a storm. A one-line linker script named `libgcc_s.so` in a directory
//! searched first redirects `-lgcc_s` to the static `libgcc_eh.a` (same unwinder;
//! the binaries are built with `panic = "abort"` in release anyway).
//!
//! Skipped when the target is not linux-gnu, when the build is already static
//! (`crt-static` uses libgcc_eh by itself) or when the C compiler does not have
//! `libgcc_eh.a` (then nothing changes: libgcc_s is used as before).
use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" {
        return;
    }
    if var("CARGO_CFG_TARGET_FEATURE")
        .split(',')
        .any(|f| f == "crt-static")
    {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let found = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .is_some_and(|p| p.starts_with('/') && PathBuf::from(&p).is_file());
    if !found {
        println!("cargo:warning=libgcc_eh.a not found; linking libgcc_s.so.1 as usual");
        return;
    }
    let dir = PathBuf::from(var("OUT_DIR")).join("static-libgcc");
    std::fs::create_dir_all(&dir).expect("create OUT_DIR/static-libgcc");
    std::fs::write(dir.join("libgcc_s.so"), "INPUT(-lgcc_eh)\n").expect("write linker script");
    println!("cargo:rustc-link-search=native={}", dir.display());
}
