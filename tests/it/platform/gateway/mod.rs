//! The netpay bill gateway (`/netpay-route-server/api/`), called by a client written
//! from the spec: its known answers, every operation on a bill, the refusals (with
//! nothing changed), message sources, and the rotation of a source's key.

mod bills;
mod known_answers;
mod refusals;
mod rotation;
mod sources;
