//! rpcproxyd throughput/latency benchmark (`scripts/storm-bench proxy`).
//!
//! K local clients, each with ONE call outstanding at a time (like a helper),
//! driven by one single-threaded poll loop so the load generator itself costs
//! little CPU. Two modes with the same calls and the same loop:
//!
//! * `proxy`: K unix-socket connections to rpcproxyd, each bound by CONNECT to
//!   the same endpoint, then CALL frames; the daemon shares one upstream.
//! * `direct`: K cached TCP connections straight to the server (record
//!   marking), i.e. what a client with its own cached connection pays.
//!
//! Prints one line: calls, wall, calls/s, p50/p99 per call (µs). With
//! `--daemon-pid` it also prints the daemon's RSS and open fds while all K
//! clients are connected, and again after they have all closed.
//!
//! ```text
//! bench_rpcproxyd --mode proxy|direct --clients K --calls N --server IP:PORT
//!                 [--prog 100003 --vers 3 --proc 0] [--socket PATH] [--daemon-pid PID]
//!                 [--secs LIMIT]
//! ```
//! Hand-encodes the frames of docs/rpcproxyd.md ("Protocol"): it is a client
//! of the wire protocol, not of the library's codec.
use nix::poll::{PollFd, PollFlags, PollTimeout};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

struct Args {
    mode: String,
    clients: usize,
    calls: usize,
    server: SocketAddr,
    prog: u32,
    vers: u32,
    procnum: u32,
    socket: String,
    daemon_pid: Option<u32>,
    secs: u64,
}

fn args() -> Args {
    let mut a = Args {
        mode: "proxy".into(),
        clients: 1,
        calls: 20000,
        server: "127.0.0.1:2049".parse().unwrap(),
        prog: 100003,
        vers: 3,
        procnum: 0,
        socket: "/run/rpcproxyd/socket".into(),
        daemon_pid: None,
        secs: 60,
    };
    let v: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < v.len() {
        let val = v.get(i + 1).cloned().unwrap_or_default();
        match v[i].as_str() {
            "--mode" => a.mode = val,
            "--clients" => a.clients = val.parse().expect("--clients"),
            "--calls" => a.calls = val.parse().expect("--calls"),
            "--server" => a.server = val.parse().expect("--server IP:PORT"),
            "--prog" => a.prog = val.parse().expect("--prog"),
            "--vers" => a.vers = val.parse().expect("--vers"),
            "--proc" => a.procnum = val.parse().expect("--proc"),
            "--socket" => a.socket = val,
            "--daemon-pid" => a.daemon_pid = Some(val.parse().expect("--daemon-pid")),
            "--secs" => a.secs = val.parse().expect("--secs"),
            o => panic!("unknown argument {o}"),
        }
        i += 2;
    }
    a
}

fn rpc_call(xid: u32, a: &Args) -> Vec<u8> {
    let mut m = Vec::with_capacity(40);
    for w in [xid, 0, 2, a.prog, a.vers, a.procnum, 0, 0, 0, 0] {
        m.extend_from_slice(&w.to_be_bytes());
    }
    m
}

fn frame(t: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(5 + payload.len());
    f.extend_from_slice(&(1 + payload.len() as u32).to_be_bytes());
    f.push(t);
    f.extend_from_slice(payload);
    f
}

fn connect_frame(a: &Args) -> Vec<u8> {
    let mut p = vec![2u8];
    match a.server.ip() {
        IpAddr::V4(ip) => {
            p.push(4);
            p.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            p.push(6);
            p.extend_from_slice(&ip.octets());
        }
    }
    p.extend_from_slice(&a.server.port().to_be_bytes());
    p.extend_from_slice(&a.prog.to_be_bytes());
    p.extend_from_slice(&a.vers.to_be_bytes());
    p.push(1); // tcp
    p.push(0); // not privileged
    for w in [5000u32, 0, 0] {
        p.extend_from_slice(&w.to_be_bytes()); // connect timeout, AUTH_NONE, len 0
    }
    frame(0x01, &p)
}

fn call_frame(msg: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(17 + msg.len());
    for w in [10_000u32, 1000, 1000, 3] {
        p.extend_from_slice(&w.to_be_bytes());
    }
    p.push(1);
    p.extend_from_slice(msg);
    frame(0x02, &p)
}

enum Sock {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Sock {
    fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Sock::Unix(s) => s.as_fd(),
            Sock::Tcp(s) => s.as_fd(),
        }
    }
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Sock::Unix(s) => s.read(b),
            Sock::Tcp(s) => s.read(b),
        }
    }
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        // Requests are tiny and one is outstanding per socket: the socket
        // buffer takes them in one go. A full buffer is waited out (bounded).
        let mut off = 0;
        let until = Instant::now() + Duration::from_secs(10);
        while off < b.len() {
            let r = match self {
                Sock::Unix(s) => s.write(&b[off..]),
                Sock::Tcp(s) => s.write(&b[off..]),
            };
            match r {
                Ok(n) => off += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < until => {
                    let mut p = [PollFd::new(self.fd(), PollFlags::POLLOUT)];
                    let _ = nix::poll::poll(&mut p, PollTimeout::from(100u16));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
    fn set_nonblocking(&self, yes: bool) {
        match self {
            Sock::Unix(s) => s.set_nonblocking(yes).unwrap(),
            Sock::Tcp(s) => s.set_nonblocking(yes).unwrap(),
        }
    }
}

struct Cl {
    s: Sock,
    buf: Vec<u8>,
    sent_at: Instant,
    xid: u32,
    busy: bool,
}

/// A complete message in `buf` (proxy frame or TCP record)? Returns its
/// length and the message type/xid bytes.
fn take_msg(buf: &mut Vec<u8>, proxy: bool) -> Option<Vec<u8>> {
    if buf.len() < 4 {
        return None;
    }
    let h = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let len = if proxy { h } else { h & 0x7fff_ffff } as usize;
    if buf.len() < 4 + len {
        return None;
    }
    let m: Vec<u8> = buf[4..4 + len].to_vec();
    buf.drain(..4 + len);
    Some(m)
}

fn proc_status(pid: u32) -> (u64, usize) {
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    (rss, fds)
}

/// utime + stime of `pid` in µs (/proc/PID/stat, clock ticks).
fn proc_cpu_us(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the ")" of the command name: state is field 3; utime 14, stime 15.
    let rest = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    (t(11) + t(12)) * 1_000_000 / hz.max(1)
}

fn self_cpu_us() -> u64 {
    let u = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).unwrap();
    let us = |t: nix::sys::time::TimeVal| t.tv_sec() as u64 * 1_000_000 + t.tv_usec() as u64;
    us(u.user_time()) + us(u.system_time())
}

fn main() {
    let a = args();
    let proxy = a.mode == "proxy";
    let deadline = Instant::now() + Duration::from_secs(a.secs);
    let mut cls: Vec<Cl> = Vec::with_capacity(a.clients);
    let cf = connect_frame(&a);
    for i in 0..a.clients {
        let mut s = if proxy {
            Sock::Unix(UnixStream::connect(&a.socket).expect("connect to rpcproxyd socket"))
        } else {
            let t = TcpStream::connect_timeout(&a.server, Duration::from_secs(5))
                .expect("connect to server");
            t.set_nodelay(true).ok();
            Sock::Tcp(t)
        };
        if proxy {
            s.write_all(&cf).expect("send CONNECT");
        }
        cls.push(Cl {
            s,
            buf: Vec::new(),
            sent_at: Instant::now(),
            xid: (i as u32) << 20,
            busy: proxy, // waiting for CONNECTED
        });
    }
    // Handshakes (proxy): every client must get CONNECTED ok.
    if proxy {
        for c in cls.iter_mut() {
            c.s.set_nonblocking(false);
            if let Sock::Unix(u) = &c.s {
                u.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            }
            let mut b = [0u8; 64];
            while take_msg(&mut c.buf, true).map_or(true, |m| {
                assert!(m[0] == 0x81 && m[1] == 0, "CONNECT refused: {m:?}");
                false
            }) {
                let n = c.s.read(&mut b).expect("read CONNECTED");
                assert!(n > 0, "daemon closed during handshake");
                c.buf.extend_from_slice(&b[..n]);
            }
            c.busy = false;
        }
    }
    for c in cls.iter_mut() {
        c.s.set_nonblocking(true);
    }
    if let Some(pid) = a.daemon_pid {
        let (rss, fds) = proc_status(pid);
        println!(
            "daemon connected clients={} rss_kb={rss} fds={fds}",
            a.clients
        );
    }
    let mut lat: Vec<u32> = Vec::with_capacity(a.calls);
    let mut sent = 0usize;
    let start = Instant::now();
    let cpu0 = (self_cpu_us(), a.daemon_pid.map(proc_cpu_us).unwrap_or(0));
    let mut rb = vec![0u8; 65536];
    let send = |c: &mut Cl, a: &Args, sent: &mut usize| {
        c.xid = c.xid.wrapping_add(1);
        let m = rpc_call(c.xid, a);
        let out = if proxy {
            call_frame(&m)
        } else {
            let mut r = ((m.len() as u32) | 0x8000_0000).to_be_bytes().to_vec();
            r.extend_from_slice(&m);
            r
        };
        c.sent_at = Instant::now();
        c.s.write_all(&out).expect("send call");
        c.busy = true;
        *sent += 1;
    };
    for c in cls.iter_mut() {
        if sent < a.calls {
            send(c, &a, &mut sent);
        }
    }
    let mut errors = 0usize;
    while lat.len() + errors < sent && Instant::now() < deadline {
        let mut pfds: Vec<PollFd> = cls
            .iter()
            .map(|c| {
                PollFd::new(
                    c.s.fd(),
                    if c.busy {
                        PollFlags::POLLIN
                    } else {
                        PollFlags::empty()
                    },
                )
            })
            .collect();
        nix::poll::poll(&mut pfds, PollTimeout::from(1000u16)).expect("poll");
        let ready: Vec<usize> = pfds
            .iter()
            .enumerate()
            .filter(|(_, p)| p.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect();
        drop(pfds);
        for i in ready {
            let c = &mut cls[i];
            loop {
                match c.s.read(&mut rb) {
                    Ok(0) => panic!("connection {i} closed by peer"),
                    Ok(n) => c.buf.extend_from_slice(&rb[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => panic!("read: {e}"),
                }
            }
            while let Some(m) = take_msg(&mut c.buf, proxy) {
                let (ok, body) = if proxy {
                    (m[0] == 0x82, &m[1..])
                } else {
                    (true, &m[..])
                };
                let xid = body
                    .get(..4)
                    .map(|x| u32::from_be_bytes([x[0], x[1], x[2], x[3]]));
                if !ok || xid != Some(c.xid) {
                    errors += 1;
                } else {
                    lat.push(c.sent_at.elapsed().as_micros().min(u32::MAX as u128) as u32);
                }
                c.busy = false;
                if sent < a.calls {
                    send(c, &a, &mut sent);
                }
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let gen_cpu = self_cpu_us() - cpu0.0;
    let dmn_cpu = a.daemon_pid.map(proc_cpu_us).unwrap_or(0) - cpu0.1;
    lat.sort_unstable();
    let pct = |p: f64| {
        if lat.is_empty() {
            0
        } else {
            lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)]
        }
    };
    println!(
        "{:<6} clients={:<5} calls={:<7} errors={errors} wall={wall:.3}s calls/s={:.0} p50_us={} p99_us={} us/call(wall)={:.1} cpu_us/call: clients={:.1} daemon={:.1}",
        a.mode,
        a.clients,
        lat.len(),
        lat.len() as f64 / wall,
        pct(0.50),
        pct(0.99),
        wall * 1e6 / lat.len().max(1) as f64,
        gen_cpu as f64 / lat.len().max(1) as f64,
        if proxy {
            dmn_cpu as f64 / lat.len().max(1) as f64
        } else {
            0.0
        },
    );
    drop(cls);
    if let Some(pid) = a.daemon_pid {
        // Let the daemon notice the closes (one poll turn), bounded.
        let mut last = (0, 0);
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(100));
            last = proc_status(pid);
        }
        println!("daemon after close rss_kb={} fds={}", last.0, last.1);
    }
}
