//! nfsmount — the private library behind `mount.nfs`, `mount.nfs4`, `umount.nfs`,
//! `umount.nfs4` and `rpcproxyd`.
//!
//! Layering (see README "Architecture"):
//! * sans-IO cores, each under `#![forbid(unsafe_code)]`: [`options`], [`conf`], [`spec`],
//!   [`negotiate`], [`xdr`], [`rpc`], [`proto`], [`utab`] (format only).
//! * the OS layer: [`sys`] — mount(2)/umount2(2), sockets, resolver, syslog, clocks.
//!   Every `unsafe` lives there, each with a `// SAFETY:` comment.
//! * shared vocabulary, sans-IO: [`call`] (endpoints, call options, RPC errors),
//!   [`proxywire`] (rpcproxyd's local protocol), [`args`] (parsed command lines).
//! * orchestration: [`client`] (shared-connection RPC client), [`mount`], [`umount`],
//!   [`proxy`] (rpcproxyd; never imports [`client`], nor it the daemon).
//! * [`error`]: errno → message → exit code, in one place. [`cli`]: argv parsing;
//!   [`app`]: the helper's dispatcher (the only module that uses [`cli`]).
#![deny(unsafe_code)]

pub mod app;
pub mod args;
pub mod call;
pub mod cli;
pub mod client;
pub mod conf;
pub mod error;
pub mod mount;
pub mod negotiate;
pub mod options;
pub mod portcache;
pub mod proto;
pub mod proxy;
pub mod proxywire;
pub mod rpc;
pub mod spec;
#[allow(unsafe_code)]
pub mod sys;
pub mod umount;
pub mod utab;
pub mod xdr;
