//! The platform's own routes (`/v1/...`), authenticated by the platform's schemes and
//! answering platform-style (`{"errCode", "errInfo"}`, see [`error`]): [`authn`] (access
//! tokens, and the check of both `Authorization` schemes on every call) and
//! [`entrust_pay`] (contract sign, sign-query); the netpay order APIs ([`netpay`]) answer
//! in netpay's own style (`{"errCode": "SUCCESS", "errMsg", …}`); [`unmatched`] answers
//! what reaches no API (an unknown path under `/v1/`, a wrong method).

pub mod authn;
pub mod entrust_pay;
pub mod error;
pub mod netpay;
pub mod unmatched;
