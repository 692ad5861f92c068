//! Who may do what through the proxy (docs/rpcproxyd.md, "Security model").
//!
//! * **Only root is served.** Every client's identity is its `SO_PEERCRED`
//!   (uid, gid, pid as of connect(2)), read once at accept. A peer whose uid is
//!   neither 0 nor the daemon's own effective uid is refused before anything it
//!   sent is read ([`peer_allowed`]). The helpers that use the proxy always run
//!   as root (mount(8) runs them so; a setuid helper has euid 0, and
//!   SO_PEERCRED reports effective ids); everyone else makes their own
//!   connections. A daemon run by an ordinary user (tests) serves that user and
//!   root: it holds no privilege they lack.
//!   (Serving other users made the root daemon an egress relay past per-uid
//!   firewall rules, with reserved-port and credential rules to police; that
//!   machinery is gone with them.)
//! * Every call must carry exactly the credential the client bound its connection
//!   to at CONNECT (the AUTH_SYS stamp aside) and the bound program and version,
//!   because the credential is part of the upstream connection key (sharing rule,
//!   seed 002): calls share a connection only when credential and binding agree.
//! * One proxy per network namespace: a peer whose `/proc/<pid>/ns/net` differs
//!   from ours is not served (its calls would leave from our namespace).
//! * The other direction: a client trusts a daemon only if the process that
//!   listens on the socket is root or itself
//!   ([`daemon_trusted`](crate::sys::unixpeer::daemon_trusted)), so a socket
//!   planted by another user never sees a helper's calls.
//!
//! The policy functions are pure; [`peer_of`] and [`same_netns`] read the
//! kernel.
use crate::call::Endpoint;
use crate::proxywire::ConnectReq;
use crate::rpc::auth::{AuthSys, AUTH_SYS};
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
}

impl Peer {
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

/// Is `peer` served by a daemon whose effective uid is `own_uid`? Root always;
/// otherwise only the daemon's own user (an unprivileged daemon).
pub fn peer_allowed(peer: &Peer, own_uid: u32) -> bool {
    peer.uid == 0 || peer.uid == own_uid
}

/// Why the policy refused a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A call's credential, program or version differs from the CONNECT binding.
    Binding,
    /// The call is not a decodable RPC call message.
    NotACall,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
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
/// reserved or not), the peer's uid (0, or an unprivileged daemon's own user)
/// and the credential.
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

/// May this call message go out on the connection bound by `req`?
pub fn check_call(req: &ConnectReq, msg: &[u8]) -> Result<(), Refusal> {
    let (h, _) = decode_call(msg).map_err(|_| Refusal::NotACall)?;
    if h.prog != req.ep.prog || h.vers != req.ep.vers {
        return Err(Refusal::Binding);
    }
    let sent = h.cred.to_opaque().map_err(|_| Refusal::NotACall)?;
    if CredId::of(&sent) != CredId::of(&req.cred) {
        return Err(Refusal::Binding);
    }
    Ok(())
}

/// The peer of a connected unix stream socket (SO_PEERCRED).
pub fn peer_of(s: &impl AsFd) -> nix::Result<Peer> {
    let c = nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::PeerCredentials)?;
    Ok(Peer {
        pid: c.pid(),
        uid: c.uid(),
        gid: c.gid(),
    })
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
    use crate::call::Transport;
    use crate::rpc::msg::{encode_call, CallHeader};
    use crate::rpc::Credential;
    use crate::sys::unixpeer::daemon_trusted;
    use std::time::Duration;

    fn peer(uid: u32, gid: u32) -> Peer {
        Peer { pid: 1, uid, gid }
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
    fn only_root_or_the_daemons_own_user_is_served() {
        // a root daemon: root only
        assert!(peer_allowed(&peer(0, 0), 0));
        for uid in [1, 1000, 65534, u32::MAX] {
            assert!(!peer_allowed(&peer(uid, 0), 0), "uid {uid}");
        }
        // gid 0 is no root
        assert!(!peer_allowed(&peer(1000, 0), 0));
        // an unprivileged daemon (tests): its own user and root
        assert!(peer_allowed(&peer(1000, 1000), 1000));
        assert!(peer_allowed(&peer(0, 0), 1000));
        assert!(!peer_allowed(&peer(1001, 1000), 1000));
    }

    #[test]
    fn calls_must_match_binding_but_stamp_may_differ() {
        let p = peer(0, 0);
        let bound = Credential::Sys(sys(0, 0, vec![0], 1));
        let r = req(true, &bound);
        let later = Credential::Sys(sys(0, 0, vec![0], 777));
        assert!(check_call(&r, &call(&later, 100005)).is_ok());
        assert_eq!(
            check_call(&r, &call(&Credential::Sys(sys(5, 0, vec![0], 1)), 100005)),
            Err(Refusal::Binding)
        );
        assert_eq!(check_call(&r, &call(&bound, 100003)), Err(Refusal::Binding));
        assert_eq!(
            check_call(&r, &call(&Credential::None, 100005)),
            Err(Refusal::Binding)
        );
        assert_eq!(check_call(&r, b"junk"), Err(Refusal::NotACall));
        // keys ignore the stamp but separate owners and credentials
        let k1 = UpKey::new(&r, &p);
        let k2 = UpKey::new(&req(true, &later), &p);
        assert_eq!(k1, k2);
        let k3 = UpKey::new(&req(true, &Credential::None), &p);
        assert_ne!(k1, k3);
        let k4 = UpKey::new(&req(true, &bound), &peer(1000, 0));
        assert_ne!(k1, k4);
        let k5 = UpKey::new(&req(false, &bound), &p);
        assert_ne!(k1, k5, "reserved and unreserved never share");
    }

    #[test]
    fn a_daemon_of_our_own_is_trusted() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert!(daemon_trusted(&a));
        let p = peer_of(&b).unwrap();
        assert_eq!(p.uid, nix::unistd::geteuid().as_raw());
        assert_eq!(p.pid, std::process::id() as i32);
        // not a socket at all: not trusted
        let f = std::fs::File::open("/dev/null").unwrap();
        assert!(!daemon_trusted(&f));
    }

    #[test]
    fn netns_of_self_matches() {
        let ours = netns_id("/proc/self/ns/net");
        assert!(ours.is_some());
        assert!(same_netns(ours, std::process::id() as i32));
        assert!(!same_netns(ours, 0));
    }
}
