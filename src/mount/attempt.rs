//! One mount attempt: resolution, the NFSv4 attempt per server address, the
//! autonegotiation glue and (later) the NFSv3 path.

use super::Request;
use crate::error::{exit, Errno};
use crate::negotiate::{self, Attempts, V3Outcome};
use crate::options::version::{VersionMode, VersionSel};
use crate::options::OptList;
use crate::sys;
use crate::sys::kernel::Kernel;
use crate::sys::resolve::{FamilyFilter, ResolveError};
use std::net::SocketAddr;

/// State shared by all attempts of one mount.
pub struct Mounter {
    pub req: Request,
    /// fs options after validation (version tokens stripped when negotiating,
    /// `sloppy` first, `addr` removed).
    pub opts: OptList,
    pub version: VersionSel,
    pub host: String,
    pub family: FamilyFilter,
    /// Resolved once, on the first attempt.
    pub addrs: Option<Vec<SocketAddr>>,
    /// The option string recorded in utab on success.
    pub extra_opts: String,
    pub kernel: Box<dyn Kernel>,
    /// The step that failed last, for the diagnosis line.
    pub last_step: Option<String>,
    /// The shared-connection RPC client (rpcproxyd first, then the in-process pool).
    pub client: crate::client::Client,
    /// Last RPC failure of the v3 probe (for the ESPIPE message).
    pub last_rpc_error: Option<crate::client::RpcError>,
    /// The failed NFSv3 attempt may be redone without cached answers: it
    /// failed in probing or at mount(2), where a stale cached port would show,
    /// and before anything was printed for it.
    pub cache_retry_ok: bool,
    /// What our own MNT returned.
    pub mnt_info: Option<super::v3::MntInfo>,
    /// mountd's refusal, with the export list, when our MNT was refused.
    pub mountd_refusal: Option<String>,
    pub statd_ok: bool,
    /// The export path of the spec.
    pub export_path: String,
    /// `stormsafe`: NFSv3 mounts use legacy binary mount data with our file handle.
    pub stormsafe: bool,
    /// `stormsafe` / `nostormsafe` / neither (adaptive, `negotiate::pressure`).
    pub stormsafe_ask: crate::negotiate::pressure::Ask,
    /// The NFSv3 path refused an option value (our diagnosis line names it).
    pub option_error: Option<String>,
}

fn say(line: String) {
    eprintln!("{line}");
}

impl Mounter {
    /// nfs-utils' `nfs_validate_options` + the v2 check. Prints its own message and
    /// returns the exit status on failure. Sends nothing on the network.
    pub fn prepare(req: &Request) -> Result<Mounter, i32> {
        let p = &req.progname;
        let mut opts = req.fs_opts.clone();
        let remount = req.ms_flags & libc::MS_REMOUNT != 0;
        let mut host = String::new();
        let mut export_path = String::new();
        if !remount {
            match crate::spec::parse_spec(&req.spec) {
                Ok((spec, warnings)) => {
                    for w in warnings {
                        say(format!("{p}: {w}"));
                    }
                    host = spec.host;
                    export_path = spec.path;
                }
                Err(e) => {
                    say(format!("{p}: {e}"));
                    return Err(exit::FAIL);
                }
            }
        }
        // Only what nfs-utils' `nfs_validate_options` checks here (spec, proto=,
        // version options). The values of port=, mountport=, mountvers=, nfsprog=,
        // mountprog= and mountproto= are checked on the NFSv3 path, where nfs-utils
        // checks them (`nfs_options2pmap`), so the lines and the errno that follow
        // are the same on every path (see `v3_one`).
        let family =
            match crate::options::proto::nfs_family_with_default(&opts, req.conf_default_family) {
                Ok(crate::options::proto::Family::Inet) => FamilyFilter::V4,
                Ok(crate::options::proto::Family::Inet6) => FamilyFilter::V6,
                Ok(crate::options::proto::Family::Unspec) => FamilyFilter::Any,
                Err(e) => {
                    say(format!("{p}: {e}"));
                    return Err(exit::FAIL);
                }
            };
        opts.remove_all("addr");
        use crate::options::version::DefaultVers;
        let conf_default = match (req.conf_default_vers_invalid, req.conf_default_vers) {
            (true, _) => DefaultVers::Invalid,
            (false, Some((maj, min))) => DefaultVers::Set(maj, min),
            (false, None) => DefaultVers::Unset,
        };
        let version = match crate::options::version::select_version_ext(
            &opts,
            req.fstype == "nfs4",
            conf_default,
        ) {
            Ok(v) => v,
            Err(e) => {
                say(format!("{p}: {e}"));
                return Err(exit::FAIL);
            }
        };
        if version.mode != VersionMode::Specific {
            crate::options::version::strip_version_tokens(&mut opts);
        }
        crate::options::sloppy_fixup(&mut opts, req.sloppy);
        let stormsafe_ask =
            crate::negotiate::pressure::ask_of(opts.0.iter().map(|o| o.key.as_str()));
        let stormsafe = stormsafe_ask == crate::negotiate::pressure::Ask::On;
        opts.remove_all("stormsafe");
        opts.remove_all("nostormsafe");
        if version.major == 2 {
            for l in
                crate::error::mount_error_lines(p, Some(&req.spec), &req.target, Errno::EOPNOTSUPP)
            {
                say(l);
            }
            return Err(exit::FAIL);
        }
        Ok(Mounter {
            req: req.clone(),
            extra_opts: opts.join(),
            opts,
            version,
            host,
            family,
            addrs: None,
            kernel: sys::kernel::system_kernel(),
            last_step: None,
            client: crate::client::Client::with_default_backends(),
            last_rpc_error: None,
            cache_retry_ok: false,
            mnt_info: None,
            mountd_refusal: None,
            statd_ok: false,
            export_path,
            stormsafe,
            stormsafe_ask,
            option_error: None,
        })
    }

    /// mount(2) unless `-f`; with `-v` a failure is echoed as nfs-utils does.
    pub(super) fn sys_mount(&mut self, data: &str, extra_flags: u64) -> Result<(), Errno> {
        if self.req.fake {
            return Ok(());
        }
        let flags = self.req.ms_flags | extra_flags;
        // nfs-utils hands a bind mount to the kernel with type "none".
        let fstype = if flags & libc::MS_BIND != 0 {
            "none"
        } else {
            self.req.fstype
        };
        let r = self
            .kernel
            .mount(&self.req.spec, &self.req.target, fstype, flags, data);
        if let Err(e) = r {
            if self.req.verbose {
                say(format!(
                    "{}: mount(2): {}",
                    self.req.progname,
                    crate::error::strerror(e)
                ));
            }
        }
        r
    }

    /// Remount: no resolution, negotiation or retry; the options as they stand.
    pub fn remount(&mut self) -> Result<(), Errno> {
        let data = self.opts.join();
        self.sys_mount(&data, 0)
    }

    /// One attempt over all addresses and (when negotiating) versions.
    pub fn attempt(&mut self) -> Result<(), Errno> {
        if self.addrs.is_none() {
            match sys::resolve::resolve(&self.host, self.family) {
                Ok(a) => self.addrs = Some(a),
                Err(ResolveError::Temporary(_)) => return Err(Errno::EAGAIN),
                Err(ResolveError::Permanent(t)) => {
                    say(format!(
                        "{}: Failed to resolve server {}: {t}",
                        self.req.progname, self.host
                    ));
                    return Err(Errno::EALREADY);
                }
            }
        }
        match (self.version.major, self.version.mode) {
            (3, _) => match self.v3(false) {
                V3Outcome::Mounted => Ok(()),
                V3Outcome::Failed(e) => Err(e),
                V3Outcome::V4Registered => Err(Errno::EAGAIN),
            },
            (4, VersionMode::Specific) => self.v4_all(None),
            (4, _) => {
                let general = self.version.mode == VersionMode::General;
                let start = self.version.minor;
                negotiate::autonegotiate(self, start, general)
            }
            _ => Err(Errno::EIO),
        }
    }

    /// The NFSv4 attempt on every address in turn (`nfs_try_mount_v4`).
    /// `minor` is `Some` when negotiating (non-specific formatting).
    fn v4_all(&mut self, minor: Option<u32>) -> Result<(), Errno> {
        let addrs = self.addrs.clone().unwrap_or_default();
        let mut last = Err(Errno::EHOSTUNREACH);
        for a in addrs {
            last = self.v4_one(&a, minor);
            match last {
                Err(
                    Errno::ECONNREFUSED | Errno::EHOSTUNREACH | Errno::ETIMEDOUT | Errno::EACCES,
                ) => continue,
                _ => break,
            }
        }
        last
    }

    /// `nfs_do_mount_v4` for one address.
    fn v4_one(&mut self, addr: &SocketAddr, minor: Option<u32>) -> Result<(), Errno> {
        let p = self.req.progname.clone();
        let mut o = self.opts.clone();
        if [
            "mounthost",
            "mountaddr",
            "mountvers",
            "mountport",
            "mountproto",
        ]
        .iter()
        .any(|k| o.contains(k))
        {
            if self.req.verbose {
                println!(
                    "{p}: Unsupported nfs4 mount option(s) passed '{}'",
                    self.req.fs_opts.join()
                );
            }
            self.last_step = Some(
                "NFSv4 does not use the MOUNT protocol: drop the mount* options or ask for vers=3"
                    .into(),
            );
            return Err(Errno::EPROTONOSUPPORT);
        }
        match minor {
            Some(0) => o.append("vers", Some("4")),
            Some(1) => {
                o.append("vers", Some("4"));
                o.append("minorversion", Some("1"));
            }
            Some(m) => o.append("vers", Some(&format!("4.{m}"))),
            None => {
                if o.get("minorversion").is_some() {
                    o.remove_all("minorversion");
                    o.append(
                        "vers",
                        Some(&format!("{}.{}", self.version.major, self.version.minor)),
                    );
                }
            }
        }
        o.remove_all("addr");
        o.append("addr", Some(&sys::resolve::numeric_host(addr)));
        match o.get("clientaddr").map(str::to_string) {
            Some(given) => match sys::resolve::parse_numeric(&given) {
                None => return Err(Errno::EINVAL),
                Some(ip) if ip.is_unspecified() => {}
                Some(ip) => {
                    if !sys::local::is_local_address(&ip) {
                        say(format!(
                            "{p}: [warning] supplied clientaddr={given} does not match any existing network addresses"
                        ));
                    }
                }
            },
            None => {
                let ip = sys::local::callback_address(addr);
                o.append("clientaddr", Some(&ip.to_string()));
            }
        }
        let data = o.join();
        if self.req.verbose {
            println!("{p}: trying text-based options '{data}'");
        }
        let r = self.sys_mount(&data, 0);
        match r {
            Ok(()) => self.extra_opts = data,
            Err(e) => {
                self.last_step = Some(format!(
                    "the kernel's NFSv4 mount of {} failed: {}",
                    sys::resolve::numeric_host(addr),
                    crate::error::strerror(e)
                ))
            }
        }
        r
    }

    fn v3(&mut self, checkv4: bool) -> V3Outcome {
        self.v3_all(checkv4)
    }
}

impl Attempts for Mounter {
    fn v4(&mut self, minor: u32) -> Result<(), Errno> {
        self.v4_all(Some(minor))
    }
    fn v3(&mut self, checkv4: bool) -> V3Outcome {
        Mounter::v3(self, checkv4)
    }
}
