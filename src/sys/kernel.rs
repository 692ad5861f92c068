//! mount(2) / umount2(2), behind one narrow seam.
//!
//! [`Kernel`] is what the mount and umount code call. [`RealKernel`] goes to the
//! kernel through `nix::mount`. [`LoggingKernel`] (selected by
//! `NFSMOUNT_SYSCALL_LOG`) records every call as one line and returns errnos from a
//! scripted list, so tests observe the exact source, target, type, flags and data
//! without a kernel NFS client.

use crate::errno::Errno;
use nix::mount::{MntFlags, MsFlags};
use std::io::Write;
use std::path::PathBuf;

pub trait Kernel {
    fn mount(
        &mut self,
        source: &str,
        target: &str,
        fstype: &str,
        flags: u64,
        data: &str,
    ) -> Result<(), Errno>;
    /// mount(2) with binary data (legacy `struct nfs_mount_data`); `summary` is a
    /// human description for the test log.
    fn mount_binary(
        &mut self,
        source: &str,
        target: &str,
        fstype: &str,
        flags: u64,
        data: &[u8],
        summary: &str,
    ) -> Result<(), Errno>;
    fn umount2(&mut self, target: &str, flags: i32) -> Result<(), Errno>;
    /// mount(2) with a NULL type and NULL data (umount's `-r` read-only remount,
    /// as libmount makes it).
    fn mount_no_data(&mut self, source: &str, target: &str, flags: u64) -> Result<(), Errno>;
}

/// The real system calls.
pub struct RealKernel;

impl Kernel for RealKernel {
    fn mount(
        &mut self,
        source: &str,
        target: &str,
        fstype: &str,
        flags: u64,
        data: &str,
    ) -> Result<(), Errno> {
        let flags = MsFlags::from_bits_retain(flags as _);
        super::termination::step(&format!(
            "mount(2) of {source} on {target} (the kernel talks to the server)"
        ));
        nix::mount::mount(Some(source), target, Some(fstype), flags, Some(data))
    }
    fn umount2(&mut self, target: &str, flags: i32) -> Result<(), Errno> {
        nix::mount::umount2(target, MntFlags::from_bits_retain(flags))
    }
    fn mount_no_data(&mut self, source: &str, target: &str, flags: u64) -> Result<(), Errno> {
        let flags = MsFlags::from_bits_retain(flags as _);
        nix::mount::mount(Some(source), target, None::<&str>, flags, None::<&str>)
    }
    fn mount_binary(
        &mut self,
        source: &str,
        target: &str,
        fstype: &str,
        flags: u64,
        data: &[u8],
        _summary: &str,
    ) -> Result<(), Errno> {
        use std::ffi::CString;
        super::termination::step(&format!(
            "mount(2) of {source} on {target} (the kernel talks to the server)"
        ));
        let src = CString::new(source).map_err(|_| Errno::EINVAL)?;
        let tgt = CString::new(target).map_err(|_| Errno::EINVAL)?;
        let ty = CString::new(fstype).map_err(|_| Errno::EINVAL)?;
        // The kernel copies one page of data; give it a zero-padded page-sized buffer
        // so it never reads past our allocation.
        let mut page = vec![0u8; 4096.max(data.len())];
        page[..data.len()].copy_from_slice(data);
        // SAFETY: all pointers are valid NUL-terminated strings / a live buffer that
        // outlives the call; mount(2) does not retain them.
        let rc = unsafe {
            libc::mount(
                src.as_ptr(),
                tgt.as_ptr(),
                ty.as_ptr(),
                flags as libc::c_ulong,
                page.as_ptr() as *const libc::c_void,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(Errno::last())
        }
    }
}

/// The test seam: logs calls, returns scripted errnos.
pub struct LoggingKernel {
    log: PathBuf,
    errnos: Vec<Option<Errno>>,
    next: usize,
}

impl LoggingKernel {
    pub fn new(log: PathBuf, script: &str) -> LoggingKernel {
        let errnos = script
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s == "0" {
                    None
                } else {
                    Some(errno_from_name(s).unwrap_or(Errno::EIO))
                }
            })
            .collect();
        LoggingKernel {
            log,
            errnos,
            next: 0,
        }
    }

    /// The next scripted result, logged after `call` (`... => 0` or `=> EINVAL`).
    fn answer(&mut self, call: String) -> Result<(), Errno> {
        let r = match self.errnos.get(self.next).copied().flatten() {
            Some(e) => Err(e),
            None => Ok(()),
        };
        self.next += 1;
        let rs = match r {
            Ok(()) => "0".to_string(),
            Err(e) => format!("{e:?}"),
        };
        self.record(&format!("{call} => {rs}"));
        r
    }

    fn record(&self, line: &str) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

impl Kernel for LoggingKernel {
    fn mount(
        &mut self,
        source: &str,
        target: &str,
        fstype: &str,
        flags: u64,
        data: &str,
    ) -> Result<(), Errno> {
        self.answer(format!(
            "mount source={source} target={target} type={fstype} flags={flags:#x} data={data}"
        ))
    }
    fn mount_binary(
        &mut self,
        source: &str,
        target: &str,
        fstype: &str,
        flags: u64,
        data: &[u8],
        summary: &str,
    ) -> Result<(), Errno> {
        self.answer(format!(
            "mount source={source} target={target} type={fstype} flags={flags:#x} binary={} bytes [{summary}]",
            data.len()
        ))
    }
    fn umount2(&mut self, target: &str, flags: i32) -> Result<(), Errno> {
        self.answer(format!("umount2 target={target} flags={flags:#x}"))
    }
    fn mount_no_data(&mut self, source: &str, target: &str, flags: u64) -> Result<(), Errno> {
        self.answer(format!(
            "mount source={source} target={target} type=(null) flags={flags:#x} data=(null)"
        ))
    }
}

/// The kernel to use: the seam if `NFSMOUNT_SYSCALL_LOG` is set (and allowed).
pub fn system_kernel() -> Box<dyn Kernel> {
    match super::env::test_override("NFSMOUNT_SYSCALL_LOG") {
        Some(log) => {
            let script = super::env::test_override("NFSMOUNT_SYSCALL_ERRNOS")
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Box::new(LoggingKernel::new(PathBuf::from(log), &script))
        }
        None => Box::new(RealKernel),
    }
}

/// Parse an errno name like `EPROTONOSUPPORT`.
pub fn errno_from_name(name: &str) -> Option<Errno> {
    const TABLE: &[Errno] = &[
        Errno::EPERM,
        Errno::ENOENT,
        Errno::EIO,
        Errno::ENXIO,
        Errno::EACCES,
        Errno::EBUSY,
        Errno::ENOTDIR,
        Errno::EINVAL,
        Errno::ENODEV,
        Errno::ESTALE,
        Errno::EOPNOTSUPP,
        Errno::EPROTONOSUPPORT,
        Errno::ECONNREFUSED,
        Errno::ETIMEDOUT,
        Errno::EHOSTUNREACH,
        Errno::EAGAIN,
        Errno::EALREADY,
        Errno::EPROTO,
        Errno::EFAULT,
        Errno::ESPIPE,
        Errno::ENETUNREACH,
        Errno::ECONNRESET,
        Errno::EAFNOSUPPORT,
        Errno::ENOMEM,
        Errno::EROFS,
        Errno::ENOSYS,
        Errno::EKEYEXPIRED,
        Errno::ENOTCONN,
    ];
    TABLE.iter().copied().find(|e| format!("{e:?}") == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_round_trip() {
        assert_eq!(
            errno_from_name("EPROTONOSUPPORT"),
            Some(Errno::EPROTONOSUPPORT)
        );
        assert_eq!(errno_from_name("ECONNREFUSED"), Some(Errno::ECONNREFUSED));
        assert_eq!(errno_from_name("NOPE"), None);
    }

    #[test]
    fn logging_kernel_scripts_and_logs() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let mut k = LoggingKernel::new(log.clone(), "EINVAL,0");
        assert_eq!(
            k.mount("s:/x", "/m", "nfs", 1, "vers=4.2"),
            Err(Errno::EINVAL)
        );
        assert_eq!(k.mount("s:/x", "/m", "nfs", 0, "vers=4.1"), Ok(()));
        assert_eq!(k.umount2("/m", 2), Ok(()));
        let text = std::fs::read_to_string(log).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "mount source=s:/x target=/m type=nfs flags=0x1 data=vers=4.2 => EINVAL"
        );
        assert_eq!(
            lines[1],
            "mount source=s:/x target=/m type=nfs flags=0x0 data=vers=4.1 => 0"
        );
        assert_eq!(lines[2], "umount2 target=/m flags=0x2 => 0");
    }
}
