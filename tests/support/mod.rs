//! Small hand-written fake RPC servers on 127.0.0.1 / ::1 ephemeral ports, for faults
//! a real server cannot be made to produce (garbage, wrong xids, huge lengths, black
//! holes, closing a cached connection).
//!
//! Each server runs on its own threads and stops when dropped (bounded: every
//! blocking wait uses a short timeout and re-checks a stop flag).
#![allow(dead_code)]

use nfsmount::rpc::msg::{decode_call, CallHeader};
use nfsmount::rpc::record::{encode_record, RecordLimits, RecordReader};
use nfsmount::rpc::{AcceptStat, OpaqueAuth, Reply, ReplyBody};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the fake does with one call.
#[derive(Debug, Clone)]
pub enum Action {
    /// Send this complete reply message (framed as one record on TCP).
    Reply(Vec<u8>),
    /// Write these bytes as they are (TCP: no record marking added).
    Raw(Vec<u8>),
    /// Send several messages (e.g. a stale xid, then the right one).
    Many(Vec<Vec<u8>>),
    /// Say nothing (black hole).
    Ignore,
    /// Close the connection without replying (TCP).
    Close,
    /// Reply, then close the connection (TCP).
    ReplyThenClose(Vec<u8>),
}

/// What the fake saw of one call.
#[derive(Debug, Clone)]
pub struct Seen {
    pub peer: SocketAddr,
    pub header: CallHeader,
    pub args: Vec<u8>,
}

pub type Handler = Arc<dyn Fn(usize, &CallHeader, &[u8]) -> Action + Send + Sync>;

pub fn success(xid: u32, body: &[u8]) -> Vec<u8> {
    reply(xid, AcceptStat::Success(body.to_vec()))
}

pub fn reply(xid: u32, stat: AcceptStat) -> Vec<u8> {
    Reply {
        xid,
        body: ReplyBody::Accepted {
            verf: OpaqueAuth::none(),
            stat,
        },
    }
    .encode()
    .unwrap()
}

pub struct FakeServer {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    pub connections: Arc<AtomicUsize>,
    pub calls: Arc<AtomicUsize>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    threads: Vec<JoinHandle<()>>,
}

impl FakeServer {
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn udp(bind: &str, h: Handler) -> FakeServer {
        let sock = UdpSocket::bind(bind).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (st, ca, se) = (stop.clone(), calls.clone(), seen.clone());
        let t = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while !st.load(Ordering::SeqCst) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let Ok((hdr, args)) = decode_call(&buf[..n]) else {
                    continue;
                };
                let k = ca.fetch_add(1, Ordering::SeqCst) + 1;
                se.lock().unwrap().push(Seen {
                    peer,
                    header: hdr.clone(),
                    args: args.to_vec(),
                });
                match h(k, &hdr, args) {
                    Action::Reply(m) | Action::Raw(m) | Action::ReplyThenClose(m) => {
                        let _ = sock.send_to(&m, peer);
                    }
                    Action::Many(ms) => {
                        for m in ms {
                            let _ = sock.send_to(&m, peer);
                        }
                    }
                    Action::Ignore | Action::Close => {}
                }
            }
        });
        FakeServer {
            addr,
            stop,
            connections: Arc::new(AtomicUsize::new(0)),
            calls,
            seen,
            threads: vec![t],
        }
    }

    pub fn tcp(bind: &str, h: Handler) -> FakeServer {
        let l = TcpListener::bind(bind).unwrap();
        l.set_nonblocking(true).unwrap();
        let addr = l.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let conns = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (st, ca, co, se) = (stop.clone(), calls.clone(), conns.clone(), seen.clone());
        let t = std::thread::spawn(move || {
            let mut workers = Vec::new();
            while !st.load(Ordering::SeqCst) {
                match l.accept() {
                    Ok((s, peer)) => {
                        co.fetch_add(1, Ordering::SeqCst);
                        let (st, ca, se, h) = (st.clone(), ca.clone(), se.clone(), h.clone());
                        workers.push(std::thread::spawn(move || {
                            serve_tcp(s, peer, &st, &ca, &se, &h)
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(1)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        FakeServer {
            addr,
            stop,
            connections: conns,
            calls,
            seen,
            threads: vec![t],
        }
    }
}

fn serve_tcp(
    mut s: TcpStream,
    peer: SocketAddr,
    stop: &AtomicBool,
    calls: &AtomicUsize,
    seen: &Mutex<Vec<Seen>>,
    h: &Handler,
) {
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut rr = RecordReader::new(RecordLimits::default());
    let mut buf = [0u8; 8192];
    while !stop.load(Ordering::SeqCst) {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if rr.feed(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(_) => continue,
        }
        while let Some(rec) = rr.pop() {
            let Ok((hdr, args)) = decode_call(&rec) else {
                return;
            };
            let k = calls.fetch_add(1, Ordering::SeqCst) + 1;
            seen.lock().unwrap().push(Seen {
                peer,
                header: hdr.clone(),
                args: args.to_vec(),
            });
            match h(k, &hdr, args) {
                Action::Reply(m) => {
                    let _ = s.write_all(&encode_record(&m, m.len()));
                }
                Action::Raw(b) => {
                    let _ = s.write_all(&b);
                }
                Action::Many(ms) => {
                    for m in ms {
                        let _ = s.write_all(&encode_record(&m, m.len()));
                    }
                }
                Action::Ignore => {}
                Action::Close => return,
                Action::ReplyThenClose(m) => {
                    let _ = s.write_all(&encode_record(&m, m.len()));
                    return;
                }
            }
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// A fake portmapper/rpcbind: GETPORT from `table` (prog, vers, prot) → port,
/// DUMP of the table, NULL; rpcbind v3/v4 GETADDR answering `uaddr_answer`.
pub fn portmapper(table: Vec<(u32, u32, u32, u16)>, uaddr_answer: Option<String>) -> Handler {
    use nfsmount::proto::{portmap, rpcbind};
    Arc::new(move |_, h, args| {
        let body = match (h.vers, h.proc_) {
            (_, 0) => vec![],
            (2, 3) => {
                let mut d = nfsmount::xdr::Decoder::new(args);
                let m = portmap::Mapping::decode(&mut d).unwrap();
                let port = table
                    .iter()
                    .find(|t| t.0 == m.prog && t.1 == m.vers && t.2 == m.prot)
                    .map(|t| t.3)
                    .unwrap_or(0);
                portmap::encode_getport_reply(port)
            }
            (2, 4) => portmap::encode_dump_reply(
                &table
                    .iter()
                    .map(|t| portmap::Mapping {
                        prog: t.0,
                        vers: t.1,
                        prot: t.2,
                        port: u32::from(t.3),
                    })
                    .collect::<Vec<_>>(),
            ),
            (3 | 4, 3) => match &uaddr_answer {
                Some(u) => rpcbind::encode_getaddr_reply(u),
                None => return Action::Reply(reply(h.xid, AcceptStat::ProcUnavail)),
            },
            _ => return Action::Reply(reply(h.xid, AcceptStat::ProcUnavail)),
        };
        Action::Reply(success(h.xid, &body))
    })
}
