//! Authentication of the platform API: access tokens, `OPEN-BODY-SIG` signatures, nonces
//! and token expiry, a body's `requestTimestamp` against the clock, and the merchant
//! guide's signature example and errCode table.

mod body_sig;
mod expiry;
mod guide;
mod rate_limits;
mod request_time;
mod rotation;
mod tokens;
