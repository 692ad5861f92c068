//! Who may do what through the proxy.
//!
//! * Every client's identity is its `SO_PEERCRED` (uid, gid, pid at connect time)
//!   plus the supplementary groups of that pid, read once at accept.
//! * Only uid 0 gets reserved-port (privileged) upstream connections: a server
//!   trusts AUTH_SYS identities arriving from a reserved port (nfs(5)), so a
//!   reserved-port proxy open to anyone would let any user speak as root.
//! * A non-root peer may send AUTH_NONE, or AUTH_SYS whose uid and gid equal its
//!   own and whose supplementary gids are groups it has (the keyserv rule); no other
//!   flavour. Root may send anything.
//! * Every call must carry exactly the credential the client bound its connection
//!   to at CONNECT (the AUTH_SYS stamp aside) and the bound program and version,
//!   because the credential is part of the upstream connection key (sharing rule,
//!   seed 002).
//! * One proxy per network namespace: a peer whose `/proc/<pid>/ns/net` differs
//!   from ours is not served (its calls would leave from our namespace).
//!
//! The policy functions are pure; [`peer_of`] and [`same_netns`] read the kernel.
use super::frame::ConnectReq;
use crate::client::Endpoint;
use crate::rpc::auth::{AuthSys, AUTH_NONE, AUTH_SYS};
use crate::rpc::msg::decode_call;
use crate::rpc::OpaqueAuth;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;

/// A connected local client as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (from /proc/<pid>/status); `None` if unreadable.
    pub groups: Option<Vec<u32>>,
}

impl Peer {
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// Why the policy refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A non-root peer asked for a reserved source port.
    Privileged,
    /// The credential does not match the peer (or the flavour is not allowed).
    Credential,
    /// A call's credential, program or version differs from the CONNECT binding.
    Binding,
    /// The call is not a decodable RPC call message.
    NotACall,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::Privileged => "reserved port requested by non-root peer",
            Refusal::Credential => "credential does not match peer",
            Refusal::Binding => "call does not match the connection's binding",
            Refusal::NotACall => "not an RPC call",
        })
    }
}

/// The identity part of a credential: AUTH_SYS without its stamp; other flavours
/// as sent. Two calls with equal identities may share a connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CredId {
    pub flavor: u32,
    pub body: Vec<u8>,
}

impl CredId {
    pub fn of(c: &OpaqueAuth) -> CredId {
        if c.flavor == AUTH_SYS {
            if let Ok(mut s) = AuthSys::decode_body(&c.body) {
                s.stamp = 0;
                if let Ok(body) = s.encode_body() {
                    return CredId {
                        flavor: AUTH_SYS,
                        body,
                    };
                }
            }
        }
        CredId {
            flavor: c.flavor,
            body: c.body.clone(),
        }
    }
}

/// The upstream connection key: endpoint (address, program, version, transport,
/// reserved or not), the peer class (0 for root, else the uid) and the credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpKey {
    pub ep: Endpoint,
    pub owner: u32,
    pub cred: CredId,
}

impl UpKey {
    pub fn new(req: &ConnectReq, peer: &Peer) -> UpKey {
        UpKey {
            ep: req.ep,
            owner: peer.uid,
            cred: CredId::of(&req.cred),
        }
    }
}

/// May `peer` send calls with this credential?
pub fn check_cred(peer: &Peer, cred: &OpaqueAuth) -> Result<(), Refusal> {
    if peer.is_root() {
        return Ok(());
    }
    match cred.flavor {
        AUTH_NONE if cred.body.is_empty() => Ok(()),
        AUTH_SYS => {
            let s = AuthSys::decode_body(&cred.body).map_err(|_| Refusal::Credential)?;
            if s.uid != peer.uid || s.gid != peer.gid {
                return Err(Refusal::Credential);
            }
            let groups = peer.groups.as_deref().unwrap_or(&[]);
            if s.gids.iter().all(|g| *g == peer.gid || groups.contains(g)) {
                Ok(())
            } else {
                Err(Refusal::Credential)
            }
        }
        _ => Err(Refusal::Credential),
    }
}

/// May `peer` bind a connection to this endpoint and credential?
pub fn check_connect(peer: &Peer, req: &ConnectReq) -> Result<(), Refusal> {
    if req.ep.privileged && !peer.is_root() {
        return Err(Refusal::Privileged);
    }
    check_cred(peer, &req.cred)
}

/// May this call message go out on the connection bound by `req`?
pub fn check_call(peer: &Peer, req: &ConnectReq, msg: &[u8]) -> Result<(), Refusal> {
    let (h, _) = decode_call(msg).map_err(|_| Refusal::NotACall)?;
    if h.prog != req.ep.prog || h.vers != req.ep.vers {
        return Err(Refusal::Binding);
    }
    let sent = h.cred.to_opaque().map_err(|_| Refusal::NotACall)?;
    if CredId::of(&sent) != CredId::of(&req.cred) {
        return Err(Refusal::Binding);
    }
    // The binding was checked at CONNECT; re-check anyway (defence in depth).
    check_cred(peer, &sent)
}

/// The peer of a connected unix stream socket (SO_PEERCRED + its groups).
pub fn peer_of(s: &impl AsFd) -> nix::Result<Peer> {
    let c = nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::PeerCredentials)?;
    Ok(Peer {
        pid: c.pid(),
        uid: c.uid(),
        gid: c.gid(),
        groups: read_groups(c.pid()),
    })
}

fn read_groups(pid: i32) -> Option<Vec<u32>> {
    let t = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = t.lines().find(|l| l.starts_with("Groups:"))?;
    Some(
        line["Groups:".len()..]
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect(),
    )
}

/// (device, inode) of a network namespace link.
pub fn netns_id(path: &str) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// True if process `pid` is in the network namespace `ours`. A pid we cannot
/// inspect (gone, pid 0 from another pid namespace) counts as foreign.
pub fn same_netns(ours: Option<(u64, u64)>, pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match (ours, netns_id(&format!("/proc/{pid}/ns/net"))) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Transport;
    use crate::rpc::msg::{encode_call, CallHeader};
    use crate::rpc::Credential;
    use std::time::Duration;

    fn peer(uid: u32, gid: u32) -> Peer {
        Peer {
            pid: 1,
            uid,
            gid,
            groups: Some(vec![gid, 50]),
        }
    }
    fn sys(uid: u32, gid: u32, gids: Vec<u32>, stamp: u32) -> AuthSys {
        AuthSys {
            stamp,
            machine: "h".into(),
            uid,
            gid,
            gids,
        }
    }
    fn req(privileged: bool, cred: &Credential) -> ConnectReq {
        ConnectReq {
            ep: Endpoint::new("127.0.0.1:635".parse().unwrap(), 100005, 3, Transport::Tcp)
                .privileged(privileged),
            connect_timeout: Duration::from_secs(1),
            cred: cred.to_opaque().unwrap(),
        }
    }
    fn call(cred: &Credential, prog: u32) -> Vec<u8> {
        encode_call(
            &CallHeader {
                xid: 9,
                prog,
                vers: 3,
                proc_: 1,
                cred: cred.clone(),
                verf: OpaqueAuth::none(),
            },
            &[],
        )
        .unwrap()
    }

    #[test]
    fn privileged_only_for_root() {
        assert_eq!(
            check_connect(&peer(1000, 1000), &req(true, &Credential::None)),
            Err(Refusal::Privileged)
        );
        assert!(check_connect(&peer(0, 0), &req(true, &Credential::None)).is_ok());
        assert!(check_connect(&peer(1000, 1000), &req(false, &Credential::None)).is_ok());
    }

    #[test]
    fn auth_sys_must_match_non_root_peer() {
        let p = peer(1000, 100);
        let ok = Credential::Sys(sys(1000, 100, vec![100, 50], 1));
        assert!(check_connect(&p, &req(false, &ok)).is_ok());
        for bad in [
            sys(0, 100, vec![], 1),
            sys(1000, 0, vec![], 1),
            sys(1000, 100, vec![0], 1),
        ] {
            assert_eq!(
                check_connect(&p, &req(false, &Credential::Sys(bad))),
                Err(Refusal::Credential)
            );
        }
        let gss = Credential::Other(OpaqueAuth {
            flavor: 6,
            body: vec![1, 2, 3, 4],
        });
        assert_eq!(
            check_connect(&p, &req(false, &gss)),
            Err(Refusal::Credential)
        );
        // root may send anything
        assert!(check_connect(
            &peer(0, 0),
            &req(true, &Credential::Sys(sys(5, 5, vec![], 1)))
        )
        .is_ok());
    }

    #[test]
    fn calls_must_match_binding_but_stamp_may_differ() {
        let p = peer(0, 0);
        let bound = Credential::Sys(sys(0, 0, vec![0], 1));
        let r = req(true, &bound);
        let later = Credential::Sys(sys(0, 0, vec![0], 777));
        assert!(check_call(&p, &r, &call(&later, 100005)).is_ok());
        assert_eq!(
            check_call(
                &p,
                &r,
                &call(&Credential::Sys(sys(5, 0, vec![0], 1)), 100005)
            ),
            Err(Refusal::Binding)
        );
        assert_eq!(
            check_call(&p, &r, &call(&bound, 100003)),
            Err(Refusal::Binding)
        );
        assert_eq!(check_call(&p, &r, b"junk"), Err(Refusal::NotACall));
        // keys ignore the stamp but separate owners and credentials
        let k1 = UpKey::new(&r, &p);
        let k2 = UpKey::new(&req(true, &later), &p);
        assert_eq!(k1, k2);
        let k3 = UpKey::new(&req(true, &Credential::None), &p);
        assert_ne!(k1, k3);
        let k4 = UpKey::new(&req(true, &bound), &peer(1000, 0));
        assert_ne!(k1, k4);
    }

    #[test]
    fn netns_of_self_matches() {
        let ours = netns_id("/proc/self/ns/net");
        assert!(ours.is_some());
        assert!(same_netns(ours, std::process::id() as i32));
        assert!(!same_netns(ours, 0));
    }
}
