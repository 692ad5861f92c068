//! Runs the parser/decision-machine fuzz bodies (fuzz/common/parsers.rs) over their
//! seeds, random bytes and mutated seeds, so the targets compile against the library
//! and hold without cargo-fuzz. The seeds are also the committed seed corpus:
//! `NFSMOUNT_WRITE_FUZZ_CORPUS=fuzz/corpus cargo test --test fuzz_parser_bodies`
//! rewrites fuzz/corpus/<target>/seed-<n> (scripts/fuzz corpus does this).
#[path = "../fuzz/common/parsers.rs"]
mod parsers;

use nfsmount::call::stats::{Counters, EndpointId};
use nfsmount::client::{Endpoint, RetryPolicy, Transport};
use nfsmount::proxywire::{CallReq, ConnectReq, Frame, ProxyStats, WireError};
use nfsmount::rpc::OpaqueAuth;
use std::time::Duration;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut v = seed.to_vec();
        for _ in 0..1 + self.below(4) {
            match self.below(4) {
                0 if !v.is_empty() => {
                    let i = self.below(v.len());
                    v[i] = self.next() as u8;
                }
                1 => {
                    let i = self.below(v.len() + 1);
                    // Structural characters of the text formats reach deep paths.
                    const S: &[u8] = b",=\"'[]:%\\ \n\0#;-$";
                    let c = S[self.below(S.len())];
                    v.insert(
                        i,
                        if self.below(2) == 0 {
                            c
                        } else {
                            self.next() as u8
                        },
                    );
                }
                2 if !v.is_empty() => {
                    let i = self.below(v.len());
                    v.remove(i);
                }
                _ => {
                    if !v.is_empty() {
                        let a = self.below(v.len());
                        let b = a + self.below(v.len() - a).min(16);
                        let dup = v[a..b].to_vec();
                        let i = self.below(v.len() + 1);
                        v.splice(i..i, dup);
                    }
                }
            }
        }
        v
    }
}

fn t(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "options" => vec![
            t("vers=3,proto=tcp,port=2049,mountport=635,soft,timeo=14,retrans=2"),
            t("rw,bg,retry=2,nfsvers=4.1,sec=krb5p,\"context=system_u:object_r:nfs_t\""),
            t("ro,noexec,nosuid,user=alice,_netdev,x-systemd.automount,nofail,rsize=32768"),
            t("mounthost=srv,mountproto=udp6,addr=fe80::1%eth0,clientaddr=::1,lookupcache=pos"),
            t("sloppy,foo=bar,vers=4.2,minorversion=1,udp,tcp,rdma,port=20049"),
        ],
        "conf" => vec![
            t("[ NFSMount_Global_Options ]\nDefaultvers=4\nDefaultproto=tcp\nNfsvers=3\n"),
            t("# comment\n[ Server \"srv\" ]\nrsize=32k\nwsize=1m\ninclude = /etc/inc2\n\0\
               [ MountPoint \"/mnt\" ]\nbg=true\n\0\
               [ environment ]\nV=4\n[ Server \"srv\" ]\nnfsvers=$V\n\u{1}vers=3,soft\u{2}srv"),
            t("[ MountPoint \"/mnt\" ]\ninclude=-missing.conf\ninclude=nfsmount.conf\n\
               retrans=\"3\" ; tail\nsec=sys \\\n  \n\u{1}ro\u{2}[::1]"),
            t("[ NFSMount_Global_Options ]\nDefaultvers=4.2\nretry=2\n\0\0[ Server \"::1\" ]\nport=2050\n"),
        ],
        "spec" => vec![
            t("server:/export/home"),
            t("[fe80::1%eth0]:/srv"),
            t("[::1]:/"),
            t("host1,host2:/x"),
            t("nfs://server/export"),
            t("10.0.0.1:/a:b"),
        ],
        "mountinfo_utab" => vec![
            t("36 35 98:0 / /mnt rw,noatime master:1 - nfs srv:/export rw,vers=3,addr=10.0.0.1\n\
               37 36 0:44 / /mnt/a\\040b rw shared:2 - nfs4 [fe80::1%eth0]:/x rw,vers=4.2\n"),
            t("SRC=srv:/export TARGET=/mnt ROOT=/ ATTRS=addr=10.0.0.1,vers=3 OPTS=_netdev\n\
               SRC=a\\040b:/x TARGET=/m\\011n ROOT=/ OPTS=x-foo,user=bob\n"),
            t("SRC=s:/ TARGET=/m\\134 ID=5 BINDSRC=/x\n41 1 0:1 / / - nfs s:/ \n"),
        ],
        "getopt" => vec![
            t("srv:/x\0/mnt\0-o\0vers=3\0-v\0-f"),
            t("-fnvs\0-orw,soft\0srv:/x\0/mnt\0--\0-o"),
            t("--options=ro\0--ver\0--rw\0srv:/\0/m\0--sloppy"),
            t("-t\0nfs\0-lf\0/mnt\0--help\0--o"),
        ],
        "proxy_frame_roundtrip" => frames(),
        "negotiate" => vec![
            vec![0, 2, 1, 1, 2, 3, 6, 1, 0],
            vec![1, 3, 0, 0, 3, 1, 0, 0, 0, 0, 8, 1, 0, 0, 1, 0, 0, 2, 0x02, 0x7b, 0],
            vec![2, 1, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 9, 9, 9],
            vec![3, 2, 7, 12, 11, 7, 6, 0],
            vec![0, 0, 1, 6, 2, 1, 6],
        ],
        _ => unreachable!("{target}"),
    }
}

/// Real encodings of every frame type (bodies, without the length prefix).
fn frames() -> Vec<Vec<u8>> {
    let ep = Endpoint::new("127.0.0.1:2049".parse().unwrap(), 100003, 3, Transport::Tcp);
    let ep6 = Endpoint::new("[::1]:635".parse().unwrap(), 100005, 3, Transport::Udp);
    let fr = [
        Frame::Connect(ConnectReq {
            ep: ep.privileged(true),
            connect_timeout: Duration::from_secs(10),
            cred: OpaqueAuth::none(),
        }),
        Frame::Call(CallReq {
            timeout: Duration::from_secs(3),
            retry: RetryPolicy {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(1),
                retries: Some(2),
            },
            idempotent: true,
            fresh: false,
            cache_aware: true,
            msg: vec![0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2],
        }),
        Frame::Stats,
        Frame::Connected(WireError::ok()),
        Frame::Reply(vec![0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0]),
        Frame::CallError {
            xid: 7,
            err: WireError::new(2, nfsmount::error::Errno::ETIMEDOUT),
        },
        Frame::StatsReply(ProxyStats {
            clients: 1,
            upstreams: 2,
            total: Counters::default(),
            per_endpoint: vec![(EndpointId::from(&ep6), Counters::default())],
            guards: Default::default(),
        }),
    ];
    fr.iter().map(|f| f.encode()[4..].to_vec()).collect()
}

const TARGETS: &[&str] = &[
    "options",
    "conf",
    "spec",
    "mountinfo_utab",
    "getopt",
    "proxy_frame_roundtrip",
    "negotiate",
];

fn body(target: &str) -> fn(&[u8]) {
    match target {
        "options" => parsers::options,
        "conf" => parsers::conf,
        "spec" => parsers::spec,
        "mountinfo_utab" => parsers::mountinfo_utab,
        "getopt" => parsers::getopt,
        "proxy_frame_roundtrip" => parsers::proxy_frame_roundtrip,
        "negotiate" => parsers::negotiate,
        _ => unreachable!(),
    }
}

fn run(target: &str) {
    let f = body(target);
    let seeds = seeds(target);
    if let Some(dir) = std::env::var_os("NFSMOUNT_WRITE_FUZZ_CORPUS") {
        let d = std::path::Path::new(&dir).join(target);
        std::fs::create_dir_all(&d).unwrap();
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(d.join(format!("seed-{i}")), s).unwrap();
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    for s in &seeds {
        f(s);
    }
    for _ in 0..300 {
        f(&rng.bytes(256));
    }
    for _ in 0..1500 {
        let s = &seeds[rng.below(seeds.len())];
        let mut m = rng.mutate(s);
        for _ in 0..rng.below(3) {
            m = rng.mutate(&m);
        }
        f(&m);
    }
}

#[test]
fn options() {
    run("options");
}
#[test]
fn conf() {
    run("conf");
}
#[test]
fn spec() {
    run("spec");
}
#[test]
fn mountinfo_utab() {
    run("mountinfo_utab");
}
#[test]
fn getopt() {
    run("getopt");
}
#[test]
fn proxy_frame_roundtrip() {
    run("proxy_frame_roundtrip");
}
#[test]
fn negotiate() {
    run("negotiate");
}

/// rpcproxyd's stream decoder target (`proxy_frame`, body in src/proxywire.rs):
/// its input is a chunk-size byte, then framed bytes.
#[test]
fn proxy_frame_stream() {
    let mut stream = vec![3u8];
    for f in frames() {
        stream.extend_from_slice(&(f.len() as u32).to_be_bytes());
        stream.extend_from_slice(&f);
    }
    let seeds = vec![stream.clone(), [&[200u8][..], &stream[1..]].concat()];
    if let Some(dir) = std::env::var_os("NFSMOUNT_WRITE_FUZZ_CORPUS") {
        let d = std::path::Path::new(&dir).join("proxy_frame");
        std::fs::create_dir_all(&d).unwrap();
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(d.join(format!("seed-{i}")), s).unwrap();
        }
    }
    for s in &seeds {
        nfsmount::proxywire::fuzz_body(s);
    }
}

/// Past findings are committed as fuzz/corpus/<target>/regress-*; each still runs
/// through its body here, without cargo-fuzz (and the count is checked, so a
/// corpus directory that vanished cannot pass quietly).
#[test]
fn committed_regression_inputs_still_hold() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut ran = 0;
    for t in TARGETS {
        for e in std::fs::read_dir(root.join(t)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("regress-") {
                body(t)(&std::fs::read(&p).unwrap());
                ran += 1;
            }
        }
    }
    assert!(ran >= 3, "regress-* inputs found: {ran}");
}

/// Every target in this file has a seed corpus and a cargo-fuzz binary.
#[test]
fn every_target_is_wired() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for t in TARGETS {
        assert!(
            root.join("fuzz_targets").join(format!("{t}.rs")).exists(),
            "fuzz/fuzz_targets/{t}.rs"
        );
        assert!(
            manifest.contains(&format!("name = \"{t}\"")),
            "{t} in fuzz/Cargo.toml"
        );
        assert!(root.join("corpus").join(t).is_dir(), "fuzz/corpus/{t}");
    }
}
