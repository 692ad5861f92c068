//! The NFSv3 attempt (nfs-utils utils/mount/stropts.c `nfs_do_mount_v3v2`) over the shared-connection client:
//! `mountaddr=` fixing, the statd check, rpcbind/NULL probing, asking mountd
//! ourselves (MNT) so refusals come with the server's status and export list,
//! rebuilding the kernel option string, mount(2).

use super::context::{Attempt, MntInfo};
use crate::client::{calls, CallOpts, Cred, Endpoint, RpcError, Transport};
use crate::error::Errno;
use crate::negotiate::v3probe::{self as nv3, Pmap, Probe, ProbeError, Service};
use crate::negotiate::V3Outcome;
use crate::options::netid::{Family, NetidTransport};
use crate::options::OptList;
use crate::proto::mount::MntRes3;
use crate::sys;
use std::net::SocketAddr;
use std::time::Instant;

fn say(s: String) {
    crate::report::err(&s);
}

fn ms(t: Instant) -> String {
    format!("{:.1} ms", t.elapsed().as_secs_f64() * 1000.0)
}

fn prot_name(prot: u32) -> &'static str {
    if prot == nv3::IPPROTO_UDP {
        "UDP"
    } else {
        "TCP"
    }
}

/// [`Probe`] over the client, towards one NFS server address and one mountd address.
struct NetProbe<'a, 'b> {
    m: &'a mut Attempt<'b>,
    nfs_addr: SocketAddr,
    mnt_addr: SocketAddr,
}

impl NetProbe<'_, '_> {
    fn addr(&self, svc: Service) -> SocketAddr {
        match svc {
            Service::Nfs => self.nfs_addr,
            Service::Mount => self.mnt_addr,
        }
    }
}

impl Probe for NetProbe<'_, '_> {
    fn getport(&mut self, svc: Service, prog: u32, vers: u32, prot: u32) -> Result<u16, RpcError> {
        let server = self.addr(svc);
        let t = Instant::now();
        let target = calls::Target::new(prog, vers, nv3::transport(prot));
        let r = calls::getport(
            &mut self.m.io.client,
            server,
            target,
            &CallOpts::probe(prot != nv3::IPPROTO_UDP),
        );
        if self.m.ctx.req.verbose {
            let what = if server.is_ipv4() {
                "portmap v2 GETPORT"
            } else {
                "rpcbind v4/v3 GETADDR"
            };
            let ans = match &r {
                Ok(p) => format!("port {p}"),
                Err(e) => e
                    .clnt_sperror("failed")
                    .trim_start_matches("failed: ")
                    .to_string(),
            };
            say(format!(
                "{}: {what} to {} port 111/{}: prog {prog} vers {vers} -> {ans} ({}){}",
                self.m.ctx.req.progname,
                sys::resolve::numeric_host(&server),
                prot_name(prot).to_lowercase(),
                ms(t),
                cached_note(r.is_ok() && self.m.io.client.last_from_cache())
            ));
            if let Ok(p) = &r {
                say(format!(
                    "{}: trying {} prog {prog} vers {vers} prot {} port {p}",
                    self.m.ctx.req.progname,
                    sys::resolve::numeric_host(&server),
                    prot_name(prot)
                ));
            }
        }
        if let Err(e) = &r {
            self.m.note_rpc_failure("rpcbind query", server, prot, e);
        }
        r
    }

    fn ping(
        &mut self,
        svc: Service,
        prog: u32,
        vers: u32,
        prot: u32,
        port: u16,
    ) -> Result<(), RpcError> {
        let ep = Pmap {
            prog,
            vers,
            prot,
            port,
        }
        .endpoint(self.addr(svc));
        let a = ep.addr;
        let t = Instant::now();
        let r = calls::null(
            &mut self.m.io.client,
            &ep,
            &CallOpts::probe(prot != nv3::IPPROTO_UDP),
        );
        if self.m.ctx.req.verbose {
            let ans = match &r {
                Ok(()) => "ok".to_string(),
                Err(e) => e.to_string(),
            };
            say(format!(
                "{}: NULL ping prog {prog} vers {vers} {} port {port} -> {ans} ({}){}",
                self.m.ctx.req.progname,
                prot_name(prot),
                ms(t),
                cached_note(r.is_ok() && self.m.io.client.last_from_cache())
            ));
        }
        if let Err(e) = &r {
            self.m.note_rpc_failure("NULL ping", a, prot, e);
        }
        r
    }

    fn ping_nfs4(&mut self) -> bool {
        let mut a = self.nfs_addr;
        a.set_port(nv3::NFS_PORT);
        calls::nfs_null(
            &mut self.m.io.client,
            a,
            4,
            Transport::Tcp,
            &CallOpts::tcp_probe(),
        )
        .is_ok()
    }

    fn trying(&mut self, prog: u32, vers: u32, prot: u32) {
        if self.m.ctx.req.verbose {
            println!(
                "{}: prog {prog}, trying vers={vers}, prot={prot}",
                self.m.ctx.req.progname
            );
        }
    }
}

/// `-v`: which answers came from rpcproxyd's cache instead of the server.
fn cached_note(cached: bool) -> &'static str {
    if cached {
        " [from rpcproxyd's cache]"
    } else {
        ""
    }
}

fn numeric_opt(o: &OptList, key: &str) -> u32 {
    o.get(key).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0)
}

impl Attempt<'_> {
    /// `nfs_try_mount_v3v2`: every address in turn.
    pub(super) fn v3_all(&mut self, checkv4: bool) -> V3Outcome {
        let addrs = self.addrs.to_vec();
        let mut last = V3Outcome::Failed(Errno::EHOSTUNREACH);
        for a in addrs {
            let _ = self.io.client.take_cache_used();
            self.found.cache_retry_ok = false;
            last = self.v3_one(&a, checkv4);
            // An answer from rpcproxyd's cache may be stale: on any failure
            // where that could show, the whole probe sequence runs again
            // without the cache, so the outcome and its messages are the
            // ones the server gives (nfs-utils').
            if matches!(last, V3Outcome::Failed(_))
                && self.found.cache_retry_ok
                && self.io.client.take_cache_used() > 0
            {
                if self.ctx.req.verbose {
                    say(format!(
                        "{}: retrying without rpcproxyd's cached answers",
                        self.ctx.req.progname
                    ));
                }
                self.io.client.set_fresh(true);
                self.found.last_rpc_error = None;
                self.found.last_step = None;
                last = self.v3_one(&a, checkv4);
                self.io.client.set_fresh(false);
            }
            match last {
                V3Outcome::Failed(
                    Errno::ECONNREFUSED
                    | Errno::EOPNOTSUPP
                    | Errno::EHOSTUNREACH
                    | Errno::ETIMEDOUT
                    | Errno::EACCES,
                ) => continue,
                _ => break,
            }
        }
        last
    }

    /// `nfs_try_mount_v3v2` for one address: the MOUNT server's address, the
    /// statd check, the rpcbind/NULL probe, our own MNT, mount(2).
    fn v3_one(&mut self, addr: &SocketAddr, checkv4: bool) -> V3Outcome {
        let p = self.ctx.req.progname.clone();
        let mut o = self.ctx.opts.clone();
        o.remove_all("addr");
        o.append("addr", Some(&sys::resolve::numeric_host(addr)));
        let mnt_addr = match self.mount_server_addr(&mut o, addr) {
            Ok(a) => a,
            Err(out) => return out,
        };
        if !self.ctx.req.fake && !self.check_statd(&o) {
            return V3Outcome::Failed(Errno::EALREADY);
        }
        // What goes to utab: the user's options plus addr (umount renegotiates).
        self.found.extra_opts = o.join();
        if self.ctx.req.verbose {
            crate::report::out(&format!(
                "{p}: trying text-based options '{}'\n",
                self.found.extra_opts
            ));
        }
        let (mnt_result, rpcbind_used) = match self.probe_ports(&mut o, addr, mnt_addr, checkv4) {
            Ok(r) => r,
            Err(out) => return out,
        };
        // Ask mountd ourselves before the kernel does (not with -f: a fake mount
        // makes no state-changing calls, and MNT adds the client to the server's
        // mount list).
        if self.ctx.req.fake {
            return V3Outcome::Mounted;
        }
        if let Some((mnt, maddr)) = mnt_result {
            if let Err(e) = self.ask_mountd(&mnt, maddr, rpcbind_used) {
                return V3Outcome::Failed(e);
            }
        }
        self.kernel_mount(&o, addr, mnt_result)
    }

    /// The MOUNT server's address (`nfs_fix_mounthost_option`): `mounthost=`
    /// or a `mountproto=` of another family is resolved and written back as
    /// `mountaddr=`; a numeric `mountaddr=` is taken as it is.
    fn mount_server_addr(
        &mut self,
        o: &mut OptList,
        addr: &SocketAddr,
    ) -> Result<SocketAddr, V3Outcome> {
        let p = self.ctx.req.progname.clone();
        let nfs_family =
            crate::options::netid::nfs_family_with_default(o, self.ctx.req.conf_default_family)
                .unwrap_or(Family::Unspec);
        // An unknown mountproto= netid is found here, as in nfs-utils'
        // `nfs_mount_proto_family`: its line, then EAFNOSUPPORT.
        let mnt_family =
            match crate::options::netid::mount_family(o, self.ctx.req.conf_default_family) {
                Ok(f) => f,
                Err(e) => return Err(self.option_refused(&e, Errno::EAFNOSUPPORT)),
            };
        let mut mnt_addr = *addr;
        let mounthost = o.get("mounthost").map(str::to_string);
        if mounthost.is_some() || nfs_family != mnt_family {
            let host = mounthost.clone().unwrap_or_else(|| self.ctx.host.clone());
            let filter = match mnt_family {
                Family::Inet => sys::resolve::FamilyFilter::V4,
                Family::Inet6 => sys::resolve::FamilyFilter::V6,
                Family::Unspec => sys::resolve::FamilyFilter::Any,
            };
            match sys::resolve::resolve(&host, filter) {
                Ok(v) => {
                    mnt_addr = v[0];
                    o.remove_all("mountaddr");
                    o.append("mountaddr", Some(&sys::resolve::numeric_host(&mnt_addr)));
                }
                Err(e) => {
                    if mounthost.is_some() {
                        say(format!("{p}: DNS resolution failed for {host}: {e}"));
                    }
                    say(format!("{p}: unable to determine mount server's address"));
                    // EAI_AGAIN is temporary for nfs-utils too: it retries and ends
                    // with EAGAIN; any other resolver failure is EINVAL (permanent).
                    if let sys::resolve::ResolveError::Temporary(_) = e {
                        return Err(V3Outcome::Failed(Errno::EAGAIN));
                    }
                    self.found.option_error = Some(format!(
                        "no {} address for the MOUNT server {host} ({e}): check mounthost=, mountproto= and proto=",
                        match mnt_family {
                            Family::Inet => "IPv4",
                            Family::Inet6 => "IPv6",
                            Family::Unspec => "usable",
                        }
                    ));
                    return Err(V3Outcome::Failed(Errno::EINVAL));
                }
            }
        } else if let Some(ma) = o.get("mountaddr").and_then(sys::resolve::parse_numeric) {
            mnt_addr = SocketAddr::new(ma, 0);
        }
        Ok(mnt_addr)
    }

    /// The option checks of `nfs_options2pmap` and the rpcbind/NULL probe of
    /// NFS and mountd (skipped for RDMA); on success the options carry the
    /// ports found. Returns the MOUNT service found (for our MNT) and whether
    /// rpcbind was asked for it.
    #[allow(clippy::type_complexity)]
    fn probe_ports(
        &mut self,
        o: &mut OptList,
        addr: &SocketAddr,
        mnt_addr: SocketAddr,
        checkv4: bool,
    ) -> Result<(Option<(Pmap, SocketAddr)>, bool), V3Outcome> {
        let nfs_proto = crate::options::netid::nfs_protocol(o).ok().flatten();
        let rdma = matches!(nfs_proto.map(|n| n.transport), Some(NetidTransport::Rdma));
        let mut mnt_result: Option<(Pmap, SocketAddr)> = None;
        let mut rpcbind_used = false;
        if !rdma {
            // nfs-utils' `nfs_extract_server_addresses` and `nfs_options2pmap`:
            // after the statd check, before any rpcbind traffic; EINVAL.
            if let Some(ma) = o.get("mountaddr") {
                if sys::resolve::parse_numeric(ma).is_none() {
                    self.found.option_error = Some(format!(
                        "mountaddr={ma} is not a numeric address (use mounthost= for a name)"
                    ));
                    return Err(V3Outcome::Failed(Errno::EINVAL));
                }
            }
            if let Err(e) = crate::options::validate::validate(o) {
                return Err(self.option_refused(&e, Errno::EINVAL));
            }
            let mut nfs = Pmap {
                prog: nv3::NFS_PROGRAM,
                vers: 3,
                prot: nfs_proto.map(|n| nv3::ipproto(n.transport)).unwrap_or(0),
                port: numeric_opt(o, "port") as u16,
            };
            let mut mnt = Pmap {
                prog: nv3::MOUNT_PROGRAM,
                vers: numeric_opt(o, "mountvers"),
                prot: crate::options::netid::mount_protocol(o)
                    .ok()
                    .flatten()
                    .map(|n| nv3::ipproto(n.transport))
                    .unwrap_or(0),
                port: numeric_opt(o, "mountport") as u16,
            };
            let udp_first = self.ctx.req.conf_default_proto_udp_first;
            // Our MNT may try UDP only when TCP was imposed by the options (not
            // chosen because UDP failed) and rpcbind is being asked anyway.
            // A pinned mountport= is never asked of rpcbind (the probe pings it),
            // so our MNT goes to that port, not to whatever rpcbind advertises.
            rpcbind_used = mnt.port == 0 && !mnt.complete() && mnt.prot == nv3::IPPROTO_TCP;
            self.getports_ahead(*addr, &nfs, mnt_addr, &mnt, udp_first, rpcbind_used);
            let mut probe = NetProbe {
                m: self,
                nfs_addr: *addr,
                mnt_addr,
            };
            if let Err(e) = nv3::probe_bothports(&mut probe, &mut mnt, &mut nfs, checkv4, udp_first)
            {
                if e == ProbeError::V4Registered {
                    return Err(V3Outcome::V4Registered);
                }
                if let ProbeError::Rpc(rpc) = &e {
                    self.found.last_rpc_error = Some(rpc.clone());
                }
                self.found.cache_retry_ok = true;
                return Err(V3Outcome::Failed(e.errno()));
            }
            nv3::construct_new_options(o, &nfs, addr.is_ipv6(), &mnt, mnt_addr.is_ipv6());
            mnt_result = Some((mnt, mnt_addr));
        }
        Ok((mnt_result, rpcbind_used))
    }

    /// The kernel's mount (text options, or the storm-safe binary data) and,
    /// on failure, the step for the diagnosis line and the UMNT of our MNT.
    fn kernel_mount(
        &mut self,
        o: &OptList,
        addr: &SocketAddr,
        mnt_result: Option<(Pmap, SocketAddr)>,
    ) -> V3Outcome {
        let p = self.ctx.req.progname.clone();
        let data = o.join();
        if self.ctx.req.verbose && data != self.found.extra_opts {
            say(format!("{p}: kernel options after negotiation '{data}'"));
        }
        if self.ctx.stormsafe && self.found.mnt_info.is_none() && self.ctx.req.verbose {
            say(format!(
                "{p}: stormsafe: no file handle from our MNT; falling back to a text-mode mount (the kernel makes its own MNT)"
            ));
        }
        let adaptive = !self.ctx.stormsafe && self.adaptive_stormsafe(o, addr);
        let result = if (self.ctx.stormsafe || adaptive) && self.found.mnt_info.is_some() {
            match self.mount_stormsafe(o, addr, mnt_result.as_ref().map(|(m, _)| m)) {
                // not asked for: a refusal of the binary mount data is not the
                // user's problem; text mode as without the pressure
                Err(_) if adaptive => self.io.sys_mount(self.ctx, &data, 0),
                r => r,
            }
        } else {
            self.io.sys_mount(self.ctx, &data, 0)
        };
        match result {
            Ok(()) => V3Outcome::Mounted,
            Err(e) => {
                // Most kernels since Linux 5.6 are built without NFS over UDP
                // (CONFIG_NFS_DISABLE_UDP_SUPPORT) and reject proto=udp with EINVAL.
                let udp = o.get("proto").is_some_and(|p| p.starts_with("udp"));
                let note = if udp && matches!(e, Errno::EINVAL | Errno::EPROTONOSUPPORT) {
                    " (over UDP: this kernel may be built without NFS over UDP, as most are since Linux 5.6; dmesg tells, and TCP must reach the server's NFS port)"
                } else {
                    ""
                };
                self.found.last_step = Some(format!(
                    "the kernel's NFSv3 mount of {} failed: {}{note}",
                    sys::resolve::numeric_host(addr),
                    crate::error::strerror(e)
                ));
                self.release_mnt(mnt_result);
                self.found.cache_retry_ok = true;
                V3Outcome::Failed(e)
            }
        }
    }

    /// The rpcbind queries the probe (and our MNT) will make when all goes
    /// well are sent together before it starts, pipelined: the probe's own
    /// GETPORTs then only wait for replies already on their way. The probe
    /// still runs in nfs-utils' order and makes every decision itself; a query
    /// it does not make (a different path after an error) is simply not
    /// waited for, and one whose early reply does not come is made as usual.
    fn getports_ahead(
        &mut self,
        nfs_addr: SocketAddr,
        nfs: &Pmap,
        mnt_addr: SocketAddr,
        mnt: &Pmap,
        udp_first: bool,
        rpcbind_used: bool,
    ) {
        let mut q: Vec<(SocketAddr, u32, u32, u32)> = Vec::new();
        // A pinned port= / mountport= is pinged, never asked of rpcbind.
        if nfs.port == 0 && !nfs.complete() {
            let first = if nfs.prot != 0 {
                nfs.prot
            } else if udp_first {
                nv3::IPPROTO_UDP
            } else {
                nv3::IPPROTO_TCP
            };
            let vers = if nfs.vers != 0 { nfs.vers } else { 3 };
            q.push((nfs_addr, nv3::NFS_PROGRAM, vers, first));
        }
        if mnt.port == 0 && !mnt.complete() {
            let first = if mnt.prot != 0 {
                mnt.prot
            } else {
                nv3::IPPROTO_UDP
            };
            let vers = if mnt.vers != 0 { mnt.vers } else { 3 };
            q.push((mnt_addr, nv3::MOUNT_PROGRAM, vers, first));
            if rpcbind_used && first != nv3::IPPROTO_UDP {
                q.push((mnt_addr, nv3::MOUNT_PROGRAM, vers, nv3::IPPROTO_UDP));
            }
        }
        if q.len() < 2 {
            return;
        }
        let mut sent = 0;
        for (server, prog, vers, prot) in q {
            let target = calls::Target::new(prog, vers, nv3::transport(prot));
            let opts = if prog == nv3::MOUNT_PROGRAM && prot == nv3::IPPROTO_UDP && rpcbind_used {
                // ask_mountd's quick UDP query
                CallOpts::udp_probe().with_timeout(std::time::Duration::from_secs(1))
            } else {
                CallOpts::probe(prot != nv3::IPPROTO_UDP)
            };
            if calls::getport_ahead(&mut self.io.client, server, target, &opts) {
                sent += 1;
            }
        }
        if self.ctx.req.verbose && sent > 0 {
            say(format!(
                "{}: {sent} rpcbind queries sent together (pipelined)",
                self.ctx.req.progname
            ));
        }
    }

    /// Adaptive `stormsafe` (`negotiate::pressure`): without `stormsafe` or
    /// `nostormsafe`, take the storm-safe path when reserved ports are under
    /// pressure and the binary interface can carry the options; else text
    /// mode, silently (`-v` says why).
    fn adaptive_stormsafe(&mut self, o: &OptList, addr: &SocketAddr) -> bool {
        use crate::negotiate::pressure::{self, Ask, Path};
        if self.ctx.stormsafe_ask != Ask::Auto || !addr.is_ipv4() {
            return false;
        }
        let Some(info) = self.found.mnt_info.as_ref() else {
            return false;
        };
        let mut sig = pressure::Pressure {
            reserved_time_wait: sys::portpool::reserved_time_wait_count(),
            peers: None,
        };
        if sig.reason().is_none() {
            // only while we use rpcproxyd: its socket's connections in
            // /proc/net/unix (the daemon itself is not asked)
            sig.peers = self.io.client.peers();
        }
        if pressure::choose(Ask::Auto, true, &sig) != Path::Adaptive {
            return false;
        }
        let p = self.ctx.req.progname.clone();
        let why = sig.reason().unwrap_or_default();
        let mut server = *addr;
        server.set_port(nv3::NFS_PORT);
        match super::binary::params_from_options(
            o,
            server,
            &sys::resolve::numeric_host(addr),
            &info.fhandle,
        ) {
            Ok(_) => {
                if self.ctx.req.verbose {
                    say(format!(
                        "{p}: {why}: using the stormsafe path by itself (nostormsafe turns this off)"
                    ));
                }
                true
            }
            Err(e) => {
                if self.ctx.req.verbose {
                    say(format!("{p}: {why}, but staying in text mode: {e}"));
                }
                false
            }
        }
    }

    /// An option value refused on the NFSv3 path: nfs-utils' line now, the errno
    /// nfs-utils leaves (the final `mount_error` line follows from it), and our
    /// diagnosis for later.
    fn option_refused(&mut self, e: &crate::options::OptError, errno: Errno) -> V3Outcome {
        say(format!("{}: {e}", self.ctx.req.progname));
        self.found.option_error = Some(super::diagnose::option_value_hint(&self.ctx.opts, e));
        V3Outcome::Failed(errno)
    }

    /// MNT from a reserved port with AUTH_SYS, as the kernel will do. A refusal is
    /// reported with the server's status and its export list; an RPC-level failure
    /// is only noted (the kernel makes its own MNT and reports on its own).
    ///
    /// Our MNT goes over UDP when mountd offers it, even when the kernel's MNT will
    /// use TCP: a reserved TCP port closed by us would sit in TIME_WAIT for 60 s,
    /// which is exactly what mount storms run out of. The UDP port is asked of
    /// rpcbind only when rpcbind was already used for this mount (never an extra
    /// wait on a fully pinned mount).
    fn ask_mountd(
        &mut self,
        mnt: &Pmap,
        maddr: SocketAddr,
        rpcbind_used: bool,
    ) -> Result<(), Errno> {
        let p = self.ctx.req.progname.clone();
        let path = self.ctx.export_path.clone();
        let mut mnt = *mnt;
        if mnt.prot != nv3::IPPROTO_UDP && rpcbind_used {
            let target = calls::Target::new(nv3::MOUNT_PROGRAM, mnt.vers, Transport::Udp);
            let quick = CallOpts::udp_probe().with_timeout(std::time::Duration::from_secs(1));
            if let Ok(port) = calls::getport(&mut self.io.client, maddr, target, &quick) {
                mnt.prot = nv3::IPPROTO_UDP;
                mnt.port = port;
            }
        }
        let ep = mnt.endpoint(maddr).privileged(true);
        let a = ep.addr;
        let t = Instant::now();
        let opts = CallOpts::probe(mnt.prot != nv3::IPPROTO_UDP).with_idempotent(true);
        let r = calls::mnt3(
            &mut self.io.client,
            &ep,
            &Cred::sys_for_process(),
            &path,
            &opts,
        );
        if self.ctx.req.verbose {
            let ans = match &r {
                Ok(MntRes3::Ok { fhandle, .. }) => {
                    format!("MNT3_OK ({}-byte file handle)", fhandle.len())
                }
                Ok(MntRes3::Err(s)) => s.name().to_string(),
                Err(e) => e.to_string(),
            };
            say(format!(
                "{p}: MOUNT v{} MNT '{path}' to {} {} port {} -> {ans} ({})",
                mnt.vers,
                sys::resolve::numeric_host(&a),
                prot_name(mnt.prot),
                mnt.port,
                ms(t)
            ));
        }
        match r {
            Ok(MntRes3::Ok {
                fhandle,
                auth_flavors,
            }) => {
                self.found.mnt_info = Some(MntInfo {
                    fhandle,
                    flavors: auth_flavors,
                });
                Ok(())
            }
            Ok(MntRes3::Err(stat)) => {
                let errno = Errno::from_raw(stat.errno().unwrap_or(libc::EIO));
                self.found.mountd_refusal =
                    Some(self.describe_refusal(&ep, stat.name(), &stat.message()));
                Err(errno)
            }
            Err(e) => {
                if self.ctx.req.verbose {
                    say(format!(
                        "{p}: could not ask mountd directly ({e}); leaving MNT to the kernel"
                    ));
                }
                Ok(())
            }
        }
    }

    /// "server says X; it exports: ..." from an EXPORT call on the same mountd.
    fn describe_refusal(&mut self, ep: &Endpoint, name: &str, text: &str) -> String {
        let host = sys::resolve::numeric_host(&ep.addr);
        let mut s = format!(
            "mountd on {host} refused '{}': {name} ({text})",
            self.ctx.export_path
        );
        let unpriv = Endpoint {
            privileged: false,
            ..*ep
        };
        match calls::export(
            &mut self.io.client,
            &unpriv,
            &CallOpts::probe(ep.transport.is_tcp()),
        ) {
            Ok(list) if list.is_empty() => s.push_str("; it exports nothing"),
            Ok(list) => {
                let items: Vec<String> = list
                    .iter()
                    .take(20)
                    .map(|e| {
                        if e.groups.is_empty() {
                            format!("{} (everyone)", e.dir)
                        } else {
                            format!("{} ({})", e.dir, e.groups.join(","))
                        }
                    })
                    .collect();
                s.push_str(&format!("; it exports: {}", items.join(", ")));
                if list.len() > 20 {
                    s.push_str(&format!(" and {} more", list.len() - 20));
                }
            }
            Err(e) => s.push_str(&format!("; export list unavailable ({e})")),
        }
        s
    }

    /// After a failed mount(2) (or `-f`), withdraw our MNT so the server's rmtab
    /// does not keep a mount that does not exist.
    fn release_mnt(&mut self, mnt: Option<(Pmap, SocketAddr)>) {
        let Some((mnt, maddr)) = mnt else { return };
        if self.found.mnt_info.take().is_none() {
            return;
        }
        let ep = mnt.endpoint(maddr).privileged(true);
        let path = self.ctx.export_path.clone();
        let _ = calls::umnt(
            &mut self.io.client,
            &ep,
            &Cred::sys_for_process(),
            &path,
            &CallOpts::umnt(),
        );
    }

    /// Record an RPC failure for the diagnosis line.
    pub(super) fn note_rpc_failure(
        &mut self,
        step: &str,
        server: SocketAddr,
        prot: u32,
        e: &RpcError,
    ) {
        self.found.last_step = Some(format!(
            "{step} to {} over {} failed: {}",
            sys::resolve::numeric_host(&server),
            prot_name(prot),
            e.reason()
        ));
    }
}
