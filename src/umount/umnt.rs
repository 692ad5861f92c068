//! The UMNT advisory call of umount.nfs (nfs-utils utils/mount/network.c `nfs_umount_do_umnt`): tell the server's mountd
//! that this client no longer uses the export. Never for NFSv4 or `-l`; from a
//! reserved port with AUTH_SYS; 3 s bound; errors never change the exit status
//! (with `-v` they are reported, which nfs-utils forgets to do).

use crate::client::{calls, CallOpts, Client, Cred};
use crate::negotiate::v3probe::{self as nv3, Pmap, Probe, Service};
use crate::options::netid::Family;
use crate::options::OptList;
use crate::sys;
use crate::sys::resolve::FamilyFilter;
use std::net::SocketAddr;
use std::time::Instant;

/// Why no UMNT was sent or it failed (for `-v`).
#[derive(Debug)]
pub enum UmntOutcome {
    Sent,
    SkippedV4,
    Failed(String),
}

struct MountdProbe<'a> {
    client: &'a mut Client,
    addr: SocketAddr,
}

impl Probe for MountdProbe<'_> {
    fn getport(
        &mut self,
        _svc: Service,
        prog: u32,
        vers: u32,
        prot: u32,
    ) -> Result<u16, crate::client::RpcError> {
        calls::getport(
            self.client,
            self.addr,
            calls::Target::new(prog, vers, nv3::transport(prot)),
            &CallOpts::umnt(),
        )
    }
    fn ping(
        &mut self,
        _svc: Service,
        prog: u32,
        vers: u32,
        prot: u32,
        port: u16,
    ) -> Result<(), crate::client::RpcError> {
        calls::null(
            self.client,
            &Pmap {
                prog,
                vers,
                prot,
                port,
            }
            .endpoint(self.addr),
            &CallOpts::umnt(),
        )
    }
    fn ping_nfs4(&mut self) -> bool {
        false
    }
}

/// Send UMNT for `source` (`host:/path`) using the mount's options.
pub fn advise(source: &str, opts: &str) -> UmntOutcome {
    let Ok(o) = OptList::parse(opts) else {
        return UmntOutcome::Failed("option parsing error".into());
    };
    let vers = o.get("vers").or_else(|| o.get("nfsvers")).unwrap_or("");
    if vers == "4" || vers.starts_with("4.") || o.contains("v4") {
        return UmntOutcome::SkippedV4;
    }
    let (spec, _) = match crate::spec::parse_spec(source) {
        Ok(s) => s,
        Err(e) => return UmntOutcome::Failed(e.to_string()),
    };
    let host = o
        .get("mountaddr")
        .or_else(|| o.get("mounthost"))
        .or_else(|| o.get("addr"))
        .map(str::to_string)
        .unwrap_or(spec.host.clone());
    let family = match crate::options::netid::mount_family(&o, Family::Unspec) {
        Ok(Family::Inet) => FamilyFilter::V4,
        Ok(Family::Inet6) => FamilyFilter::V6,
        _ => FamilyFilter::Any,
    };
    let addr = match sys::resolve::resolve(&host, family) {
        Ok(a) => a[0],
        Err(e) => return UmntOutcome::Failed(format!("DNS resolution failed for {host}: {e}")),
    };
    let num = |k: &str| o.get(k).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
    let mut mnt = Pmap {
        prog: nv3::MOUNT_PROGRAM,
        vers: match num("mountvers") {
            0 => 3,
            v => v,
        },
        prot: crate::options::netid::mount_protocol(&o)
            .ok()
            .flatten()
            .map(|n| nv3::ipproto(n.transport))
            .unwrap_or(0),
        port: num("mountport") as u16,
    };
    let mut client = Client::with_default_backends();
    if !mnt.complete() {
        let mut p = MountdProbe {
            client: &mut client,
            addr,
        };
        if let Err(e) = nv3::probe_mntport(&mut p, &mut mnt) {
            return UmntOutcome::Failed(format!(
                "Failed to discover mountd port: {}",
                e.clnt_sperrno_text()
            ));
        }
    }
    let ep = mnt.endpoint(addr).privileged(true);
    match calls::umnt(
        &mut client,
        &ep,
        &Cred::sys_for_process(),
        &spec.path,
        &CallOpts::umnt(),
    ) {
        Ok(()) => UmntOutcome::Sent,
        Err(e) => UmntOutcome::Failed(format!(
            "UMNT call failed: {}",
            e.clnt_sperror("RPC").trim_start_matches("RPC: ")
        )),
    }
}

/// [`advise`] with the verbose report: the line to print (with `-v`), which the
/// caller writes after nfs-utils' own lines so that those stay first.
pub fn advise_verbose(progname: &str, source: &str, opts: &str, verbose: bool) -> Option<String> {
    let t = Instant::now();
    let r = advise(source, opts);
    if !verbose {
        return None;
    }
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    match r {
        UmntOutcome::Sent => Some(format!(
            "{progname}: UMNT of {source} sent to mountd ({ms:.1} ms)"
        )),
        UmntOutcome::SkippedV4 => None,
        UmntOutcome::Failed(why) => Some(format!(
            "{progname}: {why} (UMNT of {source}; ignored, {ms:.1} ms)"
        )),
    }
}
