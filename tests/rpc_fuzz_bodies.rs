//! Runs every fuzz target body (fuzz/common/bodies.rs) over random and mutated
//! inputs, so the targets compile against the library and hold without cargo-fuzz.
#[path = "../fuzz/common/bodies.rs"]
mod bodies;

use nfsmount::proto::{mount, portmap, rpcbind};
use nfsmount::rpc::auth::{AuthSys, Credential, OpaqueAuth};
use nfsmount::rpc::msg::{encode_call, CallHeader};
use nfsmount::rpc::record::encode_record;
use nfsmount::rpc::{AcceptStat, Reply, ReplyBody};

/// xorshift64*: deterministic, no dependency.
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
    /// A copy of `seed` with a few bytes changed, inserted or removed.
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
                    v.insert(i, self.next() as u8);
                }
                2 if !v.is_empty() => {
                    let i = self.below(v.len());
                    v.remove(i);
                }
                _ => {
                    // Small integers in length fields are what reach deep paths.
                    if v.len() >= 4 {
                        let i = self.below(v.len() - 3) & !3;
                        let x = (self.below(70) as u32).to_be_bytes();
                        v[i..i + 4].copy_from_slice(&x);
                    }
                }
            }
        }
        v
    }
}

fn seeds() -> Vec<Vec<u8>> {
    let call = encode_call(
        &CallHeader {
            xid: 5,
            prog: 100_005,
            vers: 3,
            proc_: 1,
            cred: Credential::Sys(AuthSys {
                stamp: 1,
                machine: "host".into(),
                uid: 0,
                gid: 0,
                gids: vec![0, 1],
            }),
            verf: OpaqueAuth::none(),
        },
        &mount::encode_dirpath("/export").unwrap(),
    )
    .unwrap();
    let reply = Reply {
        xid: 5,
        body: ReplyBody::Accepted {
            verf: OpaqueAuth::none(),
            stat: AcceptStat::Success(vec![0, 0, 8, 1]),
        },
    }
    .encode()
    .unwrap();
    vec![
        call.clone(),
        reply.clone(),
        encode_record(&call, 16),
        [vec![3], encode_record(&reply, 8), encode_record(&call, 100)].concat(),
        portmap::encode_dump_reply(&[portmap::Mapping {
            prog: 100_000,
            vers: 2,
            prot: 6,
            port: 111,
        }]),
        rpcbind::Rpcb {
            prog: 100_003,
            vers: 3,
            netid: "tcp6".into(),
            addr: "::1.0.111".into(),
            owner: String::new(),
        }
        .encode(),
        rpcbind::encode_getaddr_reply("127.0.0.1.8.1"),
        mount::MntRes3::Ok {
            fhandle: vec![1; 20],
            auth_flavors: vec![1, 390003],
        }
        .encode()
        .unwrap(),
        mount::encode_export_reply(&[mount::ExportEntry {
            dir: "/srv".into(),
            groups: vec!["*".into(), "10.0.0.0/8".into()],
        }]),
        b"fe80::1.8.1".to_vec(),
        b"10.1.2.3.78.80".to_vec(),
    ]
}

fn run(name: &str, body: fn(&[u8])) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    let seeds = seeds();
    // `NFSMOUNT_WRITE_FUZZ_CORPUS=fuzz/corpus` rewrites the committed seed corpus
    // (scripts/fuzz corpus).
    if let Some(dir) = std::env::var_os("NFSMOUNT_WRITE_FUZZ_CORPUS") {
        let d = std::path::Path::new(&dir).join(name);
        std::fs::create_dir_all(&d).unwrap();
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(d.join(format!("seed-{i}")), s).unwrap();
        }
    }
    for s in &seeds {
        body(s);
    }
    for _ in 0..300 {
        body(&rng.bytes(256));
    }
    for _ in 0..600 {
        let s = &seeds[rng.below(seeds.len())];
        body(&rng.mutate(s));
    }
}

#[test]
fn reply_decode() {
    run("reply_decode", bodies::reply_decode);
}
#[test]
fn call_decode() {
    run("call_decode", bodies::call_decode);
}
#[test]
fn record_reassembly() {
    run("record_reassembly", bodies::record_reassembly);
}
#[test]
fn proto_portmap() {
    run("proto_portmap", bodies::proto_portmap);
}
#[test]
fn proto_rpcbind() {
    run("proto_rpcbind", bodies::proto_rpcbind);
}
#[test]
fn proto_mount() {
    run("proto_mount", bodies::proto_mount);
}
#[test]
fn uaddr_parse() {
    run("uaddr_parse", bodies::uaddr_parse);
}
