//! What the kernel can tell a client about the daemon at the other end of a
//! unix stream socket, without asking the daemon: its pid (SO_PEERCRED), whether
//! that process is stopped (`/proc/<pid>/stat`), and how many bytes we wrote that
//! it has not read yet (SIOCOUTQ). rpcproxyd's client uses these to tell a wedged
//! daemon (SIGSTOPped, not reading) from a busy one within milliseconds, without
//! a wall-clock guess that a CPU-starved daemon in a mount storm would fail.
use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};

/// May a client hand its calls to the daemon behind this connected socket? On
/// the connecting side SO_PEERCRED names the process that called listen(2)
/// (the daemon, or systemd for an activated socket): it must be root or the
/// caller itself. Anything else is a socket planted by another user.
pub fn daemon_trusted(s: &impl std::os::fd::AsFd) -> bool {
    match nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::PeerCredentials) {
        Ok(c) => c.uid() == 0 || c.uid() == nix::unistd::geteuid().as_raw(),
        Err(_) => false,
    }
}

/// The pid of the process that called listen(2) on the socket we are connected
/// to, if the kernel knows it and it is visible in our pid namespace.
pub fn listener_pid(s: &UnixStream) -> Option<i32> {
    let c = nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::PeerCredentials).ok()?;
    (c.pid() > 0).then_some(c.pid())
}

/// The state letter of `/proc/<pid>/stat` if that process is named `comm`
/// (`None` if it does not exist or is something else, e.g. a reused pid or the
/// service manager that owns an activated socket).
pub fn process_state(pid: i32, comm: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ..." — comm may itself contain ')' so take the last one.
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    if stat.get(open + 1..close)? != comm {
        return None;
    }
    stat.get(close + 1..)?.trim_start().chars().next()
}

/// True if `pid` is a process named `comm` that is stopped (SIGSTOP, job
/// control, or a tracer holding it): it cannot answer anything until continued.
pub fn process_stopped(pid: i32, comm: &str) -> bool {
    matches!(process_state(pid, comm), Some('T' | 't'))
}

/// Bytes written on `s` that the peer has not read yet (Linux SIOCOUTQ on a unix
/// stream socket: the sender's queued, unconsumed data). `None` if unknown.
pub fn unread_by_peer(s: &UnixStream) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: ioctl(SIOCOUTQ) on a valid socket fd writes one c_int through the
    // pointer, which points at a live, properly aligned c_int.
    // SIOCOUTQ has the same number as TIOCOUTQ on Linux (0x5411).
    let r = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
    (r == 0 && n >= 0).then_some(n as usize)
}

/// Most of /proc/net/unix read by [`connections_to`] (about 80 bytes a
/// socket: some 100,000 sockets).
const PROC_NET_UNIX_MAX: u64 = 8 << 20;

/// How many connections the listening socket at `path` has (accepted or
/// waiting to be), from /proc/net/unix of our network namespace: the
/// server-side socket of each connection carries the listener's path. Asks
/// nothing of the daemon, so a CPU-starved daemon in a storm answers at once.
/// `None` if the table cannot be read.
pub fn connections_to(path: &std::path::Path) -> Option<u32> {
    use std::io::Read;
    let f = std::fs::File::open("/proc/net/unix").ok()?;
    let mut raw = Vec::new();
    f.take(PROC_NET_UNIX_MAX).read_to_end(&mut raw).ok()?;
    // any user may bind a socket whose path is not UTF-8: it must not hide
    // the other lines
    Some(count_connected(
        &String::from_utf8_lossy(&raw),
        path.to_str()?,
    ))
}

/// The parser of [`connections_to`]: lines of /proc/net/unix
/// (`Num RefCount Protocol Flags Type St Inode Path`) whose path is exactly
/// `path` and whose state is connected (`St` 03: accepted) or connecting
/// (02: still in the listener's backlog); the listener itself is 01.
pub fn count_connected(text: &str, path: &str) -> u32 {
    let mut n: u32 = 0;
    for line in text.lines().skip(1) {
        let mut f = line.split_ascii_whitespace();
        let st = f.nth(5);
        let p = f.nth(1);
        if matches!(st, Some("02" | "03")) && p == Some(path) && f.next().is_none() {
            n = n.saturating_add(1);
        }
    }
    n
}

/// Calls listen(2) again on an already listening socket. Linux records the
/// credentials that clients see through SO_PEERCRED at listen time, so a daemon
/// that bound its socket before forking into the background (or received it from
/// the service manager) calls this in its final process, and clients see the
/// pid that really serves them.
pub fn relisten(l: &UnixListener) -> std::io::Result<()> {
    nix::sys::socket::listen(l, nix::sys::socket::Backlog::MAXCONN).map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connected_sockets_on_the_path_are_counted() {
        let t = "Num       RefCount Protocol Flags    Type St Inode Path\n\
0000000001: 00000002 00000000 00010000 0001 01 100 /run/rpcproxyd/socket\n\
0000000002: 00000003 00000000 00000000 0001 03 101 /run/rpcproxyd/socket\n\
0000000003: 00000003 00000000 00000000 0001 03 102\n\
0000000004: 00000003 00000000 00000000 0001 03 103 /run/rpcproxyd/socket\n\
0000000005: 00000003 00000000 00000000 0001 03 104 /run/rpcproxyd/socket.old\n\
0000000006: 00000003 00000000 00000000 0001 03 105 /run/rpcproxyd/socket x\n\
0000000007: 00000003 00000000 00000000 0001 03 106 @/run/rpcproxyd/socket\n\
garbage\n\
0000000008: 00000002 00000000 00000000 0002 01 107 /run/rpcproxyd/socket\n\
0000000009: 00000003 00000000 00000000 0001 02     0 /run/rpcproxyd/socket\n";
        assert_eq!(count_connected(t, "/run/rpcproxyd/socket"), 3);
        assert_eq!(count_connected(t, "/nowhere"), 0);
        assert_eq!(count_connected("", "/run/rpcproxyd/socket"), 0);
    }

    proptest::proptest! {
        /// Any text (the kernel's table is trusted, but a test hook or a
        /// future format may not be): no panic, never more than one count
        /// per line, and lines built to match are all counted.
        #[test]
        fn any_table_text_is_bounded(junk in "[ -~\n]{0,400}", k in 0usize..20) {
            let mut t = String::from("Num RefCount Protocol Flags Type St Inode Path\n");
            t.push_str(&junk);
            t.push('\n');
            for i in 0..k {
                t.push_str(&format!("{i:016x}: 00000003 00000000 00000000 0001 03 {i} /p\n"));
            }
            let n = count_connected(&t, "/p") as usize;
            proptest::prop_assert!(n >= k && n <= t.lines().count());
        }
    }

    #[test]
    fn connections_to_a_listener_of_ours_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let l = UnixListener::bind(&p).unwrap();
        assert_eq!(connections_to(&p), Some(0));
        let a = UnixStream::connect(&p).unwrap();
        let b = UnixStream::connect(&p).unwrap();
        let (_acc, _) = l.accept().unwrap();
        // one accepted, one still in the backlog: both count
        assert_eq!(connections_to(&p), Some(2));
        drop((a, b));
    }

    #[test]
    fn own_process_is_running_and_named() {
        let me = std::process::id() as i32;
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        let st = process_state(me, comm.trim()).unwrap();
        assert!(matches!(st, 'R' | 'S'), "{st}");
        assert!(!process_stopped(me, comm.trim()));
        assert_eq!(process_state(me, "surely-not-this"), None);
    }

    #[test]
    fn listener_pid_and_unread_bytes() {
        use std::io::{Read, Write};
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        let l = UnixListener::bind(&p).unwrap();
        relisten(&l).unwrap();
        let mut c = UnixStream::connect(&p).unwrap();
        assert_eq!(listener_pid(&c), Some(std::process::id() as i32));
        assert_eq!(unread_by_peer(&c), Some(0));
        c.write_all(b"hello").unwrap();
        assert!(unread_by_peer(&c).unwrap() > 0, "queued, not accepted yet");
        let (mut s, _) = l.accept().unwrap();
        let mut b = [0u8; 5];
        s.read_exact(&mut b).unwrap();
        assert_eq!(unread_by_peer(&c), Some(0), "read by the peer");
    }
}
