//! What one mount carries through its attempts, split by who may change it:
//!
//! * [`MountCtx`] — the validated request (spec, options, version selection,
//!   server name, export path, `stormsafe`): built once by
//!   [`Mounter::prepare`](super::attempt::Mounter::prepare), read-only to every
//!   strategy.
//! * [`Services`] — the outside world a strategy may use: the mount(2) seam and
//!   the shared-connection RPC client.
//! * [`Findings`] — what attempts learned, for utab and the diagnosis line (the
//!   option string of the mount, the step that failed, mountd's refusal, ...).
//!
//! [`Attempt`] bundles them for one strategy call (NFSv4 in `v4`, NFSv3 in `v3`,
//! the storm-safe binary mount in `stormsafe`); the dispatcher
//! ([`super::attempt::Mounter`]) owns them and the fallback between strategies.

use super::Request;
use crate::call::RpcError;
use crate::client::Client;
use crate::errno::Errno;
use crate::options::version::VersionSel;
use crate::options::OptList;
use crate::sys::kernel::Kernel;
use crate::sys::resolve::FamilyFilter;
use std::net::SocketAddr;

/// The validated mount request: read-only once prepared.
pub struct MountCtx {
    pub req: Request,
    /// fs options after validation (version tokens stripped when negotiating,
    /// `sloppy` first, `addr` and `stormsafe` removed).
    pub opts: OptList,
    pub version: VersionSel,
    pub host: String,
    pub family: FamilyFilter,
    /// The export path of the spec.
    pub export_path: String,
    /// `stormsafe`: NFSv3 mounts use legacy binary mount data with our file handle.
    pub stormsafe: bool,
    /// `stormsafe` / `nostormsafe` / neither (adaptive, `negotiate::pressure`).
    pub stormsafe_ask: crate::negotiate::pressure::Ask,
}

/// The kernel and the network, as a strategy sees them.
pub struct Services {
    pub kernel: Box<dyn Kernel>,
    /// The shared-connection RPC client (rpcproxyd first, then the in-process pool).
    pub client: Client,
}

impl Services {
    /// mount(2) unless `-f`; with `-v` a failure is echoed as nfs-utils does.
    pub fn sys_mount(&mut self, ctx: &MountCtx, data: &str, extra_flags: u64) -> Result<(), Errno> {
        let req = &ctx.req;
        if req.fake {
            return Ok(());
        }
        let flags = req.ms_flags | extra_flags;
        // nfs-utils hands a bind mount to the kernel with type "none".
        let fstype = if flags & libc::MS_BIND != 0 {
            "none"
        } else {
            req.fstype
        };
        let r = self
            .kernel
            .mount(&req.spec, &req.target, fstype, flags, data);
        if let Err(e) = r {
            if req.verbose {
                crate::report::err(&format!(
                    "{}: mount(2): {}",
                    req.progname,
                    crate::errno::strerror(e)
                ));
            }
        }
        r
    }
}

/// The file handle and flavours our own MNT returned (kept for the storm-safe
/// binary mount path and for diagnostics).
#[derive(Clone, Debug, Default)]
pub struct MntInfo {
    pub fhandle: Vec<u8>,
    pub flavors: Vec<u32>,
}

/// What the attempts of one mount learned.
#[derive(Debug, Default)]
pub struct Findings {
    /// The option string recorded in utab on success.
    pub extra_opts: String,
    /// The step that failed last, for the diagnosis line.
    pub last_step: Option<String>,
    /// Last RPC failure of the v3 probe (for the ESPIPE message).
    pub last_rpc_error: Option<RpcError>,
    /// What our own MNT returned.
    pub mnt_info: Option<MntInfo>,
    /// mountd's refusal, with the export list, when our MNT was refused.
    pub mountd_refusal: Option<String>,
    /// A local rpc.statd answered (checked once per mount).
    pub statd_ok: bool,
    /// The NFSv3 path refused an option value (our diagnosis line names it).
    pub option_error: Option<String>,
    /// The failed NFSv3 attempt may be redone without cached answers: it
    /// failed in probing or at mount(2), where a stale cached port would show,
    /// and before anything was printed for it.
    pub cache_retry_ok: bool,
}

/// One strategy call: the read-only context, the services, the server's
/// addresses and where to record what it learns.
pub struct Attempt<'a> {
    pub ctx: &'a MountCtx,
    pub io: &'a mut Services,
    pub addrs: &'a [SocketAddr],
    pub found: &'a mut Findings,
}
