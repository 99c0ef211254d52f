//! The egress guard: in `public` mode a notify URL naming this host or its network is
//! refused when it is given, a name resolving to such an address is refused when a try
//! connects (and retried on the schedule), the allowlist exempts networks, and startup
//! says which mode is in force.

mod connect;
mod creation;
mod platform;
