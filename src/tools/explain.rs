//! `nfsmount explain SPEC DIR [-o OPTS] [--fstab[=FILE]] [--probe] [--json]`:
//! what mount.nfs would do with this command line, without mounting.
//!
//! Not a re-implementation: explain calls the functions mount.nfs calls
//! ([`crate::mount::build_request`], [`Mounter::prepare`], [`Mounter::attempt`],
//! [`crate::mount::run_with`]) with two seams swapped: mount(2) goes to a
//! [`RecordingKernel`] (never to the kernel) and, without `--probe`, RPC goes to a
//! backend that refuses to send anything. Every message mount.nfs would print is
//! captured ([`crate::report`]) and shown with its exit status.
//! `tests/compliance.rs` checks, for every compliance case, that the kernel calls
//! `explain --probe` reports are the ones mount.nfs makes.

use super::json::Json;
use crate::cli::{MountArgs, Personality};
use crate::client::{Backend, CallOpts, Client, Cred, Endpoint, RpcError, StatsSnapshot};
use crate::error::{Errno, ToolExit};
use crate::fstab;
use crate::mount::attempt::Mounter;
use crate::mount::{build_request, Request};
use crate::negotiate::Attempts;
use crate::options::version::VersionMode;
use crate::options::OptList;
use crate::report::{self, Stream};
use crate::sys::kernel::Kernel;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub const USAGE: &str = "usage: nfsmount explain SPEC DIR [-o OPTIONS] [-t nfs|nfs4] [-s] [-r|-w]
                        [--fstab[=FILE]] [--probe] [--json]
       nfsmount explain --fstab[=FILE] DIR [-o OPTIONS] [--probe] [--json]
";

/// The explain command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExplainArgs {
    pub spec: Option<String>,
    pub mountpoint: Option<String>,
    /// `-o` values (and `-r`/`-w`), comma-joined in order.
    pub options: String,
    pub nfs4: bool,
    pub sloppy: bool,
    pub fstab: Option<String>,
    pub probe: bool,
    pub json: bool,
}

/// Parses explain's arguments (after the word `explain`).
pub fn parse_args(args: &[String]) -> Result<ExplainArgs, String> {
    let mut a = ExplainArgs::default();
    let mut opts: Vec<String> = Vec::new();
    let mut pos: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(x) = it.next() {
        match x.as_str() {
            "-o" | "--options" => match it.next() {
                Some(v) => opts.push(v.clone()),
                None => return Err(format!("option '{x}' requires an argument")),
            },
            "-t" | "--types" => match it.next().map(String::as_str) {
                Some("nfs") => a.nfs4 = false,
                Some("nfs4") => a.nfs4 = true,
                Some(t) => return Err(format!("unsupported type '{t}' (nfs or nfs4)")),
                None => return Err(format!("option '{x}' requires an argument")),
            },
            "-s" | "--sloppy" => a.sloppy = true,
            // -n (no utab update) changes nothing explain shows
            "-n" | "--no-mtab" => {}
            "-r" | "--ro" | "--read-only" => opts.push("ro".into()),
            "-w" | "--rw" | "--read-write" => opts.push("rw".into()),
            "--probe" => a.probe = true,
            "--json" => a.json = true,
            "--fstab" => a.fstab = Some("/etc/fstab".into()),
            "--" => pos.extend(it.by_ref().cloned()),
            s if s.starts_with("--fstab=") => a.fstab = Some(s["--fstab=".len()..].to_string()),
            s if s.starts_with("--options=") => opts.push(s["--options=".len()..].to_string()),
            s if s.starts_with("-o") && s.len() > 2 => opts.push(s[2..].to_string()),
            s if s.starts_with('-') && s.len() > 1 => return Err(format!("unknown option '{s}'")),
            _ => pos.push(x.clone()),
        }
    }
    match (pos.len(), a.fstab.is_some()) {
        (2, _) => {
            a.spec = Some(pos[0].clone());
            a.mountpoint = Some(pos[1].clone());
        }
        (1, true) => a.mountpoint = Some(pos[0].clone()),
        _ => return Err("expected SPEC and DIR (or --fstab and DIR)".into()),
    }
    a.options = opts
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(",");
    Ok(a)
}

/// One mount(2) call as the kernel would have seen it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelCall {
    pub source: String,
    pub target: String,
    pub fstype: Option<String>,
    pub flags: u64,
    /// Text data; `None` for binary or NULL data.
    pub data: Option<String>,
    /// Legacy binary `nfs_mount_data`.
    pub binary: Option<Vec<u8>>,
    pub summary: Option<String>,
    /// What the recording kernel answered (`None` = success).
    pub answered: Option<Errno>,
}

impl KernelCall {
    /// The line tests/compliance/mountshim.c logs for this call.
    pub fn shim_line(&self) -> String {
        let flags = if self.flags == 0 {
            "0".to_string()
        } else {
            format!("{:#x}", self.flags)
        };
        format!(
            "mount {} {} {} {flags} {} => {}",
            self.source,
            self.target,
            self.fstype.as_deref().unwrap_or("(null)"),
            self.data.as_deref().unwrap_or("(null)"),
            self.answered.map(|e| e as i32).unwrap_or(0)
        )
    }

    fn json(&self) -> Json {
        Json::obj()
            .with("source", self.source.as_str().into())
            .with("target", self.target.as_str().into())
            .with("type", Json::opt_str(self.fstype.clone()))
            .with("flags", self.flags.into())
            .with("flag_names", ms_flag_names(self.flags).into())
            .with("data", Json::opt_str(self.data.clone()))
            .with(
                "binary_hex",
                Json::opt_str(self.binary.as_ref().map(|b| hex(b))),
            )
            .with("binary_summary", Json::opt_str(self.summary.clone()))
            .with(
                "answered",
                self.answered
                    .map(|e| Json::str(format!("{e:?}")))
                    .unwrap_or(Json::str("0")),
            )
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A [`Kernel`] that records and never calls mount(2).
pub struct RecordingKernel {
    pub calls: Rc<RefCell<Vec<KernelCall>>>,
    script: Vec<Option<Errno>>,
    next: usize,
    /// Answer once the script is exhausted.
    then: Option<Errno>,
}

impl RecordingKernel {
    pub fn new(script: &str, then: Option<Errno>) -> RecordingKernel {
        RecordingKernel {
            calls: Rc::default(),
            script: script
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| match s {
                    "0" => None,
                    n => Some(crate::sys::kernel::errno_from_name(n).unwrap_or(Errno::EIO)),
                })
                .collect(),
            next: 0,
            then,
        }
    }
    fn answer(&mut self, mut c: KernelCall) -> Result<(), Errno> {
        let r = match self.script.get(self.next) {
            Some(x) => *x,
            None => self.then,
        };
        self.next += 1;
        c.answered = r;
        self.calls.borrow_mut().push(c);
        match r {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Kernel for RecordingKernel {
    fn mount(
        &mut self,
        source: &str,
        target: &str,
        fstype: &str,
        flags: u64,
        data: &str,
    ) -> Result<(), Errno> {
        self.answer(KernelCall {
            source: source.into(),
            target: target.into(),
            fstype: Some(fstype.into()),
            flags,
            data: Some(data.into()),
            binary: None,
            summary: None,
            answered: None,
        })
    }
    fn mount_binary(
        &mut self,
        source: &str,
        target: &str,
        fstype: &str,
        flags: u64,
        data: &[u8],
        summary: &str,
    ) -> Result<(), Errno> {
        self.answer(KernelCall {
            source: source.into(),
            target: target.into(),
            fstype: Some(fstype.into()),
            flags,
            data: None,
            binary: Some(data.to_vec()),
            summary: Some(summary.into()),
            answered: None,
        })
    }
    fn umount2(&mut self, _target: &str, _flags: i32) -> Result<(), Errno> {
        Ok(())
    }
    fn mount_no_data(&mut self, source: &str, target: &str, flags: u64) -> Result<(), Errno> {
        self.answer(KernelCall {
            source: source.into(),
            target: target.into(),
            fstype: None,
            flags,
            data: None,
            binary: None,
            summary: None,
            answered: None,
        })
    }
}

/// Without `--probe`: nothing leaves the machine (calls are counted).
#[derive(Default)]
struct NoNetwork {
    asked: Arc<Mutex<u32>>,
}

impl Backend for NoNetwork {
    fn name(&self) -> &'static str {
        "explain-no-network"
    }
    fn call(
        &mut self,
        _ep: &Endpoint,
        _cred: &Cred,
        _procnum: u32,
        _args: &[u8],
        _opts: &CallOpts,
    ) -> Result<Vec<u8>, RpcError> {
        if let Ok(mut n) = self.asked.lock() {
            *n += 1;
        }
        Err(RpcError::CantSend(Errno::ENETUNREACH))
    }
}

/// One RPC made during `--probe`.
#[derive(Clone, Debug)]
pub struct RpcTrace {
    pub call: String,
    pub millis: f64,
    pub result: String,
}

/// The real client (rpcproxyd, then the in-process pool), timed call by call.
pub struct Traced {
    inner: Client,
    pub log: Arc<Mutex<Vec<RpcTrace>>>,
}

impl Traced {
    pub fn new(inner: Client) -> Traced {
        Traced {
            inner,
            log: Arc::default(),
        }
    }
}

impl Backend for Traced {
    fn name(&self) -> &'static str {
        "explain-traced"
    }
    fn call(
        &mut self,
        ep: &Endpoint,
        cred: &Cred,
        procnum: u32,
        args: &[u8],
        opts: &CallOpts,
    ) -> Result<Vec<u8>, RpcError> {
        let t0 = Instant::now();
        let r = self.inner.call(ep, cred, procnum, args, opts);
        let result = match &r {
            Ok(body) => format!("ok ({} bytes)", body.len()),
            Err(e) => e.to_string(),
        };
        if let Ok(mut l) = self.log.lock() {
            if l.len() < 1000 {
                l.push(RpcTrace {
                    call: call_name(ep, procnum),
                    millis: t0.elapsed().as_secs_f64() * 1000.0,
                    result,
                });
            }
        }
        r
    }
    fn stats(&self) -> StatsSnapshot {
        self.inner.stats()
    }
}

/// "GETPORT to rpcbind (100000 v2) at ...": the procedure's name where it is
/// one of those the mount code makes, else the generic description.
pub fn call_name(ep: &Endpoint, procnum: u32) -> String {
    let generic = crate::client::describe_call(ep, procnum);
    let name = match (ep.prog, ep.vers, procnum) {
        (100000, 2, 3) => "GETPORT",
        (100000, 2, 4) => "DUMP",
        (100000, 3 | 4, 3) => "GETADDR",
        (100000, 4, 9) => "GETVERSADDR",
        (100005, _, 1) => "MNT",
        (100005, _, 3) => "UMNT",
        (100005, _, 4) => "UMNTALL",
        (100005, _, 5) => "EXPORT",
        _ => return generic,
    };
    generic.replacen(&format!("procedure {procnum} call"), name, 1)
}

/// Names of the `MS_*` bits in `flags`.
pub fn ms_flag_names(flags: u64) -> Vec<String> {
    const NAMES: &[(u64, &str)] = &[
        (libc::MS_RDONLY, "MS_RDONLY"),
        (libc::MS_NOSUID, "MS_NOSUID"),
        (libc::MS_NODEV, "MS_NODEV"),
        (libc::MS_NOEXEC, "MS_NOEXEC"),
        (libc::MS_SYNCHRONOUS, "MS_SYNCHRONOUS"),
        (libc::MS_REMOUNT, "MS_REMOUNT"),
        (libc::MS_MANDLOCK, "MS_MANDLOCK"),
        (libc::MS_DIRSYNC, "MS_DIRSYNC"),
        (libc::MS_NOATIME, "MS_NOATIME"),
        (libc::MS_NODIRATIME, "MS_NODIRATIME"),
        (libc::MS_BIND, "MS_BIND"),
        (libc::MS_MOVE, "MS_MOVE"),
        (libc::MS_REC, "MS_REC"),
        (libc::MS_SILENT, "MS_SILENT"),
        (libc::MS_UNBINDABLE, "MS_UNBINDABLE"),
        (libc::MS_PRIVATE, "MS_PRIVATE"),
        (libc::MS_SLAVE, "MS_SLAVE"),
        (libc::MS_SHARED, "MS_SHARED"),
        (libc::MS_RELATIME, "MS_RELATIME"),
        (libc::MS_STRICTATIME, "MS_STRICTATIME"),
        (libc::MS_LAZYTIME, "MS_LAZYTIME"),
    ];
    let mut out: Vec<String> = NAMES
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known: u64 = NAMES.iter().map(|(b, _)| b).fold(0, |a, b| a | b);
    if flags & !known != 0 {
        out.push(format!("{:#x}", flags & !known));
    }
    out
}

/// Where one option of the merged list came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub option: String,
    /// "fstab", "command line" or "nfsmount.conf".
    pub source: &'static str,
    pub detail: Option<String>,
}

/// Attributes each option of `merged` (the merge's output) to the fstab entry,
/// the command line or the configuration binding that emitted it.
pub fn attribute(
    merged: &str,
    fstab_count: usize,
    fstab_line: Option<(&str, usize)>,
    user_count: usize,
    decisions: &[crate::conf::ConfDecision],
) -> Vec<Origin> {
    let toks = OptList::parse(merged).map(|l| l.0).unwrap_or_default();
    let mut emitted = decisions
        .iter()
        .filter(|d| {
            d.emitted
                .as_deref()
                .is_some_and(|e| !e.to_ascii_lowercase().starts_with("default"))
        })
        .peekable();
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let text = t.to_string();
        if i < fstab_count {
            out.push(Origin {
                option: text,
                source: "fstab",
                detail: fstab_line.map(|(f, l)| format!("{f}:{l}")),
            });
        } else if i < user_count {
            out.push(Origin {
                option: text,
                source: "command line",
                detail: None,
            });
        } else {
            let d = emitted.next();
            out.push(Origin {
                option: text,
                source: "nfsmount.conf",
                detail: d
                    .map(|d| format!("{} {}:{} {}={}", d.section, d.file, d.line, d.tag, d.raw)),
            });
        }
    }
    out
}

/// The version order mount.nfs tries.
pub fn version_plan(m: &Mounter) -> Vec<String> {
    let v = m.ctx.version;
    match (v.major, v.mode) {
        (3, _) => vec!["3".into()],
        (4, VersionMode::Specific) => vec![format!("4.{}", v.minor)],
        (4, mode) => {
            let mut p: Vec<String> = (0..=v.minor).rev().map(|n| format!("4.{n}")).collect();
            if mode == VersionMode::Default {
                p.push("3".into());
            }
            p
        }
        (maj, _) => vec![format!("{maj} (unsupported)")],
    }
}

fn has_version_option(m: &Mounter) -> bool {
    m.ctx
        .req
        .fs_opts
        .rightmost(&["v3", "v4", "vers", "nfsvers", "minorversion"])
        .is_some()
}

/// The transports mount.nfs tries, per service.
pub fn transport_plan(m: &Mounter) -> Vec<(String, String)> {
    let o = &m.ctx.opts;
    let nfs = crate::options::netid::nfs_protocol(o).ok().flatten();
    let mnt = crate::options::netid::mount_protocol(o).ok().flatten();
    let name = |n: crate::options::Netid| format!("{n:?}").to_ascii_lowercase();
    let mut out = Vec::new();
    let v4 = version_plan(m).iter().any(|v| v.starts_with('4'));
    if v4 {
        out.push((
            "NFSv4".into(),
            nfs.map(|n| format!("{} (from proto=)", netid_text(n)))
                .unwrap_or_else(|| "tcp (the kernel's NFSv4 default)".into()),
        ));
    }
    if version_plan(m).iter().any(|v| v == "3") {
        let nfs_order = match nfs {
            Some(n) => format!("{} (fixed by proto=)", netid_text(n)),
            None if m.ctx.req.conf_default_proto_udp_first => {
                "udp, then tcp (nfsmount.conf Defaultproto)".into()
            }
            None => "tcp, then udp (rpcbind is asked which is registered)".into(),
        };
        out.push(("NFSv3 NFS service".into(), nfs_order));
        let mnt_order = match mnt {
            Some(n) => format!("{} (fixed by mountproto=)", netid_text(n)),
            None => "udp, then tcp".into(),
        };
        out.push(("NFSv3 MOUNT service".into(), mnt_order));
        let _ = name;
    }
    out
}

fn netid_text(n: crate::options::Netid) -> String {
    use crate::options::netid::{Family, NetidTransport as Transport};
    let t = match n.transport {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
        Transport::Rdma => "rdma",
    };
    match n.family {
        Family::Inet6 => format!("{t}6"),
        _ => t.to_string(),
    }
}

/// What one phase printed and how it ended.
#[derive(Clone, Debug, Default)]
pub struct Printed {
    pub exit: Option<i32>,
    pub stdout: String,
    pub stderr: Vec<String>,
}

fn printed(lines: Vec<(Stream, String)>, exit: Option<i32>) -> Printed {
    let mut p = Printed {
        exit,
        ..Printed::default()
    };
    for (s, t) in lines {
        match s {
            Stream::Stdout => p.stdout.push_str(&t),
            Stream::Stderr => p.stderr.extend(format!("{t}\n").lines().map(String::from)),
        }
    }
    p
}

impl Printed {
    fn json(&self) -> Json {
        Json::obj()
            .with(
                "exit_status",
                self.exit.map(Json::from).unwrap_or(Json::Null),
            )
            .with("stdout", self.stdout.as_str().into())
            .with("stderr", self.stderr.clone().into())
    }
}

/// Everything explain found.
pub struct Report {
    pub args: ExplainArgs,
    pub progname: String,
    pub spec: Option<String>,
    pub fstab: Option<Json>,
    pub notes: Vec<String>,
    pub setup: Printed,
    pub origins: Vec<Origin>,
    pub conf: Vec<crate::conf::ConfDecision>,
    pub req: Option<Request>,
    pub prepared: Option<PreparedView>,
    pub first: Vec<KernelCall>,
    pub chain: Vec<KernelCall>,
    pub probe: Option<ProbeView>,
}

pub struct PreparedView {
    pub host: String,
    pub export: String,
    pub options: String,
    pub versions: Vec<String>,
    pub versions_source: &'static str,
    pub transports: Vec<(String, String)>,
    pub bg: bool,
    pub retry_minutes: u64,
    pub retry_from_default: bool,
    pub stormsafe: bool,
    pub remount: bool,
    pub budget: Option<String>,
}

pub struct ProbeView {
    pub printed: Printed,
    pub rpcs: Vec<RpcTrace>,
    pub calls: Vec<KernelCall>,
    pub millis: f64,
}

/// Runs the analysis (and the probe); no output.
pub fn analyse(args: &ExplainArgs) -> Report {
    let mut notes = Vec::new();
    let mut spec = args.spec.clone();
    let mut options = args.options.clone();
    let mut fstab_count = 0;
    let mut fstab_json = None;
    let mut fstab_line: Option<(String, usize)> = None;
    let mut nfs4 = args.nfs4;
    let mut budget_entry_opts: Option<String> = None;
    if let Some(path) = &args.fstab {
        let text = {
            use std::io::Read;
            let mut t = String::new();
            if let Ok(f) = std::fs::File::open(path) {
                // bounded: fstab files are small
                let _ = f.take(1 << 20).read_to_string(&mut t);
            }
            t
        };
        let entries = fstab::parse(&text);
        let mp = args.mountpoint.clone().unwrap_or_default();
        let canon = std::fs::canonicalize(&mp)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| mp.clone());
        match fstab::find(&entries, &canon, &mp, spec.as_deref()) {
            Some(e) => {
                let helper = fstab::helper_options(&e.opts);
                fstab_count = OptList::parse(&helper).map(|l| l.len()).unwrap_or(0);
                if spec.is_none() {
                    spec = Some(e.source.clone());
                }
                if e.fstype == "nfs4" {
                    nfs4 = true;
                }
                options = [helper.as_str(), options.as_str()]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join(",");
                fstab_line = Some((path.clone(), e.line));
                budget_entry_opts = Some(e.opts.clone());
                fstab_json = Some(
                    Json::obj()
                        .with("file", path.as_str().into())
                        .with("line", e.line.into())
                        .with("spec", e.source.as_str().into())
                        .with("type", e.fstype.as_str().into())
                        .with("options", e.opts.as_str().into())
                        .with("helper_options", helper.as_str().into()),
                );
            }
            None => notes.push(format!("no entry for {mp} in {path}")),
        }
    }
    let personality = if nfs4 {
        Personality::MountNfs4
    } else {
        Personality::MountNfs
    };
    let progname = if nfs4 { "mount.nfs4" } else { "mount.nfs" }.to_string();
    if !crate::sys::process::euid_is_root() || !crate::sys::process::uid_is_root() {
        notes.push(format!(
            "run by a non-root user, {progname} would stop at once: \"not installed setuid - \\\"user\\\" NFS mounts not supported.\" (exit 32)"
        ));
    }
    let margs = MountArgs {
        fake: false,
        nomtab: true,
        verbose: false,
        sloppy: args.sloppy,
        options: options.clone(),
        spec: spec.clone(),
        mountpoint: args.mountpoint.clone(),
    };
    let (built, lines) = report::capture(|| {
        let cfg = crate::mount::config::load(&progname);
        build_request(&progname, personality, &margs, &cfg, false)
    });
    let user_count = OptList::parse(&options).map(|l| l.len()).unwrap_or(0);
    let mut rep = Report {
        args: args.clone(),
        progname: progname.clone(),
        spec: spec.clone(),
        fstab: fstab_json,
        notes,
        setup: Printed::default(),
        origins: Vec::new(),
        conf: Vec::new(),
        req: None,
        prepared: None,
        first: Vec::new(),
        chain: Vec::new(),
        probe: None,
    };
    let (req, merged) = match built {
        Ok(x) => x,
        Err(code) => {
            rep.setup = printed(lines, Some(code.exit_code()));
            return rep;
        }
    };
    rep.origins = attribute(
        &merged.opts,
        fstab_count,
        fstab_line.as_ref().map(|(f, l)| (f.as_str(), *l)),
        user_count,
        &merged.decisions,
    );
    rep.conf = merged.decisions.clone();
    let (prepared, more) = report::capture(|| Mounter::prepare(&req));
    let mut all = lines;
    all.extend(more);
    let m = match prepared {
        Ok(m) => m,
        Err(code) => {
            rep.setup = printed(all, Some(code.exit_code()));
            rep.req = Some(req);
            return rep;
        }
    };
    rep.setup = printed(all, None);
    let bg = crate::options::is_bg(&m.ctx.opts);
    let (retry_minutes, invalid) = crate::options::parse_retry(&m.ctx.opts, bg);
    let remount = req.ms_flags & libc::MS_REMOUNT != 0;
    let budget = budget_entry_opts
        .as_deref()
        .and_then(fstab::mount_timeout)
        .map(|t| {
            let b = crate::negotiate::budget::fit(
                std::time::Duration::from_secs(retry_minutes * 60),
                Some(t),
            );
            format!(
                "x-systemd.mount-timeout={} s: retries end after {} s, the helper gives up at {} s",
                t.as_secs(),
                b.retry.as_secs(),
                b.watchdog.map(|w| w.as_secs()).unwrap_or(0)
            )
        });
    rep.prepared = Some(PreparedView {
        host: m.ctx.host.clone(),
        export: m.ctx.export_path.clone(),
        options: m.ctx.opts.join(),
        versions: version_plan(&m),
        versions_source: match m.ctx.version.mode {
            VersionMode::Specific => "options (one version, no fallback)",
            VersionMode::General if req.fstype == "nfs4" && !has_version_option(&m) => {
                "mount.nfs4 (NFSv4 minor versions only)"
            }
            VersionMode::General => "options (vers=4: NFSv4 minor versions only)",
            VersionMode::Default if req.conf_default_vers.is_some() => {
                "nfsmount.conf Defaultvers (then the fallback order)"
            }
            VersionMode::Default => "built-in default (negotiation)",
        },
        transports: transport_plan(&m),
        bg,
        retry_minutes,
        retry_from_default: invalid || m.ctx.opts.get("retry").is_none(),
        stormsafe: m.ctx.stormsafe,
        remount,
        budget,
    });
    drop(m);
    // What the kernel gets first (if it accepts), and the whole v4 chain (if it
    // refuses every minor version); no RPC leaves the machine here.
    let first = dry_run(&req, None);
    if let Some(p) = offline_outcome(&req, &first) {
        let mut setup = std::mem::take(&mut rep.setup);
        setup.stdout.push_str(&p.stdout);
        setup.stderr.extend(p.stderr);
        setup.exit = p.exit;
        rep.setup = setup;
    }
    rep.first = first.calls;
    rep.chain = dry_run(&req, Some(Errno::EPROTONOSUPPORT)).calls;
    rep.req = Some(req.clone());
    if args.probe {
        rep.probe = Some(probe(&req));
    }
    rep
}

/// What one attempt without network did.
struct Dry {
    calls: Vec<KernelCall>,
    result: Result<(), Errno>,
    network: bool,
}

/// One attempt with the given kernel answer and no network.
fn dry_run(req: &Request, answer: Option<Errno>) -> Dry {
    let (dry, _) = report::capture(|| {
        let Ok(mut m) = Mounter::prepare(req) else {
            return Dry {
                calls: Vec::new(),
                result: Err(Errno::EINVAL),
                network: false,
            };
        };
        let k = RecordingKernel::new("", answer);
        let calls = k.calls.clone();
        let nn = NoNetwork::default();
        let asked = nn.asked.clone();
        m.io.kernel = Box::new(k);
        m.io.client = Client::with_backends(vec![Box::new(nn)]);
        m.found.statd_ok = true;
        let result = if req.ms_flags & libc::MS_REMOUNT != 0 {
            m.remount()
        } else if answer.is_some()
            && m.ctx.version.major == 4
            && m.ctx.version.mode != VersionMode::Specific
        {
            // the v4 minors in order; v3 needs the server (--probe)
            let r = m.resolve();
            if r.is_ok() {
                for minor in (0..=m.ctx.version.minor).rev() {
                    let _ = Attempts::v4(&mut m, minor);
                }
            }
            r
        } else {
            m.attempt()
        };
        let got = calls.borrow().clone();
        let network = asked.lock().map(|n| *n > 0).unwrap_or(true);
        Dry {
            calls: got,
            result,
            network,
        }
    });
    dry
}

/// mount.nfs's whole run when it needs no server (a bad option found before
/// any RPC): its exact lines and exit status. `None` when the run would talk to
/// the server or could retry.
fn offline_outcome(req: &Request, dry: &Dry) -> Option<Printed> {
    let e = dry.result.err()?;
    if dry.network || !crate::negotiate::PermanentTracker::default().is_permanent(e) {
        return None;
    }
    let (code, lines) = report::capture(|| {
        crate::mount::run_with(
            req.clone(),
            Some(crate::mount::Seams {
                kernel: Box::new(RecordingKernel::new("", None)),
                client: Client::with_backends(vec![Box::new(NoNetwork::default())]),
                assume_statd: true,
            }),
        )
    });
    Some(printed(lines, Some(crate::error::mount_status(&code))))
}

/// The real negotiation and retry loop, mount(2) recorded.
fn probe(req: &Request) -> ProbeView {
    // Test builds may script the recording kernel's answers like the mount(2)
    // seam's (tests/compliance.rs compares the two); production: all succeed.
    let script = crate::sys::env::test_override("NFSMOUNT_SYSCALL_ERRNOS")
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let k = RecordingKernel::new(&script, None);
    let calls = k.calls.clone();
    let traced = Traced::new(Client::with_default_backends());
    let log = traced.log.clone();
    let t0 = Instant::now();
    let (code, lines) = report::capture(|| {
        crate::mount::run_with(
            req.clone(),
            Some(crate::mount::Seams {
                kernel: Box::new(k),
                client: Client::with_backends(vec![Box::new(traced)]),
                assume_statd: true,
            }),
        )
    });
    let millis = t0.elapsed().as_secs_f64() * 1000.0;
    let rpcs = log.lock().map(|l| l.clone()).unwrap_or_default();
    let calls = calls.borrow().clone();
    ProbeView {
        printed: printed(lines, Some(crate::error::mount_status(&code))),
        rpcs,
        calls,
        millis,
    }
}

/// The exit status explain returns: the one mount.nfs would have (as far as
/// explain ran it), else 0.
pub fn exit_status(r: &Report) -> i32 {
    if let Some(p) = &r.probe {
        return p.printed.exit.unwrap_or(ToolExit::Ok.code());
    }
    r.setup.exit.unwrap_or(ToolExit::Ok.code())
}

pub fn to_json(r: &Report) -> Json {
    let mut j = Json::obj()
        .with("schema", "nfsmount-explain/1".into())
        .with("helper", r.progname.as_str().into())
        .with("spec", Json::opt_str(r.spec.clone()))
        .with("mountpoint", Json::opt_str(r.args.mountpoint.clone()))
        .with("command_line_options", r.args.options.as_str().into())
        .with("fstab", r.fstab.clone().unwrap_or(Json::Null))
        .with("notes", r.notes.clone().into())
        .with(
            "options",
            Json::Arr(
                r.origins
                    .iter()
                    .map(|o| {
                        Json::obj()
                            .with("option", o.option.as_str().into())
                            .with("source", o.source.into())
                            .with("detail", Json::opt_str(o.detail.clone()))
                    })
                    .collect(),
            ),
        )
        .with(
            "config",
            Json::Arr(
                r.conf
                    .iter()
                    .map(|d| {
                        Json::obj()
                            .with("section", d.section.as_str().into())
                            .with("file", d.file.as_str().into())
                            .with("line", d.line.into())
                            .with("tag", d.tag.as_str().into())
                            .with("value", d.raw.as_str().into())
                            .with("emitted", Json::opt_str(d.emitted.clone()))
                            .with("skipped", Json::opt_str(d.skipped))
                    })
                    .collect(),
            ),
        );
    j.set(
        "split",
        match &r.req {
            Some(q) => Json::obj()
                .with("ms_flags", q.ms_flags.into())
                .with("ms_flag_names", ms_flag_names(q.ms_flags).into())
                .with("fs_options", q.fs_opts.join().into())
                .with("utab_options", q.utab_user.as_str().into())
                .with("merged_options", q.all_opts.as_str().into()),
            None => Json::Null,
        },
    );
    j.set(
        "plan",
        match &r.prepared {
            Some(p) => Json::obj()
                .with("server", p.host.as_str().into())
                .with("export", p.export.as_str().into())
                .with("options_after_validation", p.options.as_str().into())
                .with("versions", p.versions.clone().into())
                .with("versions_source", p.versions_source.into())
                .with(
                    "transports",
                    Json::Arr(
                        p.transports
                            .iter()
                            .map(|(s, t)| {
                                Json::obj()
                                    .with("service", s.as_str().into())
                                    .with("order", t.as_str().into())
                            })
                            .collect(),
                    ),
                )
                .with(
                    "retry",
                    Json::obj()
                        .with(
                            "mode",
                            if p.remount {
                                "remount (one attempt)"
                            } else if p.bg {
                                "background"
                            } else {
                                "foreground"
                            }
                            .into(),
                        )
                        .with("minutes", p.retry_minutes.into())
                        .with(
                            "source",
                            if p.retry_from_default {
                                "built-in default"
                            } else {
                                "retry= option"
                            }
                            .into(),
                        )
                        .with(
                            "backoff_seconds",
                            if p.bg {
                                vec![1u64, 2, 4, 8, 16, 32, 64, 120]
                            } else {
                                vec![1u64, 2, 4, 8, 10]
                            }
                            .into(),
                        ),
                )
                .with("stormsafe", p.stormsafe.into())
                .with("systemd_budget", Json::opt_str(p.budget.clone())),
            None => Json::Null,
        },
    );
    j.set(
        "kernel",
        Json::obj()
            .with(
                "first_call",
                r.first.first().map(KernelCall::json).unwrap_or(Json::Null),
            )
            .with(
                "if_refused",
                Json::Arr(r.chain.iter().map(KernelCall::json).collect()),
            )
            .with(
                "needs_probe",
                (r.prepared.is_some() && r.first.is_empty()).into(),
            ),
    );
    j.set("checks", r.setup.json());
    j.set(
        "probe",
        match &r.probe {
            Some(p) => Json::obj()
                .with("millis", Json::Float(round1(p.millis)))
                .with(
                    "rpcs",
                    Json::Arr(
                        p.rpcs
                            .iter()
                            .map(|c| {
                                Json::obj()
                                    .with("call", c.call.as_str().into())
                                    .with("millis", Json::Float(round1(c.millis)))
                                    .with("result", c.result.as_str().into())
                            })
                            .collect(),
                    ),
                )
                .with(
                    "kernel_calls",
                    Json::Arr(p.calls.iter().map(KernelCall::json).collect()),
                )
                .with("mount_nfs", p.printed.json()),
            None => Json::Null,
        },
    );
    j.set("exit_status", exit_status(r).into());
    j
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub fn to_text(r: &Report) -> String {
    let mut o = String::new();
    let mut line = |s: String| {
        o.push_str(&s);
        o.push('\n');
    };
    line(format!(
        "{} {} {}{}",
        r.progname,
        r.spec.as_deref().unwrap_or("(no spec)"),
        r.args.mountpoint.as_deref().unwrap_or("(no mount point)"),
        if r.args.options.is_empty() {
            String::new()
        } else {
            format!(" -o {}", r.args.options)
        }
    ));
    for n in &r.notes {
        line(format!("note: {n}"));
    }
    if let Some(Json::Obj(f)) = &r.fstab {
        let g = |k: &str| {
            f.iter()
                .find(|(x, _)| x == k)
                .map(|(_, v)| match v {
                    Json::Str(s) => s.clone(),
                    Json::Int(n) => n.to_string(),
                    _ => String::new(),
                })
                .unwrap_or_default()
        };
        line(format!(
            "fstab: {}:{}: options '{}'; mount(8) hands the helper '{}'",
            g("file"),
            g("line"),
            g("options"),
            g("helper_options")
        ));
    }
    if !r.origins.is_empty() {
        line("options (after the nfsmount.conf merge):".into());
        for x in &r.origins {
            line(format!(
                "  {:<28} {}{}",
                x.option,
                x.source,
                x.detail
                    .as_deref()
                    .map(|d| format!(" {d}"))
                    .unwrap_or_default()
            ));
        }
    }
    let skipped: Vec<_> = r.conf.iter().filter(|d| d.skipped.is_some()).collect();
    if !skipped.is_empty() {
        line("nfsmount.conf settings not used:".into());
        for d in skipped {
            line(format!(
                "  {}={} {} {}:{}: {}",
                d.tag,
                d.raw,
                d.section,
                d.file,
                d.line,
                d.skipped.unwrap_or("")
            ));
        }
    }
    if let Some(q) = &r.req {
        let names = ms_flag_names(q.ms_flags);
        line(format!(
            "mount flags: {} ({:#x}); fs options: '{}'; kept in utab: '{}'",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join("|")
            },
            q.ms_flags,
            q.fs_opts.join(),
            q.utab_user
        ));
    }
    if let Some(p) = &r.prepared {
        line(format!(
            "server {} export {}; versions in order: {} ({})",
            p.host,
            p.export,
            p.versions.join(" -> "),
            p.versions_source
        ));
        for (s, t) in &p.transports {
            line(format!("  {s}: {t}"));
        }
        line(format!(
            "retry: {} for {} minute(s) ({}){}",
            if p.remount {
                "remount, one attempt"
            } else if p.bg {
                "one foreground attempt, then in the background"
            } else {
                "foreground"
            },
            p.retry_minutes,
            if p.retry_from_default {
                "built-in default"
            } else {
                "retry="
            },
            if p.stormsafe {
                "; stormsafe: NFSv3 uses binary mount data"
            } else {
                ""
            }
        ));
        if let Some(b) = &p.budget {
            line(format!("systemd: {b}"));
        }
        match r.first.first() {
            Some(c) => line(format!("kernel gets first: {}", call_text(c))),
            None if r.setup.exit.is_some() || r.probe.is_some() => {}
            None => line(
                "kernel options: NFSv3 needs the server's answers (rpcbind ports, MOUNT): run with --probe".into(),
            ),
        }
        if r.chain.len() > 1 {
            line("if the kernel refuses each NFSv4 minor version:".into());
            for c in &r.chain {
                line(format!("  {}", call_text(c)));
            }
            if p.versions.iter().any(|v| v == "3") {
                line("  then NFSv3 (its kernel options need the server's answers: --probe)".into());
            }
        }
    }
    if r.setup.exit.is_some() || !r.setup.stderr.is_empty() || !r.setup.stdout.is_empty() {
        line("mount.nfs would print:".into());
        for l in r.setup.stdout.lines() {
            line(format!("  (stdout) {l}"));
        }
        for l in &r.setup.stderr {
            line(format!("  {l}"));
        }
        if let Some(c) = r.setup.exit {
            line(format!("and exit with status {c}"));
        }
    }
    if let Some(p) = &r.probe {
        line(format!("probe ({:.1} ms):", p.millis));
        for c in &p.rpcs {
            line(format!("  {:>8.1} ms  {}: {}", c.millis, c.call, c.result));
        }
        for c in &p.calls {
            line(format!("  mount(2): {}", call_text(c)));
        }
        for l in p.printed.stdout.lines() {
            line(format!("  (stdout) {l}"));
        }
        for l in &p.printed.stderr {
            line(format!("  {l}"));
        }
        line(format!(
            "mount.nfs would exit with status {}",
            p.printed.exit.unwrap_or(0)
        ));
    }
    o
}

fn call_text(c: &KernelCall) -> String {
    let data = match (&c.data, &c.summary) {
        (Some(d), _) => format!("'{d}'"),
        (None, Some(s)) => format!(
            "binary nfs_mount_data ({} bytes: {s})",
            c.binary.as_ref().map(|b| b.len()).unwrap_or(0)
        ),
        _ => "(null)".into(),
    };
    format!(
        "type {} flags {} data {}{}",
        c.fstype.as_deref().unwrap_or("(null)"),
        if c.flags == 0 {
            "0".into()
        } else {
            ms_flag_names(c.flags).join("|")
        },
        data,
        match c.answered {
            Some(e) => format!(" -> {e:?}"),
            None => String::new(),
        }
    )
}

/// `nfsmount explain ...`; returns the exit status.
pub fn main(args: &[String]) -> i32 {
    let a = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("nfsmount explain: {e}");
            eprint!("{USAGE}");
            return ToolExit::Usage.code();
        }
    };
    let r = analyse(&a);
    if a.json {
        print!("{}", to_json(&r).pretty());
    } else {
        print!("{}", to_text(&r));
    }
    exit_status(&r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn arguments() {
        let a = parse_args(&v(&[
            "s:/x", "/m", "-o", "a", "-r", "-ob", "--json", "--probe",
        ]))
        .unwrap();
        assert_eq!(a.spec.as_deref(), Some("s:/x"));
        assert_eq!(a.options, "a,ro,b");
        assert!(a.json && a.probe && !a.nfs4);
        let a = parse_args(&v(&["--fstab=/tmp/f", "/m"])).unwrap();
        assert_eq!(a.fstab.as_deref(), Some("/tmp/f"));
        assert_eq!(a.spec, None);
        assert!(parse_args(&v(&["/m"])).is_err());
        assert!(parse_args(&v(&["s:/x", "/m", "-q"])).is_err());
        assert!(parse_args(&v(&["s:/x", "/m", "-t", "ext4"])).is_err());
        assert!(parse_args(&v(&["s:/x", "/m", "-o"])).is_err());
    }

    #[test]
    fn recording_kernel_follows_its_script_then_the_default() {
        let mut k = RecordingKernel::new("EINVAL,0", Some(Errno::EPROTONOSUPPORT));
        assert_eq!(k.mount("s:/x", "/m", "nfs", 0, "a"), Err(Errno::EINVAL));
        assert_eq!(k.mount("s:/x", "/m", "nfs", 1, "b"), Ok(()));
        assert_eq!(
            k.mount("s:/x", "/m", "nfs", 0, "c"),
            Err(Errno::EPROTONOSUPPORT)
        );
        let c = k.calls.borrow();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].shim_line(), "mount s:/x /m nfs 0 a => 22");
        assert_eq!(c[1].shim_line(), "mount s:/x /m nfs 0x1 b => 0");
    }

    #[test]
    fn attribution_follows_the_merge() {
        use crate::conf::{Config, MemSource};
        let text = "[ NFSMount_Global_Options ]\nsoft=True\ntimeo=30\nvers=3\n";
        let (cfg, _) = Config::parse_text(&MemSource::new(), "/etc/nfsmount.conf", text, &|_| None);
        let m = crate::conf::merge(&cfg, "rsize=8192,vers=4.1", "/m", "s").unwrap();
        let o = attribute(&m.opts, 0, None, 2, &m.decisions);
        let got: Vec<(String, &str)> = o.iter().map(|x| (x.option.clone(), x.source)).collect();
        assert_eq!(
            got,
            vec![
                ("rsize=8192".into(), "command line"),
                ("vers=4.1".into(), "command line"),
                ("timeo=30".into(), "nfsmount.conf"),
                ("soft".into(), "nfsmount.conf"),
            ]
        );
        assert!(o[2]
            .detail
            .as_deref()
            .unwrap()
            .contains("/etc/nfsmount.conf:3 timeo=30"));
        let skipped: Vec<_> = m.decisions.iter().filter(|d| d.skipped.is_some()).collect();
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].tag, "vers");
        assert_eq!(skipped[0].line, 4);
    }

    #[test]
    fn rpc_names() {
        let a: std::net::SocketAddr = "10.0.0.1:111".parse().unwrap();
        let ep = Endpoint::new(a, 100000, 2, crate::client::Transport::Tcp);
        assert_eq!(
            call_name(&ep, 3),
            "GETPORT to rpcbind (100000 v2) at 10.0.0.1 port 111/tcp"
        );
        let ep = Endpoint::new(a, 100005, 3, crate::client::Transport::Udp);
        assert!(call_name(&ep, 1).starts_with("MNT to mountd (100005 v3)"));
        assert!(call_name(&ep, 0).starts_with("NULL call to mountd"));
    }

    #[test]
    fn flag_names() {
        assert_eq!(
            ms_flag_names(libc::MS_RDONLY | libc::MS_NOSUID),
            vec!["MS_RDONLY", "MS_NOSUID"]
        );
        assert!(ms_flag_names(0).is_empty());
        assert_eq!(ms_flag_names(1 << 40), vec!["0x10000000000"]);
    }
}
