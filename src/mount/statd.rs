//! The statd check of NFSv3 mounts with locking (spec §3.7): a local rpc.statd
//! must answer; if not, run start-statd (as root, empty environment) and wait for
//! it (≈10 s, bounded); failing that, nfs-utils' two-line hint.

use super::context::Attempt;
use crate::client::{calls, CallOpts, Endpoint, Transport};
use crate::options::OptList;
use crate::sys;
use std::net::{IpAddr, SocketAddr};

fn say(s: String) {
    eprintln!("{s}");
}

impl Attempt<'_> {
    /// statd check (spec §3.7): unless `nolock` is rightmost, a local rpc.statd
    /// must answer; if not, run start-statd and wait for it.
    pub(super) fn check_statd(&mut self, o: &OptList) -> bool {
        if o.rightmost(&["lock", "nolock"]) == Some(1) {
            return true;
        }
        if self.found.statd_ok || self.probe_statd() {
            self.found.statd_ok = true;
            return true;
        }
        let script = sys::env::test_override("NFSMOUNT_START_STATD")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| "/usr/sbin/start-statd".into());
        if sys::process::is_executable_file(&script) {
            if sys::process::run_start_statd(&script) {
                self.found.statd_ok = true;
                return true;
            }
            for _ in 0..100 {
                if self.probe_statd() {
                    self.found.statd_ok = true;
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
        let p = &self.ctx.req.progname;
        say(format!(
            "{p}: rpc.statd is not running but is required for remote locking."
        ));
        say(format!(
            "{p}: Either use '-o nolock' to keep locks local, or start statd."
        ));
        false
    }

    fn probe_statd(&mut self) -> bool {
        let lo = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), 0);
        let target = calls::Target::new(100024, 1, Transport::Udp);
        let Ok(port) = calls::getport(&mut self.io.client, lo, target, &CallOpts::udp_probe())
        else {
            return false;
        };
        let ep = Endpoint::new(SocketAddr::new(lo.ip(), port), 100024, 1, Transport::Udp);
        calls::null(&mut self.io.client, &ep, &CallOpts::udp_probe()).is_ok()
    }
}
