//! rpcproxyd: a local daemon that shares outbound RPC connections between mount
//! helpers, so a mount storm reuses a handful of upstream connections instead of
//! leaving hundreds of (reserved) ports in TIME_WAIT. See docs/rpcproxyd.md.
//!
//! Modules:
//! * [`crate::proxywire`] — the local wire protocol (sans-IO), shared with the
//!   client's proxy backend.
//! * [`xidmap`] — proxy xid ↔ (client, original xid) (sans-IO).
//! * [`security`] — SO_PEERCRED policy, credential checks, connection keys, netns.
//! * [`upstream`] — one cached upstream connection and its outstanding calls.
//! * [`server`] — the single-threaded poll loop.
//! * [`stats`] — counters and `--stats` output.
//! * [`runtime`] — the runtime directory, lock, pid file and socket, created
//!   so that no link or foreign directory can steer them.
//! * this file — command line, start-up (socket, lock, pid file, daemonising,
//!   socket activation, signals) and the `--stats` client.

pub mod runtime;
pub mod security;
pub mod server;
pub mod stats;
pub mod upstream;
pub mod xidmap;

use crate::proxywire::{Frame, FrameDecoder, DEFAULT_SOCKET};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default idle time before an unused upstream connection is closed.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(30);

/// Default scheduling priority: in a mount storm the one daemon competes with
/// hundreds of runnable helpers that all wait for it.
pub const DEFAULT_NICE: i32 = -10;

const USAGE: &str = "usage: rpcproxyd [-d|--debug] [-f|--foreground] [--socket PATH] [--idle-timeout SECS] [--pidfile PATH] [--nice N] [--max-buffered BYTES] [--cache-ttl SECS]\n       rpcproxyd --stats [--json] [--socket PATH]\n";

#[derive(Debug, Clone, PartialEq)]
struct Opts {
    debug: bool,
    foreground: bool,
    socket: PathBuf,
    idle: Duration,
    pidfile: Option<PathBuf>,
    nice: i32,
    max_buffered: usize,
    cache_ttl: Duration,
    stats: bool,
    json: bool,
}

/// `--max-buffered`: bytes with an optional K/M/G suffix (powers of 1024), from
/// 64 KiB to 1 TiB.
fn parse_size(v: &str) -> Option<usize> {
    let (num, mult) = match v.char_indices().last()? {
        (i, 'k' | 'K') => (&v[..i], 1u64 << 10),
        (i, 'm' | 'M') => (&v[..i], 1 << 20),
        (i, 'g' | 'G') => (&v[..i], 1 << 30),
        _ => (v, 1),
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = num.parse::<u64>().ok()?.checked_mul(mult)?;
    ((64 << 10)..=(1 << 40))
        .contains(&n)
        .then(|| usize::try_from(n).ok())
        .flatten()
}

fn parse_args(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        debug: false,
        foreground: false,
        socket: PathBuf::from(DEFAULT_SOCKET),
        idle: DEFAULT_IDLE,
        pidfile: None,
        nice: DEFAULT_NICE,
        max_buffered: server::DEFAULT_MAX_BUFFERED,
        cache_ttl: crate::portcache::DEFAULT_TTL,
        stats: false,
        json: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let mut val = |n: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("option {n} needs a value"))
        };
        match name {
            "-d" | "--debug" => o.debug = true,
            "-f" | "--foreground" => o.foreground = true,
            "--stats" => o.stats = true,
            "--json" => o.json = true,
            "--socket" => o.socket = PathBuf::from(val(name)?),
            "--pidfile" => o.pidfile = Some(PathBuf::from(val(name)?)),
            "--nice" => {
                let v = val(name)?;
                o.nice = v
                    .parse()
                    .ok()
                    .filter(|n: &i32| (-20..=19).contains(n))
                    .ok_or_else(|| format!("bad --nice {v:?} (-20 to 19)"))?;
            }
            "--max-buffered" => {
                let v = val(name)?;
                o.max_buffered = parse_size(&v).ok_or_else(|| {
                    format!("bad --max-buffered {v:?} (bytes, K/M/G suffix allowed, 64K to 1024G)")
                })?;
            }
            "--cache-ttl" => {
                let v = val(name)?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s <= 60.0)
                    .ok_or_else(|| format!("bad --cache-ttl {v:?} (0 to 60 s; 0 = off)"))?;
                o.cache_ttl = Duration::from_secs_f64(secs);
            }
            "--idle-timeout" => {
                let v = val(name)?;
                let secs: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s <= 86_400.0)
                    .ok_or_else(|| format!("bad --idle-timeout {v:?}"))?;
                o.idle = Duration::from_secs_f64(secs);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if o.json && !o.stats {
        return Err("--json only goes with --stats".into());
    }
    Ok(o)
}

/// Entry point of the rpcproxyd binary; returns the exit status.
pub fn daemon_main() -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse_args(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{USAGE}");
            return 0;
        }
        Err(e) => {
            eprintln!("rpcproxyd: {e}\n{USAGE}");
            return 2;
        }
    };
    if o.stats {
        return stats_main(&o);
    }
    match run_daemon(&o) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("rpcproxyd: {e}");
            crate::sys::syslog::log(3, 3, "rpcproxyd", &e);
            1
        }
    }
}

/// Asks a running daemon for its counters.
pub fn query_stats(
    socket: &Path,
    timeout: Duration,
) -> std::io::Result<crate::proxywire::ProxyStats> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(&Frame::Stats.encode())?;
    let mut dec = FrameDecoder::default();
    let mut buf = [0u8; 8192];
    loop {
        match dec.next_frame() {
            Ok(Some(Frame::StatsReply(st))) => return Ok(st),
            Ok(Some(_)) | Err(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "unexpected answer from rpcproxyd",
                ))
            }
            Ok(None) => {}
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        dec.feed(&buf[..n])
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    }
}

fn stats_main(o: &Opts) -> i32 {
    match query_stats(&o.socket, Duration::from_secs(5)) {
        Ok(st) => {
            if o.json {
                print!("{}", stats::format_json(&st));
            } else {
                print!("{}", stats::format_text(&st));
            }
            0
        }
        Err(e) => {
            eprintln!(
                "rpcproxyd: cannot get statistics from {}: {e}",
                o.socket.display()
            );
            1
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    }
}

fn run_daemon(o: &Opts) -> Result<(), String> {
    let own_uid = nix::unistd::geteuid().as_raw();
    let activated = crate::sys::activation::take_listener();
    let is_activated = activated.is_some();
    // Held for the daemon's whole life: one instance per socket path. The
    // socket and pid file are removed on the way out (if still ours).
    let mut _lock = None;
    let mut _socket = None;
    let mut path = absolute(&o.socket);
    let listener = match activated {
        // systemd made the socket (SocketMode= in rpcproxyd.socket)
        Some(l) => l,
        None => {
            let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
                return Err(format!("bad socket path {}", path.display()));
            };
            // Every file below is made in this directory, by its checked path.
            let dir = runtime::check_dir(dir, own_uid, true)?;
            path = dir.join(name);
            let lockpath = PathBuf::from(format!("{}.lock", path.display()));
            let f = runtime::open_lock(&lockpath, own_uid)?;
            let lock = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock)
                .map_err(|(_, e)| {
                    format!("another rpcproxyd holds {} ({e})", lockpath.display())
                })?;
            _lock = Some(lock);
            // We hold the lock, so a socket left behind is stale.
            let (l, owned) = runtime::bind_socket(&path)?;
            _socket = Some(owned);
            l
        }
    };
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGTERM);
    mask.add(Signal::SIGINT);
    mask.thread_block()
        .map_err(|e| format!("sigprocmask: {e}"))?;
    let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
        .map_err(|e| format!("signalfd: {e}"))?;
    if !o.debug && !o.foreground && !is_activated {
        // The parent exits only after the socket is listening, so a client that
        // started us can connect as soon as we return.
        crate::sys::process::daemonize().map_err(|e| format!("daemon: {e}"))?;
    }
    // Clients see the pid recorded by listen(2) (SO_PEERCRED) and check whether
    // that process is stopped: listen again in this, the serving, process.
    let _ = crate::sys::unixpeer::relisten(&listener);
    let mut _pidfile = None;
    if let Some(p) = &o.pidfile {
        let p = absolute(p);
        let (Some(dir), Some(name)) = (p.parent(), p.file_name()) else {
            return Err(format!("bad pid file path {}", p.display()));
        };
        let dir = runtime::check_dir(dir, own_uid, false)?;
        _pidfile = Some(runtime::write_pidfile(&dir.join(name), std::process::id())?);
    }
    // Serve a storm's helpers ahead of the helpers themselves (best effort: an
    // unprivileged daemon cannot raise its priority and keeps what it has).
    if let Err(e) = crate::sys::process::set_nice(o.nice) {
        if o.debug {
            eprintln!("rpcproxyd: cannot set nice {}: {e}", o.nice);
        }
    }
    // A storm's helpers each hold a local connection: use the hard fd limit.
    let nofile = crate::sys::process::raise_nofile_limit(65536);
    let cfg = server::Config {
        idle_timeout: o.idle,
        max_clients: server::max_clients_for(nofile),
        debug: o.debug,
        blacklist: crate::sys::net::load_blacklist(Path::new(
            crate::sys::net::BINDRESVPORT_BLACKLIST,
        )),
        own_uid,
        max_buffered: o.max_buffered,
        cache_ttl: o.cache_ttl,
    };
    if o.debug {
        eprintln!(
            "rpcproxyd: listening on {} (pid {}, idle timeout {:?}, at most {} clients, {} bytes of partial frames)",
            path.display(),
            std::process::id(),
            o.idle,
            cfg.max_clients,
            cfg.max_buffered
        );
    }
    let mut srv = server::Server::new(cfg, listener).map_err(|e| e.to_string())?;
    srv.run(&sfd).map_err(|e| format!("poll loop: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cli() {
        let o = parse_args(&a(&["-d", "--socket", "/tmp/s", "--idle-timeout=0.5"])).unwrap();
        assert!(o.debug);
        assert_eq!(o.socket, PathBuf::from("/tmp/s"));
        assert_eq!(o.idle, Duration::from_millis(500));
        let o = parse_args(&a(&["--stats", "--json"])).unwrap();
        assert!(o.stats && o.json);
        assert_eq!(o.socket, PathBuf::from(DEFAULT_SOCKET));
        assert!(parse_args(&a(&["--json"])).is_err());
        assert_eq!(parse_args(&a(&[])).unwrap().nice, DEFAULT_NICE);
        assert_eq!(parse_args(&a(&["--nice", "0"])).unwrap().nice, 0);
        assert!(parse_args(&a(&["--nice=-21"])).is_err());
        assert!(parse_args(&a(&["--nice", "x"])).is_err());
        assert!(parse_args(&a(&["--idle-timeout", "-1"])).is_err());
        assert!(parse_args(&a(&["--socket"])).is_err());
        assert!(parse_args(&a(&["--bogus"])).is_err());
        assert_eq!(
            parse_args(&a(&[])).unwrap().max_buffered,
            server::DEFAULT_MAX_BUFFERED
        );
        for (v, n) in [
            ("65536", 65536),
            ("2M", 2 << 20),
            ("1g", 1 << 30),
            ("64K", 65536),
        ] {
            assert_eq!(
                parse_args(&a(&["--max-buffered", v])).unwrap().max_buffered,
                n,
                "{v}"
            );
        }
        for v in [
            "1000",
            "0",
            "",
            "M",
            "-1M",
            "2T",
            "1.5M",
            "2049G",
            "99999999999999999999",
        ] {
            assert!(parse_args(&a(&["--max-buffered", v])).is_err(), "{v}");
        }
    }
}
