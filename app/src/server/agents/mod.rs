//! Probe agents: `ipvet agent` runs inside a network the server cannot reach, pulls the
//! addresses of its site's networks that a cycle (or an allocation) needs checked, probes
//! them there and posts what answered; the server adds the DNSBL half and writes the
//! verdict under the agent's claim, as it does for its own workers.
//!
//! [`registry`] holds the agents and their tokens, and whether a site has a live one;
//! [`wire`] the shapes agent and server exchange; [`work`] the server's half of the
//! exchange; [`client`] the agent itself.

pub mod client;
pub mod registry;
pub mod vet;
pub mod wire;
pub mod work;
