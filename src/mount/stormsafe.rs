//! The storm-safe strategy for NFSv3 over IPv4: the legacy binary mount data
//! (`mount::binary`) carrying the file handle of our own MNT, so the kernel makes
//! no MOUNT call of its own.

use super::context::Attempt;
use crate::errno::Errno;
use crate::negotiate::v3::{self as nv3, Pmap};
use crate::options::OptList;
use crate::sys;
use std::net::SocketAddr;

fn say(s: String) {
    eprintln!("{s}");
}

impl Attempt<'_> {
    /// The storm-safe path: binary mount data with our MNT's file handle, so the
    /// kernel sends no MNT of its own.
    pub(super) fn mount_stormsafe(
        &mut self,
        o: &OptList,
        addr: &SocketAddr,
        mnt: Option<&Pmap>,
    ) -> Result<(), Errno> {
        let p = self.ctx.req.progname.clone();
        let Some(info) = self.found.mnt_info.clone() else {
            say(format!("{p}: stormsafe: no file handle from mountd (MNT failed or was skipped); cannot mount without the kernel's MNT"));
            return Err(Errno::EALREADY);
        };
        let _ = mnt;
        let mut server = *addr;
        server.set_port(
            o.get("port")
                .and_then(|v| v.parse().ok())
                .unwrap_or(nv3::NFS_PORT),
        );
        let params = match super::binary::params_from_options(
            o,
            server,
            &sys::resolve::numeric_host(addr),
            &info.fhandle,
        ) {
            Ok(pr) => pr,
            Err(e) => {
                say(format!("{p}: {e}"));
                return Err(Errno::EALREADY);
            }
        };
        let summary = super::binary::describe(&params);
        if self.ctx.req.verbose {
            say(format!("{p}: stormsafe: {summary}"));
        }
        if self.ctx.req.fake {
            return Ok(());
        }
        let bytes = super::binary::encode(&params);
        let r = self.io.kernel.mount_binary(
            &self.ctx.req.spec,
            &self.ctx.req.target,
            "nfs",
            self.ctx.req.ms_flags,
            &bytes,
            &summary,
        );
        if let Err(e) = r {
            if self.ctx.req.verbose {
                say(format!("{p}: mount(2): {}", crate::errno::strerror(e)));
            }
        }
        r
    }
}
