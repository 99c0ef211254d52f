//! Guarantee bills on the netpay bill APIs (spec §3.4, §3.7): the `secureTransaction`
//! flag a bill is created with, and the hold's fields a bill query answers. Both doors
//! (the open-platform bills API and the bill gateway) read and answer them here.

use serde_json::{Map, Value};

use crate::platform::http::open::netpay::{put, NetpayError, Request};
use crate::platform::payments::order::{Guarantee, Order};

impl Request {
    /// A boolean flag: `"true"` or `"false"` as the spec writes them (or a JSON boolean),
    /// `false` when absent.
    pub(super) fn flag(&self, name: &str) -> Result<bool, NetpayError> {
        match self.fields.get(name) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(flag)) => Ok(*flag),
            Some(Value::String(s)) if s.is_empty() || s == "false" => Ok(false),
            Some(Value::String(s)) if s == "true" => Ok(true),
            Some(other) => Err(NetpayError::bad(format!(
                "{name} must be \"true\" or \"false\"; received {}",
                other.to_string().chars().take(40).collect::<String>()
            ))),
        }
    }

    /// `secureTransaction`: whether the bill is a guarantee bill, whose payment is held
    /// until the merchant completes or cancels it. A split bill (`divisionFlag` true) may
    /// not be one (spec §3.4).
    pub fn secure_transaction(&self) -> Result<bool, NetpayError> {
        let secure = self.flag("secureTransaction")?;
        if secure && self.flag("divisionFlag")? {
            return Err(NetpayError::bad(
                "secureTransaction must be false or absent when divisionFlag is true: a split \
                 bill is no guarantee bill (spec §3.4); received secureTransaction true with \
                 divisionFlag true",
            ));
        }
        Ok(secure)
    }
}

/// A guarantee bill's `secureStatus` and `completeAmount` (so spelled in a query, spec
/// §3.7), once it is paid; nothing for any other bill.
pub fn put_guarantee(fields: &mut Map<String, Value>, order: &Order) {
    if let Some(Guarantee {
        status: Some(status),
        completed_amount,
    }) = order.guarantee
    {
        put(fields, "secureStatus", status.as_str());
        put(fields, "completeAmount", completed_amount);
    }
}
