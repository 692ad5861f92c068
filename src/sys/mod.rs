//! The OS layer: everything that touches the kernel or the outside world.
//!
//! Every `unsafe` block of the crate lives under this module, each with a
//! `// SAFETY:` comment. The rest of the crate talks to the system only through
//! these functions and traits, which keeps the protocol and option cores sans-IO.

pub mod activation;
pub mod clock;
pub mod env;
pub mod epoll;
pub mod kernel;
pub mod local;
pub mod net;
pub mod portpool;
pub mod privs;
pub mod process;
pub mod resolve;
pub mod safepath;
pub mod syslog;
pub mod termination;
pub mod unixpeer;
