//! Mount-storm driver (a benchmark that prints numbers; not a test).
//!
//! Runs N mount helpers on N mount points with at most C at a time, and reports
//! wall time, mounts/s, failures (with their first message), p50/p99 latency, the
//! peak number of TIME_WAIT sockets on local ports < 1024 and >= 1024 (sampled
//! from /proc/net/tcp{,6} every 20 ms) and new TCP connections per mount (the
//! `Tcp: ActiveOpens` counter of /proc/net/snmp, per network namespace).
//! It also prints the helpers' CPU time per mount (getrusage of the waited-for
//! children: user, and system including the kernel's mount(2) work in their context).
//!
//! ```text
//! storm --helper /sbin/mount.nfs --spec 10.213.0.1:/export --opts vers=3,proto=tcp \
//!       --n 1000 --concurrency 32 --mnt-base /mnt/storm [--fake] [--label NAME]
//!       [--umount /sbin/umount.nfs] [--json]
//! ```
//! The helper is run with argv[0] = its file name, as mount(8) would.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    helper: PathBuf,
    umount: Option<PathBuf>,
    spec: String,
    opts: String,
    n: usize,
    concurrency: usize,
    base: PathBuf,
    fake: bool,
    label: String,
    json: bool,
}

fn parse() -> Args {
    let mut a = Args {
        helper: "/sbin/mount.nfs".into(),
        umount: None,
        spec: String::new(),
        opts: "vers=3".into(),
        n: 100,
        concurrency: 32,
        base: "/mnt/storm".into(),
        fake: false,
        label: "run".into(),
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let mut v = || it.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--helper" => a.helper = v().into(),
            "--umount" => a.umount = Some(v().into()),
            "--spec" => a.spec = v(),
            "--opts" => a.opts = v(),
            "--n" => a.n = v().parse().expect("--n"),
            "--concurrency" => a.concurrency = v().parse().expect("--concurrency"),
            "--mnt-base" => a.base = v().into(),
            "--label" => a.label = v(),
            "--fake" => a.fake = true,
            "--json" => a.json = true,
            other => panic!("unknown argument {other}"),
        }
    }
    assert!(!a.spec.is_empty(), "--spec is required");
    a.concurrency = a.concurrency.clamp(1, a.n.max(1));
    a
}

/// (TIME_WAIT on local ports < 1024, on ports >= 1024).
fn time_wait() -> (usize, usize) {
    let mut low = 0;
    let mut high = 0;
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(t) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in t.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 4 || cols[3] != "06" {
                continue;
            }
            let port = cols[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
                .unwrap_or(0);
            if port < 1024 {
                low += 1;
            } else {
                high += 1;
            }
        }
    }
    (low, high)
}

fn active_opens() -> u64 {
    let t = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut lines = t.lines().filter(|l| l.starts_with("Tcp:"));
    let (Some(h), Some(v)) = (lines.next(), lines.next()) else {
        return 0;
    };
    let i = h
        .split_whitespace()
        .position(|c| c == "ActiveOpens")
        .unwrap_or(0);
    v.split_whitespace()
        .nth(i)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0)
}

/// CPU time (user, system) in ms of every helper waited for so far: the helpers'
/// own work plus, in system time, the kernel's mount(2) work done in their context.
fn children_cpu_ms() -> (f64, f64) {
    use nix::sys::resource::{getrusage, UsageWho};
    let ms = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 * 1000.0 + t.tv_usec() as f64 / 1000.0;
    match getrusage(UsageWho::RUSAGE_CHILDREN) {
        Ok(u) => (ms(u.user_time()), ms(u.system_time())),
        Err(_) => (0.0, 0.0),
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let a = parse();
    std::fs::create_dir_all(&a.base).expect("mnt base");
    for i in 0..a.n {
        std::fs::create_dir_all(a.base.join(format!("m{i}"))).expect("mount point");
    }
    let name = a.helper.file_name().unwrap().to_string_lossy().into_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(Mutex::new((0usize, 0usize)));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (l, h) = time_wait();
                let mut p = peak.lock().unwrap();
                p.0 = p.0.max(l);
                p.1 = p.1.max(h);
                drop(p);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let opens0 = active_opens();
    let cpu0 = children_cpu_ms();
    let next = Arc::new(AtomicUsize::new(0));
    let results: Arc<Mutex<Vec<(f64, i32, String)>>> = Arc::new(Mutex::new(Vec::new()));
    let t0 = Instant::now();
    let workers: Vec<_> = (0..a.concurrency)
        .map(|_| {
            let (next, results) = (next.clone(), results.clone());
            let (helper, spec, opts, base, fake, n, name) = (
                a.helper.clone(),
                a.spec.clone(),
                a.opts.clone(),
                a.base.clone(),
                a.fake,
                a.n,
                name.clone(),
            );
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let mp = base.join(format!("m{i}"));
                let mut c = Command::new(&helper);
                {
                    use std::os::unix::process::CommandExt;
                    c.arg0(&name);
                }
                c.arg(&spec).arg(&mp).arg("-o").arg(&opts);
                if fake {
                    c.arg("-f").arg("-n");
                }
                let s = Instant::now();
                let out = c.stdin(Stdio::null()).output();
                let ms = s.elapsed().as_secs_f64() * 1000.0;
                let (code, msg) = match out {
                    Ok(o) => (
                        o.status.code().unwrap_or(-1),
                        String::from_utf8_lossy(&o.stderr)
                            .lines()
                            .next()
                            .unwrap_or("")
                            .to_string(),
                    ),
                    Err(e) => (-1, e.to_string()),
                };
                results.lock().unwrap().push((ms, code, msg));
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let wall = t0.elapsed().as_secs_f64();
    let opens = active_opens().saturating_sub(opens0);
    let cpu1 = children_cpu_ms();
    let per = |x: f64| x / a.n.max(1) as f64;
    let (cpu_usr, cpu_sys) = (per(cpu1.0 - cpu0.0), per(cpu1.1 - cpu0.1));
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let (tw_low, tw_high) = *peak.lock().unwrap();
    let res = results.lock().unwrap();
    let mut lat: Vec<f64> = res.iter().map(|r| r.0).collect();
    lat.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let failures: Vec<&(f64, i32, String)> = res.iter().filter(|r| r.1 != 0).collect();
    let mut why: BTreeMap<String, usize> = BTreeMap::new();
    for f in &failures {
        *why.entry(format!("exit {}: {}", f.1, f.2)).or_default() += 1;
    }
    let ok = a.n - failures.len();
    if let Some(um) = &a.umount {
        for i in 0..a.n {
            let _ = Command::new(um)
                .arg(a.base.join(format!("m{i}")))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
    let per_mount = opens as f64 / a.n.max(1) as f64;
    if a.json {
        println!(
            "{{\"label\":\"{}\",\"n\":{},\"concurrency\":{},\"opts\":\"{}\",\"wall_s\":{:.2},\"mounts_per_s\":{:.1},\"failures\":{},\"p50_ms\":{:.1},\"p99_ms\":{:.1},\"peak_time_wait_lt1024\":{},\"peak_time_wait_ge1024\":{},\"tcp_active_opens_per_mount\":{:.3},\"helper_cpu_user_ms_per_mount\":{:.2},\"helper_cpu_sys_ms_per_mount\":{:.2}}}",
            a.label, a.n, a.concurrency, a.opts, wall, ok as f64 / wall, failures.len(), pct(&lat, 0.5), pct(&lat, 0.99), tw_low, tw_high, per_mount, cpu_usr, cpu_sys
        );
    } else {
        println!(
            "{:<28} n={:<5} c={:<4} {:<22} wall {:>7.2} s  {:>7.1} mounts/s  fail {:>4}  p50 {:>8.1} ms  p99 {:>8.1} ms  TIME_WAIT<1024 {:>4}  >=1024 {:>5}  new TCP/mount {:.3}  helper CPU/mount usr {:.2} sys {:.2} ms",
            a.label, a.n, a.concurrency, a.opts, wall, ok as f64 / wall, failures.len(), pct(&lat, 0.5), pct(&lat, 0.99), tw_low, tw_high, per_mount, cpu_usr, cpu_sys
        );
        for (w, c) in why {
            println!("    {c} x {w}");
        }
    }
}
