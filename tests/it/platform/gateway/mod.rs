//! The netpay bill gateway (`/netpay-route-server/api/`), called by a client written
//! from the spec: its known answers, every operation on a bill, guarantee bills, the
//! refusals (with nothing changed), message sources and the rotation of a source's key,
//! the fields a bill echoes, self-made QR codes and bills.updateQRCode (also on a bill
//! made before codes were kept), fixed QR codes and the payment-element query, split bills and their refunds, and the
//! returnUrl front channel of the bill page, also in a real browser.

mod bills;
mod browser;
mod codes;
mod echoed;
mod fixed;
mod front;
mod guarantee;
mod known_answers;
mod old_codes;
mod refusals;
mod rotation;
mod sources;
mod split;
