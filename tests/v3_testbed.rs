//! The NFSv3 path, negotiation and UMNT against the REAL test bed (Debian's rpcbind,
//! rpc.statd and nfs-ganesha in a network namespace; see scripts/testbed).
//!
//! Run inside the namespace: `scripts/testbed up` then
//! `ip netns exec nfstb cargo test --test v3_testbed -- --ignored --test-threads=1`
//! (scripts/test-all does this). mount(2) goes through the NFSMOUNT_SYSCALL_LOG seam
//! because the host kernel has no NFS client; the VM suite covers real mounts.

mod helper;
mod proxy_support;

use helper::Env;
use predicates::prelude::*;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tests that change the test bed (stop daemons, firewall rules) run one at a time.
static BED: Mutex<()> = Mutex::new(());

fn tb(key: &str) -> String {
    std::env::var(key)
        .unwrap_or_else(|_| panic!("{key} not set: run inside scripts/testbed (see module docs)"))
}

fn export() -> String {
    tb("TESTBED_EXPORT")
}

fn ctl(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/testbed");
    let st = Command::new(script)
        .arg("ctl")
        .args(["--name", &tb("TESTBED_NS")])
        .args(args)
        .status()
        .expect("run scripts/testbed");
    assert!(st.success(), "testbed ctl {args:?} failed");
}

/// Restores the test bed even when a test fails.
struct Restore(Vec<Vec<&'static str>>);
impl Drop for Restore {
    fn drop(&mut self) {
        for a in &self.0 {
            ctl(a);
        }
    }
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    BED.lock().unwrap_or_else(|e| e.into_inner())
}

fn spec4() -> String {
    format!("127.0.0.1:{}", export())
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn v3_default_tcp_string_matches_nfs_utils() {
    let _g = lock();
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock"])
        .assert()
        .code(0)
        .stderr("");
    assert_eq!(
        e.mount_data(),
        ["nolock,addr=127.0.0.1,vers=3,proto=tcp,mountvers=3,mountproto=udp,mountport=20048"]
    );
    // utab keeps the user's options plus addr, so umount renegotiates.
    assert!(
        e.utab()[0].ends_with("ATTRS=vers=3,nolock,addr=127.0.0.1"),
        "{:?}",
        e.utab()
    );
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn v3_udp_and_ipv6() {
    let _g = lock();
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock,proto=udp"])
        .assert()
        .code(0);
    assert_eq!(
        e.mount_data(),
        ["nolock,addr=127.0.0.1,vers=3,proto=udp,mountvers=3,mountproto=udp,mountport=20048"]
    );
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([
            &format!("[::1]:{}", export()),
            &e.mnt(),
            "-o",
            "nolock,vers=3",
        ])
        .assert()
        .code(0);
    assert_eq!(
        e.mount_data(),
        ["nolock,addr=::1,vers=3,proto=tcp6,mountvers=3,mountproto=udp6,mountport=20048"]
    );
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn fully_pinned_needs_no_rpcbind() {
    let _g = lock();
    ctl(&["stop", "rpcbind"]);
    let _r = Restore(vec![vec!["start", "rpcbind"], vec!["restart", "ganesha"]]);
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([
            &spec4(),
            &e.mnt(),
            "-o",
            "nolock,vers=3,proto=tcp,port=2049,mountport=20048,mountproto=udp",
        ])
        .assert()
        .code(0);
    assert_eq!(
        e.mount_data(),
        ["nolock,addr=127.0.0.1,vers=3,proto=tcp,port=2049,mountvers=3,mountproto=udp,mountport=20048"]
    );
    // Without the pins the same mount needs rpcbind and fails fast (refused).
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-o", "nolock,vers=3,retry=0"])
        .assert()
        .code(32)
        .stderr(predicate::str::is_match(
            "^mount.nfs: Connection refused\nmount.nfs: rpcbind query to 127.0.0.1 over (TCP|UDP) failed: (cannot connect|receive failed) \\(Connection refused\\); server 127.0.0.1: nothing listens there",
        ).unwrap());
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn not_exported_reports_server_status_and_export_list() {
    let _g = lock();
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args(["127.0.0.1:/not/exported", &e.mnt(), "-o", "vers=3,nolock"])
        .assert()
        .code(32)
        .stderr(predicate::str::is_match(format!(
            "^mount.nfs: (access denied by server while mounting|mounting) 127.0.0.1:/not/exported.*\nmount.nfs: mountd on 127.0.0.1 refused '/not/exported': MNT3ERR_[A-Z]+ \\([^)]*\\); it exports: {}",
            regex_escape(&export())
        )).unwrap());
    assert!(
        e.syscalls().is_empty(),
        "mount(2) must not be called after mountd refused"
    );
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '/' || c == '-' || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn mountd_only_over_tcp() {
    let _g = lock();
    ctl(&["mountd-tcp-only"]);
    let _r = Restore(vec![vec!["mountd-udp-restore"]]);
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock"])
        .assert()
        .code(0);
    assert_eq!(
        e.mount_data(),
        ["nolock,addr=127.0.0.1,vers=3,proto=tcp,mountvers=3,mountproto=tcp,mountport=20048"]
    );
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn nfs_tcp_refused_fails_like_nfs_utils_unless_udp_is_asked_for() {
    let _g = lock();
    ctl(&["reject", "tcp", "2049"]);
    let _r = Restore(vec![vec!["unreject", "tcp", "2049"]]);
    let e = Env::new();
    // No proto=: the TCP NULL ping's connect is refused; nfs-utils stops there
    // (no silent switch to UDP, which most kernels no longer support for NFS).
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock,retry=0"])
        .assert()
        .code(32)
        .stderr(predicate::str::starts_with(
            "mount.nfs: Connection refused\n",
        ));
    assert!(e.mount_data().is_empty(), "{:?}", e.mount_data());
    // Asking for UDP explicitly works.
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock,proto=udp"])
        .assert()
        .code(0);
    assert_eq!(
        e.mount_data(),
        ["nolock,addr=127.0.0.1,vers=3,proto=udp,mountvers=3,mountproto=udp,mountport=20048"]
    );
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn black_holed_server_fails_clearly_and_bounded() {
    let _g = lock();
    ctl(&["block", "tcp", "111"]);
    ctl(&["block", "udp", "111"]);
    let _r = Restore(vec![
        vec!["unblock", "tcp", "111"],
        vec!["unblock", "udp", "111"],
    ]);
    let e = Env::new();
    let t = Instant::now();
    e.cmd("mount.nfs", "")
        .env_remove("NFSMOUNT_TIME_SCALE")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock,retry=0"])
        .timeout(Duration::from_secs(60))
        .assert()
        .code(32)
        .stderr(predicate::str::is_match(
            "^mount.nfs: Connection timed out\nmount.nfs: rpcbind query to 127.0.0.1 over UDP failed: timed out; server 127.0.0.1: no answer in time",
        ).unwrap());
    let took = t.elapsed();
    println!(
        "black-holed v3 mount, retry=0: failed after {:.1} s (nfs-utils 2.6.2: 13 s)",
        took.as_secs_f64()
    );
    assert!(took <= Duration::from_secs(14), "took {took:?}");
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn v4_refused_then_v3_negotiated() {
    let _g = lock();
    // The kernel's v4 mount is refused; ganesha answers the NFSv4 NULL ping on
    // TCP 2049, so nfs-utils' rule retries v4 once (refused again -> report).
    let e = Env::new();
    e.cmd("mount.nfs", "ECONNREFUSED,ECONNREFUSED")
        .args([&spec4(), &e.mnt(), "-o", "nolock,retry=0"])
        .assert()
        .code(32)
        .stderr(predicate::str::starts_with(
            "mount.nfs: Connection refused\n",
        ));
    assert_eq!(
        e.mount_data(),
        ["nolock,retry=0,vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1"; 2]
    );
    // With NFS over TCP rejected, the v3 probe's TCP ping is refused as well:
    // nfs-utils does not switch to UDP there, the mount fails with the v4 errno
    // (its fg loop may then try v4 again; ours makes exactly one attempt with
    // retry=0, docs/differences.md #7).
    ctl(&["reject", "tcp", "2049"]);
    let _r = Restore(vec![vec!["unreject", "tcp", "2049"]]);
    let e = Env::new();
    e.cmd("mount.nfs", "ECONNREFUSED")
        .args([&spec4(), &e.mnt(), "-o", "nolock,retry=0"])
        .assert()
        .code(32)
        .stderr(predicate::str::starts_with(
            "mount.nfs: Connection refused\n",
        ));
    assert_eq!(
        e.mount_data(),
        ["nolock,retry=0,vers=4.2,addr=127.0.0.1,clientaddr=127.0.0.1"]
    );
    assert!(e.utab().is_empty(), "{:?}", e.utab());
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn v4_protocol_errors_fall_back_to_v3() {
    let _g = lock();
    let e = Env::new();
    e.cmd(
        "mount.nfs",
        "EPROTONOSUPPORT,EPROTONOSUPPORT,EPROTONOSUPPORT",
    )
    .args([&spec4(), &e.mnt(), "-o", "nolock"])
    .assert()
    .code(0);
    let d = e.mount_data();
    assert_eq!(d.len(), 4);
    assert_eq!(
        d[3],
        "nolock,addr=127.0.0.1,vers=3,proto=tcp,mountvers=3,mountproto=udp,mountport=20048"
    );
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn bg_mount_completes_when_the_server_comes_back() {
    let _g = lock();
    // The whole server is down (connection refused: a temporary error).
    ctl(&["stop", "ganesha"]);
    ctl(&["stop", "rpcbind"]);
    let _r = Restore(vec![vec!["start", "rpcbind"], vec!["start", "ganesha"]]);
    let e = Env::new();
    let sock_path = e.path("syslog.sock");
    let syslog = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    syslog
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    e.cmd("mount.nfs", "")
        .env("NFSMOUNT_SYSLOG_SOCKET", &sock_path)
        .env("NFSMOUNT_TIME_SCALE", "10")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock,bg"])
        .assert()
        .code(0)
        .stdout(format!(
            "mount.nfs: backgrounding \"{}\"\nmount.nfs: mount options: \"vers=3,nolock,bg\"\n",
            spec4()
        ));
    assert!(e.syscalls().is_empty());
    std::thread::sleep(Duration::from_secs(20));
    ctl(&["start", "rpcbind"]);
    ctl(&["start", "ganesha"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while e.syscalls().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let d = e.mount_data();
    assert_eq!(
        d,
        ["nolock,bg,addr=127.0.0.1,vers=3,proto=tcp,mountvers=3,mountproto=udp,mountport=20048"]
    );
    let mut lines = vec![];
    let mut buf = [0u8; 2048];
    while let Ok(n) = syslog.recv(&mut buf) {
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        lines.iter().any(|l| l.contains(" mount[")
            && l.contains("mount to NFS server '127.0.0.1' failed: ")
            && l.ends_with(", retrying")),
        "{lines:?}"
    );
    // Utab is written by the background child.
    let deadline = Instant::now() + Duration::from_secs(5);
    while e.utab().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(e.utab().len(), 1);
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn umount_sends_umnt_from_a_reserved_port() {
    let _g = lock();
    let e = Env::new();
    let mi = e.path("mountinfo");
    std::fs::write(
        &mi,
        format!(
            "100 22 0:51 / /mnt/x rw,relatime - nfs {} rw,vers=3,proto=tcp,mountaddr=127.0.0.1,mountvers=3,mountport=20048,mountproto=udp,addr=127.0.0.1\n",
            spec4()
        ),
    )
    .unwrap();
    e.cmd("umount.nfs", "")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .args(["-v", "/mnt/x"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(format!(
            "umount.nfs: UMNT of {} sent to mountd",
            spec4()
        )));
    // An unreachable mountd never changes the exit status.
    std::fs::write(&mi, format!("100 22 0:51 / /mnt/x rw - nfs {} rw,vers=3,mountaddr=127.0.0.1,mountvers=3,mountport=1,mountproto=udp,addr=127.0.0.1\n", spec4())).unwrap();
    e.cmd("umount.nfs", "")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .args(["-v", "/mnt/x"])
        .timeout(Duration::from_secs(20))
        .assert()
        .code(0)
        .stderr(predicate::str::contains("UMNT call failed"));
    // Never for nfs4, never with -l.
    std::fs::write(
        &mi,
        format!(
            "100 22 0:51 / /mnt/x rw - nfs4 {} rw,vers=4.2,addr=127.0.0.1\n",
            spec4()
        ),
    )
    .unwrap();
    e.cmd("umount.nfs4", "")
        .env("NFSMOUNT_MOUNTINFO", &mi)
        .args(["-v", "/mnt/x"])
        .assert()
        .code(0)
        .stderr("");
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn stormsafe_hands_the_kernel_our_file_handle() {
    let _g = lock();
    let e = Env::new();
    e.write_conf("[ NFSMount_Global_Options ]\nStormsafe=True\n");
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock,soft"])
        .assert()
        .code(0)
        .stderr("");
    let l = e.syscalls();
    assert_eq!(l.len(), 1);
    assert!(
        l[0].contains(" type=nfs flags=0x0 binary=688 bytes [nfs_mount_data v6 addr=127.0.0.1:2049 proto=tcp flags=0x2c1 fh="),
        "{l:?}"
    );
    // What the format cannot carry is refused clearly, before mount(2).
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock,stormsafe,nconnect=4"])
        .assert()
        .code(32)
        .stderr(predicate::str::starts_with(
            "mount.nfs: the stormsafe binary mount cannot carry option(s) nconnect; drop them or drop stormsafe\n",
        ));
    assert!(e.syscalls().is_empty());
    // IPv6 servers cannot use it.
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([
            &format!("[::1]:{}", export()),
            &e.mnt(),
            "-o",
            "vers=3,nolock,stormsafe",
        ])
        .assert()
        .code(32)
        .stderr(predicate::str::contains("only NFSv3 over IPv4"));
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn program_not_registered_names_the_step() {
    let _g = lock();
    ctl(&["stop", "ganesha"]);
    let _r = Restore(vec![vec!["start", "ganesha"]]);
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock,retry=0"])
        .assert()
        .code(32)
        .stderr(predicate::str::is_match(
            "^mount.nfs: requested NFS version or transport protocol is not supported\nmount.nfs: rpcbind query to 127.0.0.1 over (TCP|UDP) failed: Program not registered; server 127.0.0.1: the server does not offer this NFS version/transport",
        ).unwrap());
    assert!(e.syscalls().is_empty());
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn our_mnt_avoids_reserved_tcp_ports_under_proto_tcp() {
    let _g = lock();
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-v", "-o", "vers=3,nolock,proto=tcp"])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(format!(
            "MOUNT v3 MNT '{}' to 127.0.0.1 UDP port 20048 -> MNT3_OK",
            export()
        )));
    // The kernel still gets the TCP transport it was asked for.
    assert_eq!(
        e.mount_data(),
        ["nolock,addr=127.0.0.1,vers=3,proto=tcp,mountvers=3,mountproto=tcp,mountport=20048"]
    );
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn kernel_without_nfs_over_udp_is_named() {
    let _g = lock();
    let e = Env::new();
    // What a kernel built with CONFIG_NFS_DISABLE_UDP_SUPPORT answers to proto=udp.
    e.cmd("mount.nfs", "EINVAL")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock,proto=udp,retry=0"])
        .assert()
        .code(32)
        .stderr(predicate::str::is_match(
            "^mount.nfs: an incorrect mount option was specified\nmount.nfs: the kernel's NFSv3 mount of 127.0.0.1 failed: Invalid argument \\(over UDP: this kernel may be built without NFS over UDP",
        ).unwrap());
    // Over TCP the same errno gets no UDP note.
    e.cmd("mount.nfs", "EINVAL")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,nolock,proto=tcp,retry=0"])
        .assert()
        .code(32)
        .stderr(predicate::str::contains("over UDP").not());
}

/// Leaves `n` local TCP sockets on free reserved ports (600..1023) in TIME_WAIT in this
/// namespace: connect from the port to a local listener and close first.
fn reserved_time_wait(n: u16) -> usize {
    use std::net::{SocketAddr, TcpListener};
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = l.local_addr().unwrap();
    let mut made = 0;
    for port in 600..1024u16 {
        if made >= usize::from(n) {
            break;
        }
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let from: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        if s.bind(&from.into()).is_err() || s.connect(&to.into()).is_err() {
            continue;
        }
        let (peer, _) = l.accept().unwrap();
        drop(s); // we close first: our side goes to TIME_WAIT
        std::thread::sleep(Duration::from_millis(1));
        drop(peer);
        made += 1;
    }
    std::thread::sleep(Duration::from_millis(100));
    made
}

/// Destroys the TIME_WAIT sockets made by [`reserved_time_wait`] (`ss -K`),
/// so the tests after this one see no pressure.
struct DropTimeWait;
impl Drop for DropTimeWait {
    fn drop(&mut self) {
        let _ = Command::new("ss")
            .args([
                "-K",
                "-tan",
                "state",
                "time-wait",
                "( sport >= :600 and sport <= :1023 )",
            ])
            .output();
    }
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns) and root"]
fn reserved_port_pressure_takes_the_stormsafe_path_unless_nostormsafe() {
    let _g = lock();
    let _clean = DropTimeWait;
    // no pressure: text mode
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-o", "vers=3,proto=tcp,nolock"])
        .assert()
        .code(0);
    assert!(e.syscalls()[0].contains(" data="), "{:?}", e.syscalls());
    let tw = nfsmount::sys::portpool::reserved_time_wait_count().unwrap();
    let want = nfsmount::negotiate::pressure::TIME_WAIT_THRESHOLD;
    if tw < want {
        let made = reserved_time_wait((want - tw + 5) as u16);
        assert!(
            made + tw >= want,
            "could only make {made} TIME_WAIT sockets"
        );
    }
    // pressure: binary mount data, and -v says why
    let e = Env::new();
    let out = e
        .cmd("mount.nfs", "")
        .args([&spec4(), &e.mnt(), "-v", "-o", "vers=3,proto=tcp,nolock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let l = e.syscalls();
    assert!(
        l[0].contains(" binary=688 bytes [nfs_mount_data v6"),
        "{l:?}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("using the stormsafe path by itself"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // nostormsafe: text mode in spite of the pressure
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([
            &spec4(),
            &e.mnt(),
            "-o",
            "vers=3,proto=tcp,nolock,nostormsafe",
        ])
        .assert()
        .code(0);
    let l = e.syscalls();
    assert!(
        l[0].contains(" data=") && !l[0].contains("nostormsafe"),
        "{l:?}"
    );
    // options the binary interface cannot carry: text mode, no error
    let e = Env::new();
    e.cmd("mount.nfs", "")
        .args([
            &spec4(),
            &e.mnt(),
            "-o",
            "vers=3,proto=tcp,nolock,nconnect=2",
        ])
        .assert()
        .code(0)
        .stderr("");
    assert!(e.syscalls()[0].contains(" data="), "{:?}", e.syscalls());
}

/// The second adaptive signal (negotiate::pressure::PEERS_THRESHOLD): a helper
/// that finds rpcproxyd serving many local clients at once (a storm) takes
/// the storm-safe path before the kernel's MNTs fill the reserved range; with
/// one client it stays in text mode, and `nostormsafe` wins.
#[test]
#[ignore = "needs scripts/testbed (run inside its netns) and root"]
fn many_helpers_through_rpcproxyd_take_the_stormsafe_path() {
    use nfsmount::negotiate::pressure::PEERS_THRESHOLD;
    let _g = lock();
    let d = proxy_support::Daemon::start(&[]);
    let run = |opts: &str| {
        let e = Env::new();
        let out = e
            .std_cmd("mount.nfs", "")
            .env("NFSMOUNT_PROXY_SOCKET", &d.sock)
            .args([&spec4(), &e.mnt(), "-v", "-o", opts])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        (
            e.syscalls(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // alone: text mode
    let (l, err) = run("vers=3,proto=tcp,nolock");
    assert!(l[0].contains(" data="), "{l:?}");
    assert!(!err.contains("stormsafe path by itself"), "{err}");
    // a storm's worth of other local clients
    let others: Vec<proxy_support::Raw> = (0..PEERS_THRESHOLD)
        .map(|_| proxy_support::Raw::open(&d))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let (l, err) = run("vers=3,proto=tcp,nolock");
    assert!(
        l[0].contains(" binary=688 bytes [nfs_mount_data v6"),
        "{l:?}"
    );
    assert!(
        err.contains("connections to rpcproxyd at once")
            && err.contains("using the stormsafe path by itself"),
        "{err}"
    );
    let (l, _) = run("vers=3,proto=tcp,nolock,nostormsafe");
    assert!(l[0].contains(" data="), "{l:?}");
    drop(others);
}
