//! `nfsmount doctor`'s thin probing layer: reads /proc, /lib/modules, /boot and
//! asks the server, every wait bounded (RPC: 3 s per call; DNS: 5 s).

use super::findings::{LocalFacts, Module, Probe, ProxyFact, ServerFacts};
use crate::client::{calls, CallOpts, Client, Endpoint, Transport};
use crate::proto::prog;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

const RPC_WAIT: Duration = Duration::from_secs(3);
const DNS_WAIT: Duration = Duration::from_secs(5);

fn opts(t: Transport) -> CallOpts {
    CallOpts::probe(t.is_tcp())
        .with_timeout(RPC_WAIT)
        .with_connect_timeout(RPC_WAIT)
}

fn ms(t0: Instant) -> f64 {
    (t0.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

fn read(p: &str) -> Option<String> {
    use std::io::Read;
    let f = std::fs::File::open(p).ok()?;
    let mut s = String::new();
    // bounded: a few MB at most
    f.take(8 << 20).read_to_string(&mut s).ok()?;
    Some(s)
}

fn module(release: &str, name: &str, loaded: &str) -> Module {
    if loaded
        .lines()
        .any(|l| l.split_whitespace().next() == Some(name))
    {
        return Module::Loaded;
    }
    let base = format!("/lib/modules/{release}");
    if !Path::new(&base).is_dir() {
        return Module::Unknown;
    }
    let is = |l: &str| {
        let file = l
            .split(':')
            .next()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or("");
        let stem = file.split(".ko").next().unwrap_or("");
        stem == name || stem.replace('-', "_") == name
    };
    if read(&format!("{base}/modules.builtin")).is_some_and(|t| t.lines().any(is)) {
        return Module::Builtin;
    }
    if read(&format!("{base}/modules.dep")).is_some_and(|t| t.lines().any(is)) {
        return Module::Available;
    }
    Module::Missing
}

fn running(names: &[&str]) -> Vec<bool> {
    let mut found = vec![false; names.len()];
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten().take(100_000) {
            let n = e.file_name();
            let n = n.to_string_lossy();
            if !n.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some(comm) = read(&format!("/proc/{n}/comm")) {
                let c = comm.trim();
                for (i, want) in names.iter().enumerate() {
                    if c == *want {
                        found[i] = true;
                    }
                }
            }
        }
    }
    found
}

fn statd(c: &mut Client) -> Probe {
    let t0 = Instant::now();
    let lo = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), 0);
    let target = calls::Target::new(prog::STATUS, 1, Transport::Udp);
    let port = calls::getport(c, lo, target, &opts(Transport::Udp))
        .map_err(|e| (e.to_string(), ms(t0)))?;
    let ep = Endpoint::new(
        SocketAddr::new(lo.ip(), port),
        prog::STATUS,
        1,
        Transport::Udp,
    );
    calls::null(c, &ep, &opts(Transport::Udp)).map_err(|e| (e.to_string(), ms(t0)))?;
    Ok(ms(t0))
}

fn proxy() -> ProxyFact {
    let path = crate::client::proxy_backend::socket_path();
    if !path.exists() {
        return ProxyFact::NoSocket;
    }
    match crate::proxy::query_stats(&path, Duration::from_secs(2)) {
        Ok(st) => ProxyFact::Running {
            clients: st.clients,
            upstreams: st.upstreams,
            calls: st.total.calls,
            reused: st.total.conns_reused,
            conns_opened: st.total.conns_opened,
        },
        Err(e) => ProxyFact::NotAnswering(e.to_string()),
    }
}

pub fn local() -> LocalFacts {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let fs = read("/proc/filesystems").unwrap_or_default();
    let has_fs = |n: &str| fs.lines().any(|l| l.split_whitespace().last() == Some(n));
    let loaded = read("/proc/modules").unwrap_or_default();
    let udp_disabled = read(&format!("/boot/config-{release}")).map(|t| {
        t.lines()
            .any(|l| l.trim() == "CONFIG_NFS_DISABLE_UDP_SUPPORT=y")
    });
    let mut c = Client::new();
    let daemons = running(&["rpc.gssd", "tlshd"]);
    let mut tw = 0;
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Some(t) = read(f) {
            tw += crate::sys::portpool::parse_time_wait(&t).len();
        }
    }
    LocalFacts {
        kernel_release: release.clone(),
        fs_nfs: has_fs("nfs"),
        fs_nfs4: has_fs("nfs4"),
        mod_nfs: module(&release, "nfs", &loaded),
        mod_nfsv4: module(&release, "nfsv4", &loaded),
        mod_sunrpc: module(&release, "sunrpc", &loaded),
        udp_disabled,
        statd: statd(&mut c),
        start_statd_present: crate::sys::process::is_executable_file(Path::new(
            "/usr/sbin/start-statd",
        )),
        gssd_running: daemons[0],
        krb5_keytab: Path::new("/etc/krb5.keytab").exists(),
        tlshd_running: daemons[1],
        rpcproxyd: proxy(),
        time_wait_reserved: tw,
    }
}

/// Resolution in a helper thread, waited for at most [`DNS_WAIT`].
fn resolve(host: &str) -> Result<(Vec<IpAddr>, f64, bool), String> {
    if let Some(ip) = crate::sys::resolve::parse_numeric(host) {
        return Ok((vec![ip], 0.0, true));
    }
    let t0 = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = host.to_string();
    std::thread::spawn(move || {
        let r = crate::sys::resolve::resolve(&h, crate::sys::resolve::FamilyFilter::Any);
        let _ = tx.send(r);
    });
    match rx.recv_timeout(DNS_WAIT) {
        Ok(Ok(v)) => Ok((v.iter().map(|a| a.ip()).collect(), ms(t0), false)),
        Ok(Err(e)) => Err(format!("{e:?}")),
        Err(_) => Err(format!("no answer within {} s", DNS_WAIT.as_secs())),
    }
}

fn null_probe(c: &mut Client, ep: Endpoint) -> Probe {
    let t0 = Instant::now();
    calls::null(c, &ep, &opts(ep.transport))
        .map(|_| ms(t0))
        .map_err(|e| (e.to_string(), ms(t0)))
}

fn registered_probe(c: &mut Client, addr: IpAddr, p: u32, v: u32, t: Transport) -> Probe {
    let t0 = Instant::now();
    let port = calls::getport(
        c,
        SocketAddr::new(addr, crate::proto::RPCBIND_PORT),
        calls::Target::new(p, v, t),
        &opts(t),
    )
    .map_err(|e| (e.to_string(), ms(t0)))?;
    let ep = Endpoint::new(SocketAddr::new(addr, port), p, v, t);
    calls::null(c, &ep, &opts(t)).map_err(|e| (e.to_string(), ms(t0)))?;
    Ok(ms(t0))
}

/// `SERVER[:/PATH]` → (server, path).
pub fn split_target(t: &str) -> (String, Option<String>) {
    if crate::sys::resolve::parse_numeric(t).is_some() {
        return (t.to_string(), None);
    }
    if t.contains(':') {
        if let Ok((s, _)) = crate::spec::parse_spec(t) {
            return (s.host, Some(s.path).filter(|p| !p.is_empty()));
        }
    }
    (
        t.trim_start_matches('[').trim_end_matches(']').to_string(),
        None,
    )
}

pub fn server(target: &str) -> ServerFacts {
    let (name, path) = split_target(target);
    let mut s = ServerFacts {
        name: name.clone(),
        path,
        dns: resolve(&name),
        ..ServerFacts::default()
    };
    let Ok((addrs, _, _)) = &s.dns else {
        return s;
    };
    let Some(addr) = addrs.first().copied() else {
        s.dns = Err("no address".into());
        return s;
    };
    s.addr = Some(addr);
    let sa = SocketAddr::new(addr, 0);
    s.client_addr = Some(crate::sys::local::callback_address(&sa));
    if let Ok(h) = nix::unistd::gethostname() {
        s.client_names.push(h.to_string_lossy().into_owned());
    }
    let mut c = Client::new();
    let rb = |t| {
        Endpoint::new(
            SocketAddr::new(addr, crate::proto::RPCBIND_PORT),
            prog::PORTMAP,
            if addr.is_ipv4() { 2 } else { 4 },
            t,
        )
    };
    s.rpcbind_tcp = Some(null_probe(&mut c, rb(Transport::Tcp)));
    s.rpcbind_udp = Some(null_probe(&mut c, rb(Transport::Udp)));
    let rpcbind_up = matches!(s.rpcbind_tcp, Some(Ok(_))) || matches!(s.rpcbind_udp, Some(Ok(_)));
    let unreachable = |what: &str| {
        Some(Err((
            format!("not asked: rpcbind did not answer ({what})"),
            0.0,
        )))
    };
    if rpcbind_up {
        s.mountd_udp = Some(registered_probe(
            &mut c,
            addr,
            prog::MOUNT,
            3,
            Transport::Udp,
        ));
        s.mountd_tcp = Some(registered_probe(
            &mut c,
            addr,
            prog::MOUNT,
            3,
            Transport::Tcp,
        ));
        s.nfs3_tcp = Some(registered_probe(&mut c, addr, prog::NFS, 3, Transport::Tcp));
        s.nfs3_udp = Some(registered_probe(&mut c, addr, prog::NFS, 3, Transport::Udp));
    } else {
        s.mountd_udp = unreachable("mountd");
        s.mountd_tcp = unreachable("mountd");
        s.nfs3_tcp = unreachable("NFSv3");
    }
    s.nfs4_tcp = Some(null_probe(
        &mut c,
        Endpoint::new(SocketAddr::new(addr, 2049), prog::NFS, 4, Transport::Tcp),
    ));
    s.exports = if rpcbind_up {
        let t = if matches!(s.mountd_udp, Some(Ok(_))) {
            Transport::Udp
        } else {
            Transport::Tcp
        };
        Some(
            calls::getport(
                &mut c,
                SocketAddr::new(addr, crate::proto::RPCBIND_PORT),
                calls::Target::new(prog::MOUNT, 3, t),
                &opts(t),
            )
            .and_then(|port| {
                calls::export(
                    &mut c,
                    &Endpoint::new(SocketAddr::new(addr, port), prog::MOUNT, 3, t),
                    &opts(t),
                )
            })
            .map(|l| l.into_iter().map(|e| (e.dir, e.groups)).collect())
            .map_err(|e| e.to_string()),
        )
    } else {
        Some(Err("rpcbind did not answer".into()))
    };
    s
}
