//! utab integrity under a storm: 200 helpers update one utab at once while a
//! random third of them are SIGKILLed at random moments. Afterwards the table
//! must parse, have no torn or duplicate lines and no leftover temporary files,
//! and umount.nfs of every survivor must find and remove its entry.
//!
//! mount(2)/umount2(2) go through the NFSMOUNT_SYSCALL_LOG seam (NFSv4: the
//! helper sends nothing itself), so this needs neither root nor a network.

mod helper;

use helper::Env;
use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const N: usize = 200;

/// xorshift64*: reproducible from the printed seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn helper_cmd(e: &Env, name: &str) -> Command {
    let mut c = Command::new(e.path(name));
    c.env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("NFSMOUNT_SYSCALL_LOG", e.path("syscalls.log"))
        .env("NFSMOUNT_UTAB", e.path("run/utab"))
        .env("NFSMOUNT_CONF", e.path("nfsmount.conf"))
        .env("NFSMOUNT_SYSLOG_SOCKET", e.path("no-syslog"))
        .env("NFSMOUNT_PROXY_SOCKET", e.path("no-proxy"))
        .env("NFSMOUNT_MOUNTINFO", e.path("mountinfo"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn leftovers(e: &Env) -> Vec<String> {
    std::fs::read_dir(e.path("run"))
        .unwrap()
        .filter_map(|d| d.ok())
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "utab" && n != "utab.lock")
        .collect()
}

#[test]
fn utab_survives_200_concurrent_helpers_and_random_sigkills() {
    let seed = std::env::var("UTAB_STORM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("UTAB_STORM_SEED={seed}");
    let mut rng = Rng(seed);
    let e = Env::new();
    std::fs::create_dir(e.path("run")).unwrap();
    // What a writer SIGKILLed between its write and its rename leaves behind
    // (the storm below makes more of them only rarely: the window is tiny).
    std::fs::write(e.path("run/.utab.999999"), "SRC=127.0.0.1:/torn TARG").unwrap();
    let targets: Vec<String> = (0..N)
        .map(|i| {
            let d = e.path(&format!("m/{i:03} sp"));
            std::fs::create_dir_all(&d).unwrap();
            d.to_string_lossy().into_owned()
        })
        .collect();

    // Start all, then SIGKILL about a third at random moments in the first 300 ms.
    let t0 = Instant::now();
    let mut kids: Vec<(usize, std::process::Child, Option<Duration>)> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let child = helper_cmd(&e, "mount.nfs4")
                .args([&format!("127.0.0.1:/x{i}"), t.as_str(), "-o", "vers=4.2"])
                .spawn()
                .expect("spawn mount.nfs4");
            let kill = (rng.next() % 3 == 0).then(|| Duration::from_micros(rng.next() % 300_000));
            (i, child, kill)
        })
        .collect();
    let mut killed = 0;
    let deadline = t0 + Duration::from_secs(60);
    let mut exited_ok = HashSet::new();
    while !kids.is_empty() {
        assert!(
            Instant::now() < deadline,
            "helpers still running after 60 s"
        );
        kids.retain_mut(|(i, c, kill)| {
            if let Some(st) = c.try_wait().unwrap() {
                if st.success() {
                    exited_ok.insert(*i);
                }
                return false;
            }
            if kill.is_some_and(|k| t0.elapsed() >= k) {
                let _ = c.kill();
                let _ = c.wait();
                killed += 1;
                return false;
            }
            true
        });
        std::thread::sleep(Duration::from_millis(1));
    }
    println!(
        "{} exited 0, {killed} killed while running",
        exited_ok.len()
    );

    // The table parses line by line, no line is torn, no target twice.
    let text = std::fs::read_to_string(e.path("run/utab")).unwrap_or_default();
    let mut seen = HashSet::new();
    for line in text.lines() {
        let entry = nfsmount::utab::Entry::parse(line)
            .unwrap_or_else(|| panic!("unparsable utab line {line:?}"));
        assert_eq!(entry.format(), line, "torn or rewritten line");
        let i = targets
            .iter()
            .position(|t| *t == entry.target)
            .unwrap_or_else(|| panic!("unknown target in {line:?}"));
        assert_eq!(entry.src, format!("127.0.0.1:/x{i}"), "{line:?}");
        assert!(seen.insert(i), "duplicate entry for {}", entry.target);
    }
    assert!(text.is_empty() || text.ends_with('\n'), "last line torn");
    // Every helper that exited 0 has its entry (utab is written before exit).
    for i in &exited_ok {
        assert!(
            seen.contains(i),
            "helper {i} exited 0 but has no utab entry"
        );
    }
    assert!(
        seen.len() >= exited_ok.len() && seen.len() <= N,
        "{} entries",
        seen.len()
    );

    // umount every survivor (mountinfo lists them, as the kernel would).
    let mi: String = seen
        .iter()
        .map(|&i| {
            format!(
                "{} 22 0:{} / {} rw - nfs4 127.0.0.1:/x{i} rw,vers=4.2,addr=127.0.0.1\n",
                100 + i,
                50 + i,
                nfsmount::utab::mangle(&targets[i])
            )
        })
        .collect();
    std::fs::write(e.path("mountinfo"), mi).unwrap();
    for &i in &seen {
        let st = helper_cmd(&e, "umount.nfs4")
            .arg(&targets[i])
            .status()
            .unwrap();
        assert!(st.success(), "umount.nfs4 {} failed: {st}", targets[i]);
    }
    let after = std::fs::read_to_string(e.path("run/utab")).unwrap_or_default();
    assert_eq!(after, "", "entries left after every umount");
    assert_eq!(leftovers(&e), Vec::<String>::new(), "temporary files left");
}
