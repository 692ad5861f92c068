//! Daemon counters and the `rpcproxyd --stats` output (text in nfsstat's style,
//! and JSON). Formatting is pure.
#![forbid(unsafe_code)]

use crate::call::stats::{Counters, EndpointId};
use crate::proxywire::{Guards, ProxyStats};
use std::collections::HashMap;
use std::fmt::Write;

/// Most endpoints with their own counters.
pub const MAX_ENDPOINTS: usize = 1024;

/// Running totals kept by the daemon.
#[derive(Debug, Default)]
pub struct DaemonStats {
    pub total: Counters,
    pub per: HashMap<EndpointId, Counters>,
    /// Refused peers, memory drops; `buffered` is filled in by the server.
    pub guards: Guards,
}

impl DaemonStats {
    /// Counts into the total and, for the first [`MAX_ENDPOINTS`] endpoints seen,
    /// per endpoint (bounded memory whatever clients ask for).
    pub fn bump(&mut self, id: EndpointId, f: impl Fn(&mut Counters)) {
        f(&mut self.total);
        if let Some(c) = self.per.get_mut(&id) {
            f(c);
        } else if self.per.len() < MAX_ENDPOINTS {
            f(self.per.entry(id).or_default());
        }
    }
    pub fn snapshot(&self, clients: usize, upstreams: usize) -> ProxyStats {
        let mut per_endpoint: Vec<_> = self.per.iter().map(|(k, v)| (*k, *v)).collect();
        per_endpoint.sort_by_key(|(k, _)| *k);
        ProxyStats {
            clients: clients as u32,
            upstreams: upstreams as u32,
            total: self.total,
            per_endpoint,
            guards: self.guards,
        }
    }
}

fn table(out: &mut String, heads: &[&str], vals: &[u64]) {
    for h in heads {
        let _ = write!(out, "{h:<11}");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    for v in vals {
        let _ = write!(out, "{:<11}", v.to_string());
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
}

fn block(out: &mut String, c: &Counters) {
    out.push_str("Client rpc stats:\n");
    table(
        out,
        &[
            "calls", "badcalls", "retrans", "badxids", "timeouts", "cantconn",
        ],
        &[
            c.calls, c.badcalls, c.retrans, c.badxids, c.timeouts, c.cantconn,
        ],
    );
    out.push_str("\nConnections:\n");
    table(
        out,
        &["opened", "reused", "closedidle", "redials"],
        &[c.conns_opened, c.conns_reused, c.closed_idle, c.redials],
    );
}

/// The text form.
pub fn format_text(s: &ProxyStats) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "rpcproxyd: {} clients, {} upstream connections",
        s.clients, s.upstreams
    );
    let _ = writeln!(
        out,
        "refused peers {}, memory drops {}, partial frames {} bytes\n",
        s.guards.refused_peers, s.guards.memory_drops, s.guards.buffered
    );
    block(&mut out, &s.total);
    for (id, c) in &s.per_endpoint {
        let _ = writeln!(
            out,
            "\nServer {} prog {} vers {} {}:",
            id.addr,
            id.prog,
            id.vers,
            if id.tcp { "tcp" } else { "udp" }
        );
        block(&mut out, c);
    }
    out
}

fn json_counters(c: &Counters) -> String {
    format!(
        "\"calls\":{},\"badcalls\":{},\"retrans\":{},\"badxids\":{},\"timeouts\":{},\"cantconn\":{},\"conns_opened\":{},\"conns_reused\":{},\"closed_idle\":{},\"redials\":{}",
        c.calls, c.badcalls, c.retrans, c.badxids, c.timeouts, c.cantconn, c.conns_opened, c.conns_reused, c.closed_idle, c.redials
    )
}

/// The JSON form (one object; addresses are the only strings and need no escaping).
pub fn format_json(s: &ProxyStats) -> String {
    let servers: Vec<String> = s
        .per_endpoint
        .iter()
        .map(|(id, c)| {
            format!(
                "{{\"server\":\"{}\",\"prog\":{},\"vers\":{},\"transport\":\"{}\",{}}}",
                id.addr,
                id.prog,
                id.vers,
                if id.tcp { "tcp" } else { "udp" },
                json_counters(c)
            )
        })
        .collect();
    format!(
        "{{\"clients\":{},\"upstreams\":{},\"refused_peers\":{},\"memory_drops\":{},\"buffered\":{},\"total\":{{{}}},\"servers\":[{}]}}\n",
        s.clients,
        s.upstreams,
        s.guards.refused_peers,
        s.guards.memory_drops,
        s.guards.buffered,
        json_counters(&s.total),
        servers.join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json() {
        let mut d = DaemonStats::default();
        let id = EndpointId {
            addr: "127.0.0.1:111".parse().unwrap(),
            prog: 100000,
            vers: 2,
            tcp: true,
        };
        d.bump(id, |c| c.calls += 3);
        d.bump(id, |c| c.conns_opened += 1);
        d.guards.refused_peers = 4;
        d.guards.buffered = 77;
        let s = d.snapshot(2, 1);
        let t = format_text(&s);
        assert!(t.starts_with(
            "rpcproxyd: 2 clients, 1 upstream connections\nrefused peers 4, memory drops 0, partial frames 77 bytes\n\n"
        ));
        assert!(t.contains("Client rpc stats:\ncalls      badcalls   retrans"));
        assert!(t.contains("\n3          0"));
        assert!(t.contains("Server 127.0.0.1:111 prog 100000 vers 2 tcp:"));
        let j = format_json(&s);
        assert!(j.starts_with(
            "{\"clients\":2,\"upstreams\":1,\"refused_peers\":4,\"memory_drops\":0,\"buffered\":77,\"total\":{\"calls\":3,"
        ));
        assert!(j.contains("\"server\":\"127.0.0.1:111\""));
    }
}
