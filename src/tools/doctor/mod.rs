//! `nfsmount doctor [SERVER[:/PATH]] [--json]`: pre-flight of this machine and,
//! optionally, a server. Facts are gathered by [`probe`] (bounded waits), judged
//! by [`findings`] (sans-IO). Exit status 0 when nothing is an error, 1 otherwise,
//! 2 for a bad command line.

pub mod findings;
pub mod probe;

use super::json::Json;
use findings::Finding;

pub const USAGE: &str = "usage: nfsmount doctor [SERVER[:/PATH]] [--json]\n";

pub fn to_json(target: Option<&str>, all: &[Finding]) -> Json {
    Json::obj()
        .with("schema", "nfsmount-doctor/1".into())
        .with("server", Json::opt_str(target))
        .with(
            "findings",
            Json::Arr(
                all.iter()
                    .map(|x| {
                        Json::obj()
                            .with("id", x.id.as_str().into())
                            .with("level", x.level.as_str().into())
                            .with("message", x.message.as_str().into())
                            .with("advice", x.advice.as_str().into())
                            .with("millis", x.millis.map(Json::Float).unwrap_or(Json::Null))
                    })
                    .collect(),
            ),
        )
        .with(
            "errors",
            all.iter()
                .filter(|x| x.level == findings::Level::Error)
                .count()
                .into(),
        )
        .with(
            "warnings",
            all.iter()
                .filter(|x| x.level == findings::Level::Warning)
                .count()
                .into(),
        )
        .with("exit_status", findings::exit_status(all).into())
}

pub fn to_text(all: &[Finding]) -> String {
    let mut o = String::new();
    for x in all {
        let tag = match x.level {
            findings::Level::Ok => "ok     ",
            findings::Level::Warning => "WARNING",
            findings::Level::Error => "ERROR  ",
        };
        o.push_str(&format!("{tag} {:<20} {}\n", x.id, x.message));
        if !x.advice.is_empty() && x.level != findings::Level::Ok {
            o.push_str(&format!("        {:<20} -> {}\n", "", x.advice));
        }
    }
    let e = all
        .iter()
        .filter(|x| x.level == findings::Level::Error)
        .count();
    let w = all
        .iter()
        .filter(|x| x.level == findings::Level::Warning)
        .count();
    o.push_str(&format!("{e} error(s), {w} warning(s)\n"));
    o
}

pub fn main(args: &[String]) -> i32 {
    let mut json = false;
    let mut target: Option<String> = None;
    for a in args {
        match a.as_str() {
            "--json" => json = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                return crate::error::ToolExit::Ok.code();
            }
            s if s.starts_with('-') => {
                eprintln!("nfsmount doctor: unknown option '{s}'");
                eprint!("{USAGE}");
                return crate::error::ToolExit::DoctorUsage.code();
            }
            s if target.is_none() => target = Some(s.to_string()),
            _ => {
                eprint!("{USAGE}");
                return crate::error::ToolExit::DoctorUsage.code();
            }
        }
    }
    let mut all = findings::local(&probe::local());
    if let Some(t) = &target {
        all.extend(findings::server(&probe::server(t)));
    }
    if json {
        print!("{}", to_json(target.as_deref(), &all).pretty());
    } else {
        print!("{}", to_text(&all));
    }
    findings::exit_status(&all)
}
