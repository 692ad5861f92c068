//! The NFSv4 strategy (`nfs_try_mount_v4`): one text-mode mount(2) per server
//! address, with `addr=` and `clientaddr=` filled in.

use super::context::Attempt;
use crate::errno::Errno;
use crate::sys;
use std::net::SocketAddr;

fn say(line: String) {
    eprintln!("{line}");
}

impl Attempt<'_> {
    /// The NFSv4 attempt on every address in turn (`nfs_try_mount_v4`).
    /// `minor` is `Some` when negotiating (non-specific formatting).
    pub(super) fn v4_all(&mut self, minor: Option<u32>) -> Result<(), Errno> {
        let addrs = self.addrs.to_vec();
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
        let p = self.ctx.req.progname.clone();
        let data = self.v4_options(addr, minor)?;
        if self.ctx.req.verbose {
            println!("{p}: trying text-based options '{data}'");
        }
        let r = self.io.sys_mount(self.ctx, &data, 0);
        match r {
            Ok(()) => self.found.extra_opts = data,
            Err(e) => {
                self.found.last_step = Some(format!(
                    "the kernel's NFSv4 mount of {} failed: {}",
                    sys::resolve::numeric_host(addr),
                    crate::errno::strerror(e)
                ))
            }
        }
        r
    }

    /// The kernel's option string for one address: no MOUNT-protocol options,
    /// the version as negotiated, `addr=` and `clientaddr=`.
    fn v4_options(&mut self, addr: &SocketAddr, minor: Option<u32>) -> Result<String, Errno> {
        let p = self.ctx.req.progname.clone();
        let mut o = self.ctx.opts.clone();
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
            if self.ctx.req.verbose {
                println!(
                    "{p}: Unsupported nfs4 mount option(s) passed '{}'",
                    self.ctx.req.fs_opts.join()
                );
            }
            self.found.last_step = Some(
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
                        Some(&format!(
                            "{}.{}",
                            self.ctx.version.major, self.ctx.version.minor
                        )),
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
        Ok(o.join())
    }
}
