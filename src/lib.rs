//! nfsmount — the private library behind `mount.nfs`, `mount.nfs4`, `umount.nfs`,
//! `umount.nfs4` and `rpcproxyd`.
//!
//! Layering (docs/CONTRIBUTING.md "Layers", checked by tests/layers.rs):
//! * sans-IO cores, each under `#![forbid(unsafe_code)]`: [`options`], [`conf`], [`spec`],
//!   [`negotiate`], [`xdr`], [`rpc`], [`proto`], [`errno`].
//! * the OS layer: [`sys`] — mount(2)/umount2(2), sockets, resolver, syslog, clocks.
//!   Every `unsafe` lives there, each with a `// SAFETY:` comment.
//! * [`utab`]: libmount's utab format and its locked update (file I/O).
//! * shared vocabulary, sans-IO: [`call`] (endpoints, call options, RPC errors),
//!   [`proxywire`] (rpcproxyd's local protocol), [`args`] (parsed command lines).
//! * orchestration: [`client`] (shared-connection RPC client), [`mount`], [`umount`],
//!   [`proxy`] (rpcproxyd; never imports [`client`], nor it the daemon).
//! * [`error`]: the error table (failure → nfs-utils lines, diagnosis, exit code). [`cli`]: argv parsing;
//!   [`app`]: the helper's dispatcher (the only module that uses [`cli`]).
// unsafe_code is denied crate-wide in Cargo.toml ([lints]); only `sys` may use it.

pub mod app;
pub mod args;
pub mod call;
pub mod cli;
pub mod client;
pub mod conf;
pub mod errno;
pub mod error;
pub mod fstab;
pub mod mount;
pub mod negotiate;
pub mod options;
pub mod portcache;
pub mod proto;
pub mod proxy;
pub mod proxywire;
pub mod report;
pub mod rpc;
pub mod spec;
#[allow(unsafe_code)]
pub mod sys;
pub mod tools;
pub mod umount;
pub mod usermount;
pub mod utab;
pub mod xdr;
