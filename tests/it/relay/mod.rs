//! The `listen` relay end to end: the sandbox, the real `ums-notify listen` binary and a
//! local handler; the bytes the handler gets, the judging of its answers, tries while no
//! session is connected, and a session replaced by a newer one.

mod instances;
mod session;
