//! The platform's error codes (`errCode`), each written once with its meaning.
//!
//! Codes are four-digit strings: `0000` is success, `1xxx` a bad request field, `2xxx` a
//! business-rule failure, `3xxx` an authentication failure, `4xxx` a request the
//! platform does not pass to an API, each answered with the HTTP status its last three
//! digits name (`4004` an unknown path, `4005` a wrong method, `4029` a caller over its
//! request budget), `9999` an internal error.
//! docs/merchant-guide.md lists them for merchants.

macro_rules! err_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $meaning:literal;)*) => {
        /// An `errCode` of the platform API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrCode {
            $($(#[$doc])* #[doc = $meaning] $variant,)*
        }

        impl ErrCode {
            /// Every code, in code order.
            pub const ALL: &'static [ErrCode] = &[$(ErrCode::$variant,)*];

            /// The code as the wire carries it, such as `"1001"`.
            pub fn code(self) -> &'static str {
                match self {
                    $(ErrCode::$variant => $code,)*
                }
            }

            /// What the code means, in one phrase.
            pub fn meaning(self) -> &'static str {
                match self {
                    $(ErrCode::$variant => $meaning,)*
                }
            }
        }
    };
}

err_codes! {
    Success = "0000", "success";
    MissingField = "1001", "a required field is missing or empty";
    FieldLength = "1002", "a field is too long or too short";
    BadFormat = "1003", "a field (or the body) has the wrong format";
    BadTimestamp = "1004", "requestTimestamp is not yyyy-MM-dd HH:mm:ss";
    BadUrl = "1005", "notifyUrl is not an absolute http(s) URL with a host";
    /// netpay's `ABNORMAL_REQUEST_TIME`, in this API's numeric codes.
    AbnormalRequestTime = "1006", "requestTimestamp is too far from the platform's clock (ABNORMAL_REQUEST_TIME)";
    UnknownMerchant = "2001", "no merchant with this mid";
    ContractNotFound = "2002", "no such contract";
    DuplicateContractNo = "2003", "the merchant already used this contractNo";
    AuthHeaderMissing = "3001", "no Authorization header";
    AuthHeaderMalformed = "3002", "the Authorization header cannot be read";
    UnknownAppId = "3003", "no application with this appId";
    TimestampOutOfWindow = "3004", "the signed timestamp is too far from now";
    NonceReplayed = "3005", "the nonce was already used";
    SignatureMismatch = "3006", "the signature does not verify";
    TokenInvalid = "3007", "the access token is unknown or expired";
    BadTokenRequest = "3008", "the access-token request is invalid";
    NoSuchApi = "4004", "no platform API at this path";
    MethodNotAllowed = "4005", "the platform API does not take this HTTP method";
    /// Answered with HTTP 429 and `Retry-After`; see docs/operations.md, "Rate limits".
    RateLimited = "4029", "the appId is over its request budget";
    InternalError = "9999", "internal error";
}

impl std::fmt::Display for ErrCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_ordered_and_four_digits() {
        let codes: Vec<&str> = ErrCode::ALL.iter().map(|c| c.code()).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
        assert!(codes
            .iter()
            .all(|c| c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit())));
        assert_eq!(codes.len(), 22);
        assert!(ErrCode::ALL.iter().all(|code| !code.meaning().is_empty()));
    }
}
