//! `nfsmount doctor`'s judgement (sans-IO): facts in, findings out.
//! Every finding is ok / warning / error with one line of advice; the probing
//! that gathers the facts is in [`super::probe`].
#![forbid(unsafe_code)]

use std::net::IpAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Stable identifier (`kernel.nfs`, `server.mountd.udp`, ...).
    pub id: String,
    pub level: Level,
    /// What was found.
    pub message: String,
    /// One line: what to do (empty when nothing needs doing).
    pub advice: String,
    /// How long the check's network wait took.
    pub millis: Option<f64>,
}

/// A kernel module: built in, loaded, on disk, or nowhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Module {
    Builtin,
    Loaded,
    Available,
    #[default]
    Missing,
    /// /lib/modules for this kernel could not be read.
    Unknown,
}

/// An export: directory and client groups.
pub type Export = (String, Vec<String>);

/// A network check: `Ok(millis)` or `Err((text, millis))`.
pub type Probe = Result<f64, (String, f64)>;

#[derive(Clone, Debug)]
pub struct LocalFacts {
    pub kernel_release: String,
    /// /proc/filesystems lists `nfs` / `nfs4`.
    pub fs_nfs: bool,
    pub fs_nfs4: bool,
    pub mod_nfs: Module,
    pub mod_nfsv4: Module,
    pub mod_sunrpc: Module,
    /// `CONFIG_NFS_DISABLE_UDP_SUPPORT` from the kernel config, if readable.
    pub udp_disabled: Option<bool>,
    /// Local rpc.statd registered with rpcbind and answering NULL.
    pub statd: Probe,
    pub start_statd_present: bool,
    pub gssd_running: bool,
    pub krb5_keytab: bool,
    pub tlshd_running: bool,
    pub rpcproxyd: ProxyFact,
    pub time_wait_reserved: usize,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub enum ProxyFact {
    #[default]
    NoSocket,
    /// Socket there, no answer (text of the error).
    NotAnswering(String),
    Running {
        clients: u32,
        upstreams: u32,
        calls: u64,
        reused: u64,
        conns_opened: u64,
    },
}

#[derive(Clone, Debug)]
pub struct ServerFacts {
    pub name: String,
    pub path: Option<String>,
    /// `Ok((addresses, millis, numeric))`.
    pub dns: Result<(Vec<IpAddr>, f64, bool), String>,
    /// The address probed.
    pub addr: Option<IpAddr>,
    pub rpcbind_tcp: Option<Probe>,
    pub rpcbind_udp: Option<Probe>,
    pub mountd_udp: Option<Probe>,
    pub mountd_tcp: Option<Probe>,
    pub nfs3_tcp: Option<Probe>,
    pub nfs3_udp: Option<Probe>,
    pub nfs4_tcp: Option<Probe>,
    /// MOUNT EXPORT: (dir, groups).
    pub exports: Option<Result<Vec<Export>, String>>,
    /// This client's address towards the server.
    pub client_addr: Option<IpAddr>,
    pub client_names: Vec<String>,
}

impl Default for LocalFacts {
    fn default() -> Self {
        LocalFacts {
            kernel_release: String::new(),
            fs_nfs: false,
            fs_nfs4: false,
            mod_nfs: Module::Unknown,
            mod_nfsv4: Module::Unknown,
            mod_sunrpc: Module::Unknown,
            udp_disabled: None,
            statd: Err(("not checked".into(), 0.0)),
            start_statd_present: false,
            gssd_running: false,
            krb5_keytab: false,
            tlshd_running: false,
            rpcproxyd: ProxyFact::NoSocket,
            time_wait_reserved: 0,
        }
    }
}

impl Default for ServerFacts {
    fn default() -> Self {
        ServerFacts {
            name: String::new(),
            path: None,
            dns: Err("not resolved".into()),
            addr: None,
            rpcbind_tcp: None,
            rpcbind_udp: None,
            mountd_udp: None,
            mountd_tcp: None,
            nfs3_tcp: None,
            nfs3_udp: None,
            nfs4_tcp: None,
            exports: None,
            client_addr: None,
            client_names: Vec::new(),
        }
    }
}

fn f(id: &str, level: Level, message: String, advice: &str) -> Finding {
    Finding {
        id: id.into(),
        level,
        message,
        advice: advice.into(),
        millis: None,
    }
}

fn module_text(m: Module) -> &'static str {
    match m {
        Module::Builtin => "built into the kernel",
        Module::Loaded => "loaded",
        Module::Available => "available as a module (loads on first mount)",
        Module::Missing => "not found",
        Module::Unknown => "unknown (no /lib/modules for this kernel)",
    }
}

fn usable(m: Module) -> bool {
    matches!(m, Module::Builtin | Module::Loaded | Module::Available)
}

pub fn local(l: &LocalFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    let rel = &l.kernel_release;
    if l.fs_nfs || usable(l.mod_nfs) {
        out.push(f(
            "kernel.nfs",
            Level::Ok,
            format!(
                "kernel {rel}: NFS client {}",
                if l.fs_nfs {
                    "registered (/proc/filesystems)"
                } else {
                    module_text(l.mod_nfs)
                }
            ),
            "",
        ));
    } else {
        out.push(f(
            "kernel.nfs",
            Level::Error,
            format!(
                "kernel {rel}: no NFS client (not in /proc/filesystems; module nfs {})",
                module_text(l.mod_nfs)
            ),
            "boot a kernel with CONFIG_NFS_FS (or install its modules package); every mount fails with 'No such device'",
        ));
    }
    if l.fs_nfs4 || usable(l.mod_nfsv4) {
        out.push(f(
            "kernel.nfsv4",
            Level::Ok,
            format!(
                "NFSv4 client {}",
                if l.fs_nfs4 {
                    "registered"
                } else {
                    module_text(l.mod_nfsv4)
                }
            ),
            "",
        ));
    } else {
        out.push(f(
            "kernel.nfsv4",
            Level::Warning,
            format!("NFSv4 client module nfsv4 {}", module_text(l.mod_nfsv4)),
            "NFSv4 mounts will fail; install the kernel's modules or mount with -o vers=3",
        ));
    }
    if usable(l.mod_sunrpc) || l.fs_nfs {
        out.push(f(
            "kernel.sunrpc",
            Level::Ok,
            format!("sunrpc {}", module_text(l.mod_sunrpc)),
            "",
        ));
    } else {
        out.push(f(
            "kernel.sunrpc",
            Level::Error,
            format!("sunrpc {}", module_text(l.mod_sunrpc)),
            "the kernel RPC layer is missing: no NFS mount can work on this kernel",
        ));
    }
    out.push(match l.udp_disabled {
        Some(true) => f(
            "kernel.udp",
            Level::Warning,
            "the kernel has no NFS over UDP (CONFIG_NFS_DISABLE_UDP_SUPPORT=y)".into(),
            "proto=udp mounts fail with 'Protocol not supported'; use proto=tcp",
        ),
        Some(false) => f("kernel.udp", Level::Ok, "NFS over UDP supported".into(), ""),
        None => f(
            "kernel.udp",
            Level::Ok,
            "NFS over UDP: unknown (no kernel config to read); TCP is the default".into(),
            "",
        ),
    });
    let mut statd = match &l.statd {
        Ok(ms) => {
            let mut x = f(
                "statd",
                Level::Ok,
                "rpc.statd answers on this host".into(),
                "",
            );
            x.millis = Some(*ms);
            x
        }
        Err((e, ms)) => {
            let mut x = f(
                "statd",
                Level::Warning,
                format!("rpc.statd does not answer ({e})"),
                if l.start_statd_present {
                    "NFSv3 mounts with locking start it through start-statd (a delay); or enable rpc-statd.service, or use -o nolock"
                } else {
                    "NFSv3 mounts with locking fail: start rpc.statd (rpc-statd.service) or mount with -o nolock"
                },
            );
            x.millis = Some(*ms);
            x
        }
    };
    statd.message = statd.message.replace("  ", " ");
    out.push(statd);
    out.push(if l.gssd_running {
        f(
            "gssd",
            Level::Ok,
            "rpc.gssd is running (sec=krb5* possible)".into(),
            "",
        )
    } else if l.krb5_keytab {
        f(
            "gssd",
            Level::Warning,
            "rpc.gssd is not running but /etc/krb5.keytab exists".into(),
            "sec=krb5, krb5i and krb5p mounts hang or fail without it: start rpc-gssd.service",
        )
    } else {
        f(
            "gssd",
            Level::Ok,
            "rpc.gssd is not running (only sec=krb5* mounts need it)".into(),
            "",
        )
    });
    out.push(if l.tlshd_running {
        f(
            "tlshd",
            Level::Ok,
            "tlshd is running (xprtsec=tls/mtls possible)".into(),
            "",
        )
    } else {
        f(
            "tlshd",
            Level::Ok,
            "tlshd is not running (only xprtsec=tls/mtls mounts need it)".into(),
            "",
        )
    });
    out.push(match &l.rpcproxyd {
        ProxyFact::NoSocket => f(
            "rpcproxyd",
            Level::Ok,
            "rpcproxyd is not running; each helper uses its own connections".into(),
            "for mount storms: systemctl enable --now rpcproxyd.socket",
        ),
        ProxyFact::NotAnswering(e) => f(
            "rpcproxyd",
            Level::Warning,
            format!("rpcproxyd's socket exists but it does not answer ({e})"),
            "helpers fall back after about a second each: systemctl restart rpcproxyd",
        ),
        ProxyFact::Running {
            clients,
            upstreams,
            calls,
            reused,
            conns_opened,
        } => f(
            "rpcproxyd",
            Level::Ok,
            format!(
                "rpcproxyd is running: {clients} client(s), {upstreams} upstream connection(s), {calls} call(s), {reused} over reused connections, {conns_opened} connection(s) opened"
            ),
            "",
        ),
    });
    let n = l.time_wait_reserved;
    out.push(if n >= 300 {
        f(
            "ports.time_wait",
            Level::Error,
            format!("{n} reserved ports (<1024) in TIME_WAIT"),
            "new NFSv3 mounts may fail to bind a reserved port: run rpcproxyd and use stormsafe, or wait 60 s",
        )
    } else if n >= 100 {
        f(
            "ports.time_wait",
            Level::Warning,
            format!("{n} reserved ports (<1024) in TIME_WAIT"),
            "a mount storm is using up the reserved range: run rpcproxyd (shares connections)",
        )
    } else {
        f(
            "ports.time_wait",
            Level::Ok,
            format!("{n} reserved port(s) in TIME_WAIT"),
            "",
        )
    });
    out
}

fn probe_finding(
    id: &str,
    what: &str,
    p: &Option<Probe>,
    fail: Level,
    advice: &str,
) -> Option<Finding> {
    let p = p.as_ref()?;
    Some(match p {
        Ok(ms) => Finding {
            id: id.into(),
            level: Level::Ok,
            message: format!("{what} answers ({ms:.1} ms)"),
            advice: String::new(),
            millis: Some(*ms),
        },
        Err((e, ms)) => Finding {
            id: id.into(),
            level: fail,
            message: format!("{what}: {e} (after {ms:.1} ms)"),
            advice: advice.into(),
            millis: Some(*ms),
        },
    })
}

fn ok(p: &Option<Probe>) -> bool {
    matches!(p, Some(Ok(_)))
}

/// Does an export's client list admit this client? `None` when it cannot be told
/// from here (netgroups, host names).
pub fn admits(groups: &[String], addr: Option<IpAddr>, names: &[String]) -> Option<bool> {
    if groups.is_empty() {
        return Some(true);
    }
    let mut unknown = false;
    for g in groups {
        let g = g.trim();
        if g == "*" || g == "(everyone)" || g == "everyone" {
            return Some(true);
        }
        if let Some(a) = addr {
            if let Ok(ip) = g.parse::<IpAddr>() {
                if ip == a {
                    return Some(true);
                }
                continue;
            }
            if let Some((net, bits)) = g.split_once('/') {
                if let (Ok(n), Ok(b)) = (net.parse::<IpAddr>(), bits.parse::<u32>()) {
                    if in_net(a, n, b) {
                        return Some(true);
                    }
                    continue;
                }
            }
        }
        if g.starts_with('@') {
            unknown = true;
            continue;
        }
        if names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(g) || wildcard(g, n))
        {
            return Some(true);
        }
        unknown = true;
    }
    if unknown {
        None
    } else {
        Some(false)
    }
}

fn wildcard(pat: &str, name: &str) -> bool {
    match pat.strip_prefix('*') {
        Some(suffix) if pat.len() > 1 => name
            .to_ascii_lowercase()
            .ends_with(&suffix.to_ascii_lowercase()),
        _ => false,
    }
}

fn in_net(a: IpAddr, n: IpAddr, bits: u32) -> bool {
    match (a, n) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let m = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & m == u32::from(n) & m
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let m = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & m == u128::from(n) & m
        }
        _ => false,
    }
}

/// The export that serves `path`: exactly, or the longest exported parent.
fn export_for<'a>(
    exports: &'a [(String, Vec<String>)],
    path: &str,
) -> Option<&'a (String, Vec<String>)> {
    let p = path.trim_end_matches('/');
    let p = if p.is_empty() { "/" } else { p };
    exports
        .iter()
        .filter(|(d, _)| {
            let d = d.trim_end_matches('/');
            d.is_empty() || p == d || p.starts_with(&format!("{d}/"))
        })
        .max_by_key(|(d, _)| d.len())
}

pub fn server(s: &ServerFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    match &s.dns {
        Ok((addrs, ms, numeric)) => {
            let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
            let mut x = f(
                "server.dns",
                Level::Ok,
                if *numeric {
                    format!("{} is a numeric address", s.name)
                } else {
                    format!("{} resolves to {} ({ms:.1} ms)", s.name, list.join(", "))
                },
                "",
            );
            x.millis = Some(*ms);
            out.push(x);
        }
        Err(e) => {
            out.push(f(
                "server.dns",
                Level::Error,
                format!("{} does not resolve: {e}", s.name),
                "fix the name (or /etc/hosts, DNS); mount.nfs reports 'Failed to resolve server'",
            ));
            return out;
        }
    }
    let v4_ok = ok(&s.nfs4_tcp);
    let rpcbind_any = ok(&s.rpcbind_tcp) || ok(&s.rpcbind_udp);
    let rb_level = if v4_ok { Level::Warning } else { Level::Error };
    out.extend(probe_finding(
        "server.rpcbind.tcp",
        "rpcbind (port 111/tcp)",
        &s.rpcbind_tcp,
        if rpcbind_any {
            Level::Warning
        } else {
            rb_level
        },
        "NFSv3 mounts ask rpcbind for ports: check the server's rpcbind and firewalls for 111/tcp",
    ));
    out.extend(probe_finding(
        "server.rpcbind.udp",
        "rpcbind (port 111/udp)",
        &s.rpcbind_udp,
        if rpcbind_any { Level::Warning } else { rb_level },
        "check the server's rpcbind and firewalls for 111/udp (NFSv3 over UDP and the MOUNT call use it)",
    ));
    let mountd_any = ok(&s.mountd_udp) || ok(&s.mountd_tcp);
    let md_level = if mountd_any {
        Level::Warning
    } else {
        Level::Error
    };
    out.extend(probe_finding(
        "server.mountd.udp",
        "mountd v3 over UDP",
        &s.mountd_udp,
        md_level,
        if mountd_any {
            "mountd answers on TCP only: mounts work, a little slower (mount.nfs tries UDP first)"
        } else {
            "NFSv3 mounts fail: start mountd on the server (rpc.mountd / nfs-server.service) and open its port"
        },
    ));
    out.extend(probe_finding(
        "server.mountd.tcp",
        "mountd v3 over TCP",
        &s.mountd_tcp,
        md_level,
        if mountd_any {
            "mountd answers on UDP only: mountproto=tcp mounts fail"
        } else {
            "NFSv3 mounts fail: start mountd on the server (rpc.mountd / nfs-server.service) and open its port"
        },
    ));
    out.extend(probe_finding(
        "server.nfs4.tcp",
        "NFSv4 (port 2049/tcp)",
        &s.nfs4_tcp,
        if ok(&s.nfs3_tcp) {
            Level::Warning
        } else {
            Level::Error
        },
        "NFSv4 mounts fail: enable NFSv4 on the server or mount with -o vers=3",
    ));
    out.extend(probe_finding(
        "server.nfs3.tcp",
        "NFSv3 over TCP",
        &s.nfs3_tcp,
        if v4_ok { Level::Warning } else { Level::Error },
        "vers=3 mounts fail: enable NFSv3 on the server (and register it with rpcbind)",
    ));
    out.extend(probe_finding(
        "server.nfs3.udp",
        "NFSv3 over UDP",
        &s.nfs3_udp,
        Level::Ok,
        "",
    ));
    match &s.exports {
        None => {}
        Some(Err(e)) => out.push(f(
            "server.exports",
            if mountd_any {
                Level::Warning
            } else {
                Level::Error
            },
            format!("no export list: {e}"),
            "the export list comes from mountd (MOUNT EXPORT); NFSv4-only servers may not offer it",
        )),
        Some(Ok(list)) => {
            let text: Vec<String> = list
                .iter()
                .map(|(d, g)| {
                    if g.is_empty() {
                        format!("{d} (everyone)")
                    } else {
                        format!("{d} ({})", g.join(","))
                    }
                })
                .collect();
            out.push(f(
                "server.exports",
                Level::Ok,
                format!("{} export(s): {}", list.len(), text.join("; ")),
                "",
            ));
            if let Some(path) = &s.path {
                match export_for(list, path) {
                    None => out.push(f(
                        "server.export",
                        Level::Error,
                        format!("{path} is not exported by {}", s.name),
                        "mount.nfs fails with 'access denied by server': pick a path from the export list or export it",
                    )),
                    Some((dir, groups)) => {
                        let who = s
                            .client_addr
                            .map(|a| a.to_string())
                            .unwrap_or_else(|| "this client".into());
                        match admits(groups, s.client_addr, &s.client_names) {
                            Some(true) => out.push(f(
                                "server.export",
                                Level::Ok,
                                format!("{path} is exported (as {dir}) to {who}"),
                                "",
                            )),
                            Some(false) => out.push(f(
                                "server.export",
                                Level::Error,
                                format!("{path} is exported (as {dir}) to {}, not to {who}", groups.join(",")),
                                "ask the server's administrator to add this client to the export",
                            )),
                            None => out.push(f(
                                "server.export",
                                Level::Warning,
                                format!(
                                    "{path} is exported (as {dir}) to {}; whether that includes {who} cannot be told from here",
                                    groups.join(",")
                                ),
                                "host names and netgroups are matched by the server; try the mount",
                            )),
                        }
                    }
                }
            }
        }
    }
    out
}

/// Exit status: 0 when nothing is an error, else 1.
pub fn exit_status(all: &[Finding]) -> i32 {
    use crate::error::ToolExit;
    if all.iter().any(|x| x.level == Level::Error) {
        ToolExit::DoctorFoundErrors.code()
    } else {
        ToolExit::Ok.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy_local() -> LocalFacts {
        LocalFacts {
            kernel_release: "6.1.0".into(),
            fs_nfs: true,
            fs_nfs4: true,
            mod_nfs: Module::Loaded,
            mod_nfsv4: Module::Loaded,
            mod_sunrpc: Module::Loaded,
            udp_disabled: Some(false),
            statd: Ok(0.3),
            ..LocalFacts::default()
        }
    }

    fn by_id<'a>(v: &'a [Finding], id: &str) -> &'a Finding {
        v.iter()
            .find(|x| x.id == id)
            .unwrap_or_else(|| panic!("no {id} in {v:#?}"))
    }

    #[test]
    fn healthy_machine_has_no_errors_or_warnings() {
        let v = local(&healthy_local());
        assert!(v.iter().all(|x| x.level == Level::Ok), "{v:#?}");
        assert_eq!(exit_status(&v), 0);
    }

    #[test]
    fn no_nfs_in_the_kernel_is_an_error() {
        let mut l = healthy_local();
        l.fs_nfs = false;
        l.fs_nfs4 = false;
        l.mod_nfs = Module::Unknown;
        l.mod_nfsv4 = Module::Missing;
        l.mod_sunrpc = Module::Missing;
        let v = local(&l);
        assert_eq!(by_id(&v, "kernel.nfs").level, Level::Error);
        assert_eq!(by_id(&v, "kernel.nfsv4").level, Level::Warning);
        assert_eq!(by_id(&v, "kernel.sunrpc").level, Level::Error);
        assert_eq!(exit_status(&v), 1);
        // a module on disk is enough
        l.mod_nfs = Module::Available;
        assert_eq!(by_id(&local(&l), "kernel.nfs").level, Level::Ok);
    }

    #[test]
    fn local_daemons_and_ports() {
        let mut l = healthy_local();
        l.statd = Err(("RPC: Program not registered".into(), 1.0));
        l.krb5_keytab = true;
        l.udp_disabled = Some(true);
        l.time_wait_reserved = 150;
        l.rpcproxyd = ProxyFact::NotAnswering("timed out".into());
        let v = local(&l);
        assert_eq!(by_id(&v, "statd").level, Level::Warning);
        assert!(by_id(&v, "statd").advice.contains("nolock"));
        assert_eq!(by_id(&v, "gssd").level, Level::Warning);
        assert_eq!(by_id(&v, "kernel.udp").level, Level::Warning);
        assert_eq!(by_id(&v, "ports.time_wait").level, Level::Warning);
        assert_eq!(by_id(&v, "rpcproxyd").level, Level::Warning);
        l.time_wait_reserved = 300;
        assert_eq!(by_id(&local(&l), "ports.time_wait").level, Level::Error);
        assert!(v
            .iter()
            .all(|x| x.level == Level::Ok || !x.advice.is_empty()));
    }

    fn healthy_server() -> ServerFacts {
        ServerFacts {
            name: "10.0.0.1".into(),
            path: Some("/srv/export/sub".into()),
            dns: Ok((vec!["10.0.0.1".parse().unwrap()], 0.0, true)),
            addr: Some("10.0.0.1".parse().unwrap()),
            rpcbind_tcp: Some(Ok(1.0)),
            rpcbind_udp: Some(Ok(1.0)),
            mountd_udp: Some(Ok(1.0)),
            mountd_tcp: Some(Ok(1.0)),
            nfs3_tcp: Some(Ok(1.0)),
            nfs3_udp: Some(Ok(1.0)),
            nfs4_tcp: Some(Ok(1.0)),
            exports: Some(Ok(vec![
                ("/srv".into(), vec!["192.168.0.0/16".into()]),
                ("/srv/export".into(), vec!["10.0.0.0/24".into()]),
            ])),
            client_addr: Some("10.0.0.2".parse().unwrap()),
            client_names: vec![],
        }
    }

    #[test]
    fn healthy_server_is_all_ok() {
        let v = server(&healthy_server());
        assert!(v.iter().all(|x| x.level == Level::Ok), "{v:#?}");
        assert!(by_id(&v, "server.export")
            .message
            .contains("as /srv/export"));
    }

    #[test]
    fn mountd_down_is_an_error_and_names_what_fails() {
        let mut s = healthy_server();
        s.mountd_udp = Some(Err(("RPC: Program not registered".into(), 1.0)));
        s.mountd_tcp = Some(Err(("RPC: Program not registered".into(), 1.0)));
        s.exports = Some(Err("RPC: Program not registered".into()));
        let v = server(&s);
        assert_eq!(by_id(&v, "server.mountd.udp").level, Level::Error);
        assert!(by_id(&v, "server.mountd.udp").advice.contains("mountd"));
        assert_eq!(by_id(&v, "server.exports").level, Level::Error);
        assert_eq!(exit_status(&v), 1);
        // only UDP down: a warning
        let mut s = healthy_server();
        s.mountd_udp = Some(Err(("RPC: Timed out".into(), 3000.0)));
        assert_eq!(
            by_id(&server(&s), "server.mountd.udp").level,
            Level::Warning
        );
    }

    #[test]
    fn exports_and_client_membership() {
        let mut s = healthy_server();
        s.path = Some("/elsewhere".into());
        assert_eq!(by_id(&server(&s), "server.export").level, Level::Error);
        s.path = Some("/srv/export".into());
        s.client_addr = Some("172.16.0.1".parse().unwrap());
        assert_eq!(by_id(&server(&s), "server.export").level, Level::Error);
        assert_eq!(admits(&["@trusted".into()], s.client_addr, &[]), None);
        assert_eq!(
            admits(&["*.example.org".into()], None, &["a.example.org".into()]),
            Some(true)
        );
        assert_eq!(admits(&[], None, &[]), Some(true));
        assert_eq!(admits(&["*".into()], None, &[]), Some(true));
        assert_eq!(
            admits(&["fd00::/8".into()], Some("fd00::5".parse().unwrap()), &[]),
            Some(true)
        );
        assert_eq!(
            admits(
                &["10.1.0.0/16".into()],
                Some("10.2.0.1".parse().unwrap()),
                &[]
            ),
            Some(false)
        );
    }

    #[test]
    fn unresolvable_server_stops_there() {
        let s = ServerFacts {
            name: "nowhere".into(),
            dns: Err("Name or service not known".into()),
            ..ServerFacts::default()
        };
        let v = server(&s);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].level, Level::Error);
    }

    #[test]
    fn v4_only_server_makes_missing_v3_a_warning() {
        let mut s = healthy_server();
        s.rpcbind_tcp = Some(Err(("refused".into(), 0.1)));
        s.rpcbind_udp = Some(Err(("refused".into(), 0.1)));
        s.nfs3_tcp = Some(Err(("refused".into(), 0.1)));
        let v = server(&s);
        assert_eq!(by_id(&v, "server.rpcbind.tcp").level, Level::Warning);
        assert_eq!(by_id(&v, "server.nfs3.tcp").level, Level::Warning);
        assert_eq!(by_id(&v, "server.nfs4.tcp").level, Level::Ok);
    }
}
