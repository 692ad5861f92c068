//! Fuzz target bodies, shared by the cargo-fuzz binaries and by
//! `tests/rpc_fuzz_bodies.rs`. Each decodes arbitrary bytes; where the format
//! allows, a successful decode is re-encoded and decoded again, and the two
//! values must be equal. Any panic is a bug.
#![allow(dead_code)]

use nfsmount::proto::{mount, portmap, rpcbind, uaddr};
use nfsmount::rpc::auth::AuthSys;
use nfsmount::rpc::msg::{decode_call, encode_call};
use nfsmount::rpc::record::{encode_record, RecordLimits, RecordReader};
use nfsmount::rpc::Reply;

pub fn reply_decode(data: &[u8]) {
    if let Ok(r) = Reply::decode(data) {
        let b = r.encode().expect("a decoded reply re-encodes");
        assert_eq!(Reply::decode(&b).expect("re-decode"), r);
    }
}

pub fn call_decode(data: &[u8]) {
    if let Ok((h, args)) = decode_call(data) {
        let b = encode_call(&h, args).expect("a decoded call re-encodes");
        let (h2, a2) = decode_call(&b).expect("re-decode");
        assert_eq!(h2, h);
        assert_eq!(a2, args);
    }
    if let Ok(a) = AuthSys::decode_body(data) {
        let b = a.encode_body().expect("re-encode");
        assert_eq!(AuthSys::decode_body(&b).expect("re-decode"), a);
    }
}

pub fn record_reassembly(data: &[u8]) {
    let limits = RecordLimits {
        max_record: 4096,
        max_fragments: 8,
    };
    // The first byte picks how reads are split.
    let (cut, rest) = match data.split_first() {
        Some((c, r)) => (usize::from(*c % 16) + 1, r),
        None => (1, data),
    };
    let mut r = RecordReader::new(limits);
    let mut records = Vec::new();
    for chunk in rest.chunks(cut) {
        if r.feed(chunk).is_err() {
            assert!(r.has_failed());
            break;
        }
        while let Some(rec) = r.pop() {
            assert!(rec.len() <= limits.max_record);
            records.push(rec);
        }
    }
    // Re-frame what was reassembled; it must come back unchanged.
    for rec in records {
        let mut r2 = RecordReader::new(limits);
        r2.feed(&encode_record(&rec, cut * 7)).unwrap_or_else(|e| {
            // More fragments than the cap is a legitimate refusal.
            assert!(matches!(
                e,
                nfsmount::rpc::RecordError::TooManyFragments { .. }
            ))
        });
        if !r2.has_failed() {
            assert_eq!(r2.pop().expect("one record"), rec);
        }
    }
}

pub fn proto_portmap(data: &[u8]) {
    if let Ok(p) = portmap::decode_getport_reply(data) {
        assert_eq!(portmap::encode_getport_reply(p), data);
    }
    if let Ok(list) = portmap::decode_dump_reply(data) {
        let b = portmap::encode_dump_reply(&list);
        assert_eq!(portmap::decode_dump_reply(&b).expect("re-decode"), list);
    }
    let mut d = nfsmount::xdr::Decoder::new(data);
    let _ = portmap::Mapping::decode(&mut d);
}

pub fn proto_rpcbind(data: &[u8]) {
    if let Ok(q) = rpcbind::Rpcb::decode(data) {
        assert_eq!(rpcbind::Rpcb::decode(&q.encode()).expect("re-decode"), q);
    }
    if let Ok(s) = rpcbind::decode_getaddr_reply(data) {
        assert_eq!(rpcbind::encode_getaddr_reply(&s), data);
        uaddr_str(&s);
    }
}

pub fn proto_mount(data: &[u8]) {
    if let Ok(r) = mount::MntRes3::decode(data) {
        let b = r.encode().expect("re-encode");
        assert_eq!(mount::MntRes3::decode(&b).expect("re-decode"), r);
    }
    if let Ok(r) = mount::FhStatus::decode(data) {
        assert_eq!(mount::FhStatus::decode(&r.encode()).expect("re-decode"), r);
    }
    if let Ok(list) = mount::decode_export_reply(data) {
        // Names are converted lossily, which can lengthen them past the caps; when
        // they still fit, the round trip must be exact.
        if let Ok(again) = mount::decode_export_reply(&mount::encode_export_reply(&list)) {
            assert_eq!(again, list);
        }
    }
    if let Ok(p) = mount::decode_dirpath(data) {
        if let Ok(b) = mount::encode_dirpath(&p) {
            assert_eq!(mount::decode_dirpath(&b).expect("re-decode"), p);
        }
    }
}

fn uaddr_str(s: &str) {
    if let Ok(a) = uaddr::parse(s) {
        assert_eq!(uaddr::parse(&uaddr::format(&a)).expect("re-parse"), a);
    }
}

pub fn uaddr_parse(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        uaddr_str(s);
    }
}
