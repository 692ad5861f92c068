//! Cross-process reserved-port pool for the in-process fall-back path.
//!
//! When many mount helpers run at once without rpcproxyd, each binds reserved
//! ports on its own. The kernel already refuses a port that is bound (or in
//! TIME_WAIT without SO_REUSEADDR), but helpers still race through the same scan
//! order, and a port released a moment ago towards the same server is handed out
//! again as soon as its socket is gone — the server's duplicate-reply cache keys on
//! (client address, port, xid), and a TCP reconnect from that port meets the
//! previous connection's TIME_WAIT.
//!
//! Design:
//! * One state file (`<dir>/reserved-ports`, dir `/run/nfsmount`, test override
//!   `NFSMOUNT_PORTPOOL_DIR`) guarded by `flock`. Each line is a record:
//!   `H <port> <tcp|udp> <peer> <pid>` (held) or `R <port> <tcp|udp> <peer> <secs>`
//!   (released at unix time `secs`).
//! * [`PortPool::acquire`] takes the lock, drops release records older than
//!   [`REUSE_DELAY`], turns records held by dead pids into releases "now", then
//!   offers candidates in the caller's order, skipping ports held by anyone,
//!   ports released towards the *same peer* within [`REUSE_DELAY`], and local
//!   ports < 1024 that `/proc/net/tcp{,6}` shows in TIME_WAIT. The caller's bind
//!   closure decides (EADDRINUSE → next). The winner is recorded before the lock is
//!   released, so two processes never get the same port.
//! * The [`Lease`] records the release (with the time) when dropped.
//! * Lock waits are bounded (2 s); on any trouble with the state file the caller
//!   gets `None` and scans without the pool — the pool is an optimisation, never
//!   a new way to fail.
//!
//! Limits: it sees only processes that use it. The kernel's own reserved ports
//! (NFS transports, kernel MNT/NLM via sunrpc's 665–1023 range), rpcproxyd's
//! upstream sockets if built without it, and other programs calling
//! bindresvport are invisible, except through the TIME_WAIT cross-check and
//! bind's own EADDRINUSE. A pid reused after a crash may keep a port "held" until
//! that process exits. Records are per host, not per network namespace.
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Default directory of the state file.
pub const DEFAULT_DIR: &str = "/run/nfsmount";
/// How long a port released towards a peer is not offered for that peer again:
/// Linux TIME_WAIT (60 s) plus margin.
pub const REUSE_DELAY: Duration = Duration::from_secs(70);
/// Most records kept (bounds the file; the oldest releases go first).
const MAX_RECORDS: usize = 4096;
const LOCK_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Held(u32),
    Released(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    port: u16,
    tcp: bool,
    peer: SocketAddr,
    state: State,
}

fn parse(text: &str) -> Vec<Record> {
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() != 5 {
                return None;
            }
            let port = w[1].parse().ok()?;
            let tcp = match w[2] {
                "tcp" => true,
                "udp" => false,
                _ => return None,
            };
            let peer = w[3].parse().ok()?;
            let state = match w[0] {
                "H" => State::Held(w[4].parse().ok()?),
                "R" => State::Released(w[4].parse().ok()?),
                _ => return None,
            };
            Some(Record {
                port,
                tcp,
                peer,
                state,
            })
        })
        .collect()
}

fn render(recs: &[Record]) -> String {
    let mut s = String::new();
    for r in recs {
        let (t, v) = match r.state {
            State::Held(pid) => ("H", u64::from(pid)),
            State::Released(at) => ("R", at),
        };
        s.push_str(&format!(
            "{t} {} {} {} {v}\n",
            r.port,
            if r.tcp { "tcp" } else { "udp" },
            r.peer
        ));
    }
    s
}

/// Local ports below 1024 in TIME_WAIT, from /proc/net/tcp-format text.
pub fn parse_time_wait(text: &str) -> Vec<u16> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let local = w.get(1)?;
            let st = w.get(3)?;
            if *st != "06" {
                return None;
            }
            let port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
            (port < 1024).then_some(port)
        })
        .collect()
}

/// How many local TCP sockets on ports below 1024 are in TIME_WAIT now
/// (`None` if /proc/net/tcp cannot be read): the pressure adaptive
/// `stormsafe` looks at (`negotiate::pressure`).
pub fn reserved_time_wait_count() -> Option<usize> {
    let mut n = None;
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(t) = std::fs::read_to_string(f) {
            *n.get_or_insert(0) += parse_time_wait(&t).len();
        }
    }
    n
}

fn time_wait_ports() -> Vec<u16> {
    let mut v = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(t) = std::fs::read_to_string(f) {
            v.extend(parse_time_wait(&t));
        }
    }
    v
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The shared state file.
#[derive(Debug, Clone)]
pub struct PortPool {
    path: PathBuf,
}

/// A port handed out by the pool; its release is recorded when dropped.
#[derive(Debug)]
pub struct Lease {
    pool: PortPool,
    pub port: u16,
    tcp: bool,
    peer: SocketAddr,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let (port, tcp, peer) = (self.port, self.tcp, self.peer);
        let me = std::process::id();
        let _ = self.pool.with_locked(|recs| {
            for r in recs.iter_mut() {
                if r.port == port && r.tcp == tcp && r.peer == peer && r.state == State::Held(me) {
                    r.state = State::Released(now_secs());
                }
            }
        });
    }
}

impl PortPool {
    /// The pool in `dir` (created if missing).
    pub fn new(dir: &Path) -> std::io::Result<PortPool> {
        let _root = crate::sys::privs::root();
        std::fs::create_dir_all(dir)?;
        Ok(PortPool {
            path: dir.join("reserved-ports"),
        })
    }

    /// The system pool (`NFSMOUNT_PORTPOOL_DIR` when test overrides are allowed),
    /// or `None` if its directory cannot be used.
    pub fn system() -> Option<PortPool> {
        let dir = crate::sys::env::test_override("NFSMOUNT_PORTPOOL_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
        PortPool::new(&dir).ok()
    }

    fn with_locked<T>(&self, f: impl FnOnce(&mut Vec<Record>) -> T) -> std::io::Result<T> {
        let _root = crate::sys::privs::root();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)?;
        let until = Instant::now() + LOCK_WAIT;
        let mut file = file;
        let mut lock = loop {
            match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
                Ok(l) => break l,
                Err((f, nix::errno::Errno::EWOULDBLOCK)) if Instant::now() < until => {
                    file = f;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((_, e)) => return Err(e.into()),
            }
        };
        let mut text = String::new();
        lock.read_to_string(&mut text)?;
        let mut recs = parse(&text);
        let out = f(&mut recs);
        let body = render(&recs);
        lock.seek(SeekFrom::Start(0))?;
        lock.set_len(0)?;
        lock.write_all(body.as_bytes())?;
        Ok(out)
    }

    /// Offers candidate ports to `bind` (in order, skipping busy ones) until it
    /// returns `Ok(true)`; records and returns that port's lease. `Ok(None)`:
    /// no candidate was accepted (or the state file is unusable) — scan without
    /// the pool. An `Err` from `bind` stops the scan and is returned.
    pub fn acquire<E>(
        &self,
        peer: SocketAddr,
        tcp: bool,
        candidates: &[u16],
        mut bind: impl FnMut(u16) -> Result<bool, E>,
    ) -> Result<Option<Lease>, E> {
        let tw = if tcp { time_wait_ports() } else { Vec::new() };
        let now = now_secs();
        let me = std::process::id();
        let r = self.with_locked(|recs| -> Result<Option<u16>, E> {
            recs.retain(|r| match r.state {
                State::Released(at) => now.saturating_sub(at) < REUSE_DELAY.as_secs(),
                State::Held(_) => true,
            });
            for r in recs.iter_mut() {
                if let State::Held(pid) = r.state {
                    if !pid_alive(pid) {
                        r.state = State::Released(now);
                    }
                }
            }
            let busy = |p: u16| {
                tw.contains(&p)
                    || recs.iter().any(|r| {
                        r.port == p
                            && match r.state {
                                State::Held(_) => true,
                                State::Released(_) => r.peer == peer,
                            }
                    })
            };
            let free: Vec<u16> = candidates.iter().copied().filter(|p| !busy(*p)).collect();
            for p in free {
                if bind(p)? {
                    recs.push(Record {
                        port: p,
                        tcp,
                        peer,
                        state: State::Held(me),
                    });
                    if recs.len() > MAX_RECORDS {
                        let drop_n = recs.len() - MAX_RECORDS;
                        let mut n = 0;
                        recs.retain(|r| {
                            if n < drop_n && matches!(r.state, State::Released(_)) {
                                n += 1;
                                false
                            } else {
                                true
                            }
                        });
                    }
                    return Ok(Some(p));
                }
            }
            Ok(None)
        });
        match r {
            Ok(Ok(Some(port))) => Ok(Some(Lease {
                pool: self.clone(),
                port,
                tcp,
                peer,
            })),
            Ok(Ok(None)) | Err(_) => Ok(None),
            Ok(Err(e)) => Err(e),
        }
    }

    /// Ports currently recorded as held (for tests and diagnostics).
    pub fn held(&self) -> Vec<u16> {
        self.with_locked(|recs| {
            recs.iter()
                .filter(|r| matches!(r.state, State::Held(_)))
                .map(|r| r.port)
                .collect()
        })
        .unwrap_or_default()
    }
}

/// Reads a state file without locking (diagnostics).
pub fn dump(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn records_roundtrip_and_garbage_ignored() {
        let recs = vec![
            Record {
                port: 700,
                tcp: true,
                peer: peer("10.0.0.1:635"),
                state: State::Held(42),
            },
            Record {
                port: 701,
                tcp: false,
                peer: peer("[::1]:2049"),
                state: State::Released(1_700_000_000),
            },
        ];
        let t = render(&recs);
        assert_eq!(parse(&t), recs);
        assert_eq!(
            parse("junk\nH x tcp 1.2.3.4:5 6\nQ 1 tcp 1.2.3.4:5 6\n"),
            vec![]
        );
    }

    #[test]
    fn time_wait_parsing() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0277 0100007F:006F 06 00000000:00000000 03:00001234 00000000     0        0 0\n   1: 0100007F:0278 0100007F:006F 01 00000000:00000000 00:00000000 00000000     0        0 1\n   2: 0100007F:9C40 0100007F:006F 06 00000000:00000000 00:00000000 00000000     0        0 1\n";
        assert_eq!(parse_time_wait(t), vec![0x277]);
    }

    #[test]
    fn skips_held_and_recently_released_towards_same_peer() {
        let dir = tempfile::tempdir().unwrap();
        let pool = PortPool::new(dir.path()).unwrap();
        let a = peer("127.0.0.1:111");
        let b = peer("127.0.0.2:111");
        let cands = [700u16, 701, 702];
        let l1 = pool
            .acquire(a, false, &cands, |_| Ok::<_, ()>(true))
            .unwrap()
            .unwrap();
        assert_eq!(l1.port, 700);
        let l2 = pool
            .acquire(b, false, &cands, |_| Ok::<_, ()>(true))
            .unwrap()
            .unwrap();
        assert_eq!(l2.port, 701, "700 is held");
        drop(l1);
        let l3 = pool
            .acquire(a, false, &cands, |_| Ok::<_, ()>(true))
            .unwrap()
            .unwrap();
        assert_eq!(l3.port, 702, "700 was just released towards the same peer");
        let l4 = pool
            .acquire(b, false, &cands, |_| Ok::<_, ()>(true))
            .unwrap()
            .unwrap();
        assert_eq!(l4.port, 700, "other peer may reuse it");
        assert!(pool
            .acquire(a, false, &cands, |_| Ok::<_, ()>(true))
            .unwrap()
            .is_none());
        // bind refusals move on; errors stop.
        drop((l2, l3, l4));
        let c = peer("127.0.0.3:1");
        let l = pool
            .acquire(c, false, &cands, |p| Ok::<_, ()>(p == 702))
            .unwrap()
            .unwrap();
        assert_eq!(l.port, 702);
        assert_eq!(
            pool.acquire(peer("127.0.0.4:1"), false, &cands, |_| Err::<bool, _>("x"))
                .map(|l| l.map(|l| l.port)),
            Err("x")
        );
    }

    #[test]
    fn dead_holder_becomes_release() {
        let dir = tempfile::tempdir().unwrap();
        let pool = PortPool::new(dir.path()).unwrap();
        let a = peer("127.0.0.1:111");
        std::fs::write(
            dir.path().join("reserved-ports"),
            format!("H 700 tcp {a} 999999999\n"),
        )
        .unwrap();
        let cands = [700u16, 701];
        let l = pool
            .acquire(peer("127.0.0.9:1"), false, &cands, |_| Ok::<_, ()>(true))
            .unwrap()
            .unwrap();
        assert_eq!(l.port, 700, "holder is dead");
        let s = dump(&dir.path().join("reserved-ports"));
        assert!(s.contains(&format!("R 700 tcp {a}")), "{s}");
    }
}
