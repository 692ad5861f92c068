//! Mount-storm benchmark: N "mounts" (GETPORT to rpcbind, NULL and MNT to mountd,
//! all over TCP, MNT from a reserved port with AUTH_SYS as mount.nfs does) through
//! rpcproxyd versus the in-process pool alone. Each mount uses a fresh `Client`,
//! like a fresh helper process, and drops it at the end.
//!
//! Run inside the test bed's namespace (it starts its own rpcproxyd):
//! ```text
//! eval "$(scripts/testbed up --name proxydev)"
//! cargo build --release --bins --examples
//! ip netns exec $TESTBED_NS target/release/examples/bench_proxy --mounts 200 --threads 8
//! ```
//! Options: `--mounts N` (default 200), `--threads T` (8), `--mode proxy|pool|both`
//! (both), `--server ADDR` (TESTBED_ADDR4 or 127.0.0.1), `--export PATH`
//! (TESTBED_EXPORT), `--rpcproxyd PATH` (next to this example's directory),
//! `--warmup N` (10), `--procs` (each mount in its own short-lived process).
use nfsmount::client::calls::{self, Target};
use nfsmount::client::{CallOpts, Client, Cred, Endpoint, Pool, ProxyBackend, Transport};
use nfsmount::proto::mount::MntRes3;
use nfsmount::proto::prog;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    mounts: usize,
    threads: usize,
    mode: String,
    server: IpAddr,
    export: String,
    rpcproxyd: PathBuf,
    warmup: usize,
    /// Each mount in its own short-lived process (like real helpers).
    procs: bool,
    /// Internal: run one mount and print "OK|FAIL <pool connections>".
    child: bool,
    socket: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        mounts: 200,
        threads: 8,
        mode: "both".into(),
        server: std::env::var("TESTBED_ADDR4")
            .unwrap_or_else(|_| "127.0.0.1".into())
            .parse()
            .expect("server address"),
        export: std::env::var("TESTBED_EXPORT").unwrap_or_default(),
        rpcproxyd: std::env::current_exe()
            .unwrap()
            .parent()
            .unwrap()
            .parent()
            .unwrap()
            .join("rpcproxyd"),
        warmup: 10,
        procs: false,
        child: false,
        socket: None,
    };
    let mut v: Vec<String> = std::env::args().skip(1).collect();
    v.retain(|x| match x.as_str() {
        "--procs" => {
            a.procs = true;
            false
        }
        "--child-mount" => {
            a.child = true;
            false
        }
        _ => true,
    });
    let mut i = 0;
    while i + 1 < v.len() {
        let val = v[i + 1].clone();
        match v[i].as_str() {
            "--mounts" => a.mounts = val.parse().unwrap(),
            "--threads" => a.threads = val.parse().unwrap(),
            "--mode" => a.mode = val,
            "--server" => a.server = val.parse().unwrap(),
            "--export" => a.export = val,
            "--rpcproxyd" => a.rpcproxyd = PathBuf::from(val),
            "--warmup" => a.warmup = val.parse().unwrap(),
            "--socket" => a.socket = Some(PathBuf::from(val)),
            o => panic!("unknown option {o}"),
        }
        i += 2;
    }
    assert!(!a.export.is_empty(), "--export or TESTBED_EXPORT needed");
    a.mounts = a.mounts.clamp(1, 5000);
    a.threads = a.threads.clamp(1, 64);
    a
}

/// TIME_WAIT sockets (local port < 1024, ≥ 1024) in this namespace.
fn time_waits() -> (usize, usize) {
    let (mut lo, mut hi) = (0, 0);
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let t = std::fs::read_to_string(f).unwrap_or_default();
        for l in t.lines().skip(1) {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() < 4 || w[3] != "06" {
                continue;
            }
            let port = w[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
                .unwrap_or(0);
            if port < 1024 {
                lo += 1
            } else {
                hi += 1
            }
        }
    }
    (lo, hi)
}

/// One mount's RPCs; returns true on success.
fn one_mount(c: &mut Client, a: &Args) -> bool {
    let opts = CallOpts::tcp_probe().with_timeout(Duration::from_secs(5));
    let Ok(port) = calls::getport(
        c,
        SocketAddr::new(a.server, 0),
        Target::new(prog::MOUNT, 3, Transport::Tcp),
        &opts,
    ) else {
        return false;
    };
    let e = Endpoint::new(
        SocketAddr::new(a.server, port),
        prog::MOUNT,
        3,
        Transport::Tcp,
    );
    if calls::null(c, &e, &opts).is_err() {
        return false;
    }
    let e = e.privileged(true);
    matches!(
        calls::mnt3(c, &e, &Cred::sys_for_process(), &a.export, &opts),
        Ok(MntRes3::Ok { .. })
    )
}

struct Daemon(Child, PathBuf);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.0.wait();
    }
}

fn start_daemon(a: &Args, dir: &std::path::Path) -> Daemon {
    let sock = dir.join("bench.sock");
    let child = Command::new(&a.rpcproxyd)
        .args(["-f", "--socket"])
        .arg(&sock)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rpcproxyd");
    let until = Instant::now() + Duration::from_secs(5);
    while std::os::unix::net::UnixStream::connect(&sock).is_err() {
        assert!(Instant::now() < until, "rpcproxyd did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    Daemon(child, sock)
}

fn run(a: &Arc<Args>, mode: &str, sock: Option<PathBuf>) {
    let (tw_lo0, tw_hi0) = time_waits();
    let make = {
        let sock = sock.clone();
        move || -> Client {
            match &sock {
                Some(s) => Client::with_backends(vec![
                    Box::new(ProxyBackend::new(s.clone()).with_autostart(false)),
                    Box::new(Pool::default()),
                ]),
                None => Client::new(),
            }
        }
    };
    let conns = |sock: &Option<PathBuf>, pool_conns: &AtomicUsize| -> u64 {
        match sock {
            Some(s) => {
                nfsmount::proxy::query_stats(s, Duration::from_secs(2))
                    .map(|st| st.total.conns_opened)
                    .unwrap_or(0)
                    + pool_conns.load(Ordering::SeqCst) as u64
            }
            None => pool_conns.load(Ordering::SeqCst) as u64,
        }
    };
    let pool_conns = Arc::new(AtomicUsize::new(0));
    // Warm-up (sequential), not timed.
    for _ in 0..a.warmup {
        let mut c = make();
        one_mount(&mut c, a);
        let s = c.stats();
        // Pool-side connections only exist when the call fell back or no proxy.
        pool_conns.fetch_add((s.total.conns_opened) as usize, Ordering::SeqCst);
    }
    let base_conns = conns(&sock, &pool_conns);
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let threads: Vec<_> = (0..a.threads)
        .map(|_| {
            let (a, next, ok, pool_conns, make, sock) = (
                a.clone(),
                next.clone(),
                ok.clone(),
                pool_conns.clone(),
                make.clone(),
                sock.clone(),
            );
            std::thread::spawn(move || loop {
                if next.fetch_add(1, Ordering::SeqCst) >= a.mounts {
                    return;
                }
                let (good, opened) = if a.procs {
                    mount_in_child(&a, sock.as_deref())
                } else {
                    let mut c = make();
                    let good = one_mount(&mut c, &a);
                    (good, c.stats().total.conns_opened as usize)
                };
                if good {
                    ok.fetch_add(1, Ordering::SeqCst);
                }
                // In proxy mode ProxyBackend opens no TCP connections; a Pool
                // connection means a fall-back happened.
                pool_conns.fetch_add(opened, Ordering::SeqCst);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let wall = t0.elapsed();
    let new_conns = conns(&sock, &pool_conns) - base_conns;
    let (tw_lo, tw_hi) = time_waits();
    let okn = ok.load(Ordering::SeqCst);
    println!(
        "{mode:>5}{}: mounts={} ok={} threads={} wall={:.3}s mounts/s={:.1} calls/s={:.1} new_tcp_conns={} per_mount={:.3} time_wait<1024={} (+{}) time_wait>=1024={} (+{})",
        if a.procs { " (processes)" } else { "" },
        a.mounts,
        okn,
        a.threads,
        wall.as_secs_f64(),
        a.mounts as f64 / wall.as_secs_f64(),
        3.0 * a.mounts as f64 / wall.as_secs_f64(),
        new_conns,
        new_conns as f64 / a.mounts as f64,
        tw_lo,
        tw_lo.saturating_sub(tw_lo0),
        tw_hi,
        tw_hi.saturating_sub(tw_hi0),
    );
}

/// One mount in a fresh process; returns (ok, pool connections opened).
fn mount_in_child(a: &Args, sock: Option<&std::path::Path>) -> (bool, usize) {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--child-mount",
        "--server",
        &a.server.to_string(),
        "--export",
        &a.export,
    ]);
    if let Some(s) = sock {
        c.arg("--socket").arg(s);
    }
    let Ok(out) = c.stderr(Stdio::null()).output() else {
        return (false, 0);
    };
    let t = String::from_utf8_lossy(&out.stdout);
    let mut w = t.split_whitespace();
    let good = w.next() == Some("OK");
    let n = w.next().and_then(|n| n.parse().ok()).unwrap_or(0);
    (good, n)
}

fn main() {
    let a = Arc::new(args());
    if a.child {
        let mut c = match &a.socket {
            Some(s) => Client::with_backends(vec![
                Box::new(ProxyBackend::new(s.clone()).with_autostart(false)),
                Box::new(Pool::default()),
            ]),
            None => Client::new(),
        };
        let good = one_mount(&mut c, &a);
        println!(
            "{} {}",
            if good { "OK" } else { "FAIL" },
            c.stats().total.conns_opened
        );
        return;
    }
    let dir = tempfile_dir();
    if a.mode == "proxy" || a.mode == "both" {
        let d = start_daemon(&a, &dir);
        run(&a, "proxy", Some(d.1.clone()));
        drop(d);
    }
    if a.mode == "pool" || a.mode == "both" {
        run(&a, "pool", None);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("bench_proxy.{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
