//! The netpay bill gateway (`/netpay-route-server/api/`), called by a client written
//! from the spec: its known answers, every operation on a bill, guarantee bills, the
//! refusals (with nothing changed), and message sources.

mod bills;
mod guarantee;
mod known_answers;
mod refusals;
mod sources;
