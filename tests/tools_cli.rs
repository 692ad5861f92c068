//! `nfsmount explain`, `nfsmount doctor` and the systemd mount timeout, run as
//! the installed binary (test build: the NFSMOUNT_* seams). Loopback only; the
//! `#[ignore]`d tests need the test bed (run inside its namespace, as
//! scripts/test-all's testbed step does):
//! `ip netns exec nfstb cargo test --test tools_cli -- --ignored --test-threads=1`.

mod helper;
#[path = "json_support/mod.rs"]
mod json;

use helper::Env;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn nfsmount(e: &Env) -> Command {
    let link = e.path("nfsmount");
    if !link.exists() {
        std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("mount-nfs"), &link).unwrap();
    }
    let mut c = Command::new(link);
    c.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("NFSMOUNT_CONF", e.path("nfsmount.conf"))
        .env("NFSMOUNT_PROXY_SOCKET", e.path("no-proxy"))
        .env("NFSMOUNT_SYSLOG_SOCKET", e.path("no-syslog"));
    c
}

fn explain_json(e: &Env, args: &[&str]) -> (json::J, i32) {
    let out = nfsmount(e)
        .arg("explain")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let j = json::parse(&text).unwrap_or_else(|err| panic!("{err}: {text}"));
    (j, out.status.code().unwrap_or(-1))
}

#[test]
fn explain_v4_kernel_string_is_what_mount_nfs_passes() {
    // NFSv4 needs no RPC from the helper: explain's first kernel call (no
    // probe, no network) must be mount.nfs's first mount(2), byte for byte.
    let e = Env::new();
    e.write_conf("[ NFSMount_Global_Options ]\nTimeo=30\nSoft=True\nVers=3\n");
    let m = e.mnt();
    for opts in [
        "vers=4.1,rsize=8192",
        "ro,nosuid,sec=sys,vers=4",
        "rsize=4096,\"foo=a,b\",v4.2",
    ] {
        let _ = std::fs::remove_file(e.path("syscalls.log"));
        e.cmd("mount.nfs", "")
            .args(["127.0.0.1:/x", &m, "-o", opts])
            .assert()
            .success();
        let want = &e.syscalls()[0];
        let (j, code) = explain_json(&e, &["127.0.0.1:/x", &m, "-o", opts]);
        assert_eq!(code, 0);
        let c = j.get("kernel").get("first_call");
        let got = format!(
            "mount source={} target={} type={} flags={:#x} data={} => 0",
            c.get("source").str(),
            c.get("target").str(),
            c.get("type").str(),
            c.get("flags").num() as u64,
            c.get("data").str()
        );
        assert_eq!(&got, want, "{opts}");
    }
}

#[test]
fn explain_names_where_each_option_came_from() {
    let e = Env::new();
    let conf = e.path("nfsmount.conf");
    e.write_conf(
        "[ NFSMount_Global_Options ]\nTimeo=30\nSoft=True\nVers=3\n[ Server \"127.0.0.1\" ]\nrsize=32k\n",
    );
    let fstab = e.path("fstab");
    let m = e.mnt();
    std::fs::write(
        &fstab,
        format!("# test\n127.0.0.1:/x {m} nfs nconnect=2,x-systemd.mount-timeout=20,_netdev 0 0\n"),
    )
    .unwrap();
    let (j, code) = explain_json(
        &e,
        &["--fstab=".to_string() + fstab.to_str().unwrap()]
            .iter()
            .map(String::as_str)
            .chain([m.as_str(), "-o", "vers=4.2,hard"])
            .collect::<Vec<_>>(),
    );
    assert_eq!(code, 0, "{j:?}");
    let rows: Vec<(String, String, Option<String>)> = j
        .get("options")
        .arr()
        .iter()
        .map(|o| {
            (
                o.get("option").str().to_string(),
                o.get("source").str().to_string(),
                o.get("detail").opt_str().map(String::from),
            )
        })
        .collect();
    let conf = conf.to_string_lossy().into_owned();
    let fst = fstab.to_string_lossy().into_owned();
    let find = |opt: &str| {
        rows.iter()
            .find(|r| r.0 == opt)
            .unwrap_or_else(|| panic!("{opt} not in {rows:?}"))
            .clone()
    };
    assert_eq!(
        find("nconnect=2"),
        (
            "nconnect=2".into(),
            "fstab".into(),
            Some(format!("{fst}:2"))
        )
    );
    assert_eq!(find("_netdev").1, "fstab");
    assert_eq!(find("vers=4.2").1, "command line");
    assert_eq!(find("hard").1, "command line");
    let r = find("rsize=32768");
    assert_eq!(r.1, "nfsmount.conf");
    assert!(
        r.2.as_deref()
            .unwrap()
            .starts_with(&format!("[ Server \"127.0.0.1\" ] {conf}:6 rsize=32k")),
        "{r:?}"
    );
    let r = find("timeo=30");
    assert!(
        r.2.as_deref().unwrap().contains(&format!("{conf}:2")),
        "{r:?}"
    );
    // Soft=True lost to the command line's hard, Vers=3 to vers=4.2
    let skipped: Vec<(String, usize)> = j
        .get("config")
        .arr()
        .iter()
        .filter(|d| !d.get("skipped").is_null())
        .map(|d| (d.get("tag").str().to_string(), d.get("line").num() as usize))
        .collect();
    assert_eq!(
        skipped,
        vec![("Vers".to_string(), 4), ("Soft".to_string(), 3)]
    );
    // x-systemd.mount-timeout is not passed to the helper, but explain shows the budget
    assert!(!rows.iter().any(|r| r.0.starts_with("x-systemd")));
    let b = j.get("plan").get("systemd_budget").str();
    assert!(b.starts_with("x-systemd.mount-timeout=20 s"), "{b}");
    assert_eq!(
        j.get("kernel").get("if_refused").arr().len(),
        1,
        "vers=4.2 is specific: no fallback chain"
    );
}

#[test]
fn explain_reports_mount_nfs_errors_with_the_same_text_and_status() {
    let e = Env::new();
    let m = e.mnt();
    for (args, opts) in [
        (vec!["127.0.0.1:/x", m.as_str()], "vers=3,nolock,port=99999"),
        (vec!["127.0.0.1:/x", m.as_str()], "vers=4.x"),
        (vec!["127.0.0.1:/x", m.as_str()], "vers=2"),
        (vec!["nocolon", m.as_str()], "vers=4.1"),
        (vec!["127.0.0.1:/x", "/nonexistent/dir"], "vers=4.1"),
        (vec!["127.0.0.1:/x", m.as_str()], "\"unbalanced"),
    ] {
        let mut a = args.clone();
        a.extend(["-o", opts]);
        let out = e.cmd("mount.nfs", "").args(&a).output().unwrap();
        let want_code = out.status.code().unwrap();
        assert_ne!(want_code, 0, "{a:?} should fail");
        let want: Vec<String> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(String::from)
            .collect();
        let (j, code) = explain_json(&e, &a);
        assert_eq!(code, want_code, "{a:?}");
        let c = j.get("checks");
        assert_eq!(c.get("exit_status").num() as i32, want_code, "{a:?}");
        let got: Vec<String> = c
            .get("stderr")
            .arr()
            .iter()
            .map(|l| l.str().to_string())
            .collect();
        assert_eq!(got, want, "{a:?}");
        assert!(e.syscalls().is_empty(), "no mount(2) for {a:?}");
        // the text form says the same
        let t = nfsmount(&e).arg("explain").args(&a).output().unwrap();
        let text = String::from_utf8_lossy(&t.stdout);
        assert!(text.contains(&want[0]), "{text}");
        assert!(
            text.contains(&format!("exit with status {want_code}")),
            "{text}"
        );
    }
}

#[test]
fn explain_json_escapes_hostile_text() {
    let e = Env::new();
    let m = e.mnt();
    let (j, _) = explain_json(
        &e,
        &["127.0.0.1:/x\"\\\u{1}", &m, "-o", "foo=\"a\\b\u{7}\""],
    );
    assert_eq!(j.get("spec").str(), "127.0.0.1:/x\"\\\u{1}");
}

#[test]
fn json_schemas_are_documented() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/explain-doctor.md"
    ))
    .unwrap();
    let e = Env::new();
    let m = e.mnt();
    let (j, _) = explain_json(&e, &["127.0.0.1:/x", &m, "-o", "vers=4.1"]);
    let (d, _, _) = doctor(&e, &[]);
    for (name, doc_keys) in [("explain", &j), ("doctor", &d)] {
        let json::J::Obj(members) = doc_keys else {
            panic!("{name}: not an object")
        };
        for (k, _) in members {
            assert!(
                doc.contains(&format!("`\"{k}\"`")),
                "{name}: key {k} not in docs/explain-doctor.md"
            );
        }
    }
}

#[test]
fn explain_and_nfsmount_usage() {
    let e = Env::new();
    let out = nfsmount(&e).args(["explain", "only-one"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: nfsmount explain"));
    let out = nfsmount(&e).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = nfsmount(&e).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("nfs-utils 2.6.2"));
    let out = nfsmount(&e).args(["doctor", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn doctor(e: &Env, args: &[&str]) -> (json::J, i32, Duration) {
    let t = Instant::now();
    let out = nfsmount(e)
        .arg("doctor")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let took = t.elapsed();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let j = json::parse(&text).unwrap_or_else(|err| panic!("{err}: {text}"));
    (j, out.status.code().unwrap_or(-1), took)
}

fn level<'a>(j: &'a json::J, id: &str) -> &'a str {
    j.get("findings")
        .arr()
        .iter()
        .find(|f| f.get("id").str() == id)
        .unwrap_or_else(|| panic!("no finding {id}: {j:?}"))
        .get("level")
        .str()
}

fn check_schema(j: &json::J, code: i32) {
    assert_eq!(j.get("schema").str(), "nfsmount-doctor/1");
    let f = j.get("findings").arr();
    let errors = f.iter().filter(|x| x.get("level").str() == "error").count();
    assert_eq!(j.get("errors").num() as usize, errors);
    assert_eq!(
        code,
        i32::from(errors > 0),
        "exit 0 exactly when nothing is an error"
    );
    assert_eq!(j.get("exit_status").num() as i32, code);
    for x in f {
        assert!(
            ["ok", "warning", "error"].contains(&x.get("level").str()),
            "{x:?}"
        );
        assert!(!x.get("message").str().is_empty());
        if x.get("level").str() != "ok" {
            assert!(!x.get("advice").str().is_empty(), "advice missing: {x:?}");
        }
    }
}

#[test]
fn doctor_local_checks() {
    let e = Env::new();
    let (j, code, _) = doctor(&e, &[]);
    check_schema(&j, code);
    for id in [
        "kernel.nfs",
        "kernel.nfsv4",
        "kernel.sunrpc",
        "kernel.udp",
        "statd",
        "gssd",
        "tlshd",
        "rpcproxyd",
        "ports.time_wait",
    ] {
        level(&j, id);
    }
    // no socket at NFSMOUNT_PROXY_SOCKET: not running
    assert_eq!(level(&j, "rpcproxyd"), "ok");
    assert!(j.get("server").is_null());
}

#[test]
fn doctor_black_holed_server_is_bounded() {
    // 192.0.2.1 is never routed here; with no route every probe fails fast, and
    // even when packets are dropped each wait is bounded (3 s per call).
    let e = Env::new();
    let hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    drop(hole);
    let (j, code, took) = doctor(&e, &["127.0.0.2:/x"]);
    check_schema(&j, code);
    assert_eq!(code, 1);
    assert_eq!(level(&j, "server.dns"), "ok");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

/// Spawns mount.nfs, waits for its exit (at most `cap`), returns (status,
/// stderr, elapsed).
fn run_capped(mut c: Command, cap: Duration) -> (i32, String, Duration) {
    use std::io::Read;
    let t = Instant::now();
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if t.elapsed() > cap {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running after {cap:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = t.elapsed();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), err, took)
}

#[test]
fn systemd_mount_timeout_from_fstab_ends_a_black_holed_mount_in_time() {
    // mountd never answers; retry= is the default (2 minutes). The fstab entry
    // says x-systemd.mount-timeout=4: the helper gives up at 3 s with its line.
    let e = Env::new();
    let hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    let m = e.mnt();
    std::fs::write(
        e.path("fstab"),
        format!("127.0.0.1:/export {m} nfs vers=3,x-systemd.mount-timeout=4 0 0\n"),
    )
    .unwrap();
    let mut c = e.std_cmd("mount.nfs", "");
    c.env("NFSMOUNT_FSTAB", e.path("fstab"))
        .env("NFSMOUNT_TIME_SCALE", "1")
        .args([
            "127.0.0.1:/export",
            &m,
            "-o",
            &format!("vers=3,proto=udp,port={port},mountport={port},mountproto=udp,nolock"),
        ]);
    let (code, err, took) = run_capped(c, Duration::from_secs(20));
    assert_eq!(code, 32, "{err}");
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_secs(4),
        "took {took:?}"
    );
    let last = err.lines().last().unwrap_or("");
    let fstab = e.path("fstab").to_string_lossy().into_owned();
    assert!(
        last.starts_with(&format!(
            "mount.nfs: giving up before x-systemd.mount-timeout=4 s ({fstab}:1) after 3."
        )) && last.contains(&format!(
            "procedure 1 call to mountd (100005 v3) at 127.0.0.1 port {port}/udp"
        )),
        "last line: {last:?}"
    );
    assert!(e.syscalls().is_empty());
    drop(hole);
}

#[test]
fn systemd_mount_timeout_shortens_the_retry_loop() {
    // The kernel refuses (ECONNREFUSED, temporary) every time: the retry loop
    // (default 2 minutes) stops by itself after timeout - margin = 3 s and
    // mount.nfs reports the error; no watchdog line.
    let e = Env::new();
    let m = e.mnt();
    std::fs::write(
        e.path("fstab"),
        format!("127.0.0.1:/x {m} nfs x-systemd.mount-timeout=5s 0 0\n"),
    )
    .unwrap();
    let mut c = e.std_cmd("mount.nfs", &"ECONNREFUSED,".repeat(50));
    c.env("NFSMOUNT_FSTAB", e.path("fstab"))
        .env("NFSMOUNT_TIME_SCALE", "1")
        .args(["127.0.0.1:/x", &m, "-o", "vers=4.2"]);
    let (code, err, took) = run_capped(c, Duration::from_secs(20));
    assert_eq!(code, 32, "{err}");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_millis(4900),
        "took {took:?}"
    );
    assert!(err.starts_with("mount.nfs: Connection refused"), "{err}");
    assert!(!err.contains("giving up"), "{err}");
    // without the fstab entry the same mount is still retrying at 5 s
    let e2 = Env::new();
    let m2 = e2.mnt();
    let mut c = e2.std_cmd("mount.nfs", &"ECONNREFUSED,".repeat(50));
    c.env("NFSMOUNT_FSTAB", e2.path("no-fstab"))
        .env("NFSMOUNT_TIME_SCALE", "1")
        .args(["127.0.0.1:/x", &m2, "-o", "vers=4.2"]);
    let mut child = c
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    assert!(child.try_wait().unwrap().is_none(), "ended without a limit");
    let _ = child.kill();
    let _ = child.wait();
}

// ---- against the real test bed ----

fn tb(key: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| panic!("{key} not set: run inside scripts/testbed"))
}

fn ctl(args: &[&str]) {
    let st = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/testbed"))
        .arg("ctl")
        .args(["--name", &tb("TESTBED_NS")])
        .args(args)
        .stderr(Stdio::null())
        .status()
        .expect("run scripts/testbed");
    assert!(st.success(), "testbed ctl {args:?} failed");
}

struct Restore;
impl Drop for Restore {
    fn drop(&mut self) {
        ctl(&["unblock-all"]);
    }
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn doctor_against_the_test_bed_healthy_and_with_mountd_stopped() {
    let e = Env::new();
    let target = format!("{}:{}", tb("TESTBED_ADDR4"), tb("TESTBED_EXPORT"));
    let (j, code, _) = doctor(&e, &[&target]);
    check_schema(&j, code);
    for id in [
        "server.dns",
        "server.rpcbind.tcp",
        "server.rpcbind.udp",
        "server.mountd.udp",
        "server.mountd.tcp",
        "server.nfs4.tcp",
        "server.nfs3.tcp",
        "server.exports",
        "server.export",
    ] {
        assert_eq!(level(&j, id), "ok", "{id}: {j:?}");
    }
    // not exported
    let (j, code, _) = doctor(&e, &[&format!("{}:/not/exported", tb("TESTBED_ADDR4"))]);
    check_schema(&j, code);
    assert_eq!(level(&j, "server.export"), "error");
    // mountd stopped: its port answers with ICMP unreachable / RST
    let mnt = tb("TESTBED_MNT_PORT");
    let _r = Restore;
    ctl(&["reject", "udp", &mnt]);
    ctl(&["reject", "tcp", &mnt]);
    let (j, code, took) = doctor(&e, &[&target]);
    check_schema(&j, code);
    assert_eq!(code, 1);
    assert_eq!(level(&j, "server.mountd.udp"), "error");
    assert_eq!(level(&j, "server.mountd.tcp"), "error");
    assert_eq!(level(&j, "server.nfs4.tcp"), "ok");
    assert_eq!(level(&j, "server.rpcbind.tcp"), "ok");
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
#[ignore = "needs scripts/testbed (run inside its netns)"]
fn explain_probe_shows_each_rpc_against_the_test_bed() {
    let e = Env::new();
    let m = e.mnt();
    let spec = format!("{}:{}", tb("TESTBED_ADDR4"), tb("TESTBED_EXPORT"));
    let (j, code) = explain_json(&e, &[&spec, &m, "-o", "vers=3,nolock,retry=0", "--probe"]);
    assert_eq!(code, 0, "{j:?}");
    let p = j.get("probe");
    let rpcs: Vec<&str> = p
        .get("rpcs")
        .arr()
        .iter()
        .map(|r| r.get("call").str())
        .collect();
    assert!(rpcs.iter().any(|c| c.contains("rpcbind")), "{rpcs:?}");
    assert!(
        rpcs.iter().any(|c| c.starts_with("MNT to mountd")),
        "{rpcs:?}"
    );
    for r in p.get("rpcs").arr() {
        assert!(r.get("millis").num() >= 0.0);
    }
    let k = p.get("kernel_calls").arr();
    assert_eq!(k.len(), 1);
    assert!(k[0].get("data").str().contains("mountport="), "{k:?}");
    // and mount.nfs with the same arguments hands the kernel the same string
    e.cmd("mount.nfs", "")
        .env("NFSMOUNT_PROXY_SOCKET", e.path("no-proxy"))
        .args([spec.as_str(), &m, "-o", "vers=3,nolock,retry=0"])
        .assert()
        .success();
    assert_eq!(e.mount_data(), vec![k[0].get("data").str().to_string()]);
}
