//! syslog(3)-compatible logging over the `/dev/log` datagram socket.
//!
//! Written directly (RFC 3164 framing, `<pri>Mmm dd hh:mm:ss ident[pid]: msg`) rather
//! than through libc's openlog/syslog so that nothing global is touched and tests
//! can point it at their own socket (`NFSMOUNT_SYSLOG_SOCKET`).

use std::os::unix::net::UnixDatagram;

pub const LOG_ERR: u8 = 3;
pub const LOG_WARNING: u8 = 4;
pub const LOG_INFO: u8 = 6;
pub const LOG_AUTH: u8 = 4 << 3;
pub const LOG_DAEMON: u8 = 3 << 3;

/// Send one message; failures (no syslog daemon) are ignored, as syslog(3) does.
pub fn log(facility: u8, severity: u8, ident: &str, msg: &str) {
    let path = super::env::test_override("NFSMOUNT_SYSLOG_SOCKET")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/dev/log".into());
    let line = format!(
        "<{}>{} {}[{}]: {}",
        facility | severity,
        timestamp(),
        ident,
        std::process::id(),
        msg
    );
    if let Ok(sock) = UnixDatagram::unbound() {
        let _ = sock.send_to(line.as_bytes(), &path);
    }
}

/// `Mmm dd hh:mm:ss` in local time.
fn timestamp() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // SAFETY: time(NULL) has no preconditions.
    let now = unsafe { libc::time(std::ptr::null_mut()) };
    // SAFETY: tm is plain data; all-zero is valid and localtime_r fully initialises it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    if unsafe { libc::localtime_r(&now, &mut tm) }.is_null() {
        return "Jan  1 00:00:00".into();
    }
    format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        MONTHS[(tm.tm_mon.clamp(0, 11)) as usize],
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamp_shape() {
        let t = super::timestamp();
        assert_eq!(t.len(), 15, "{t}");
        assert_eq!(&t[9..10], ":");
    }
}
