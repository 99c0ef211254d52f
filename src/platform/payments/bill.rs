//! What a QR bill has that a trade order has not: the QR code it was made on (the
//! platform's or the merchant's own, spec V3.5 §3.4 "self-made QR codes"), the URL of
//! that code (`billQRCode`), the fields the bill echoes (`memberId`, `counterNo`,
//! `goods`) and where the bill page sends the buyer back to (`returnUrl`, §12).
//!
//! # QR codes
//!
//! A code's id is the whole of its URL's query, `{base}/bills/qrCode.do?id={qrCodeId}`,
//! so it is unique across merchants. A merchant that prints its own codes builds the URL
//! itself and sends the `qrCodeId` (at most 32 characters, starting with its msgSrcId)
//! with `bills.getQRCode`; otherwise the platform makes one up: the bill's source number,
//! the China Standard Time date as `yyMMdd` and 16 random digits, 26 characters, the shape
//! of the ids genuine platform answers carry. A code holds one bill at a time; a
//! `bills.updateQRCode` binds the next one (see [`crate::platform::payments::codes`]).
//!
//! The URL a code is handed out with points at the sandbox's own bill page (the
//! `--platform-public-url`), so that whoever opens or scans `billQRCode` reaches the
//! sandbox, as a buyer scanning a real code reaches the platform. The URL is kept with the
//! bill, as a printed code keeps it: bills made before codes were kept keep the
//! `https://qr.chinaums.com/…` URL they were handed out with.

use chrono::{DateTime, Utc};

use crate::platform::payments::fields::source_number;
use crate::platform::payments::order::{Order, Product};
use crate::platform::payments::split::SplitPlan;
use crate::platform::wire::time::format_wall_clock;

/// The path of a code's URL, and of the sandbox's bill page.
pub const CODE_PATH: &str = "/bills/qrCode.do";
/// The longest `qrCodeId`, `memberId` and `counterNo` (spec §3.4).
pub const ECHO_MAX_CHARS: usize = 32;
/// The longest `goods`, as compact JSON text.
pub const GOODS_MAX_BYTES: usize = 8 * 1024;

/// A bill's code and the data it echoes, as kept with the bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillData {
    /// The code the bill was made on (`qrCodeId`).
    pub qr_code_id: String,
    /// The code's URL as it was handed out (`billQRCode`).
    pub qr_code_url: String,
    /// Echoed in the notice and the query answers.
    pub member_id: Option<String>,
    pub counter_no: Option<String>,
    /// A JSON array, as compact text.
    pub goods: Option<String>,
    /// Where the bill page sends the buyer back to, with the signed result.
    pub return_url: Option<String>,
    /// A split bill's plan and what each share has left ([`super::split`]).
    pub split: Option<SplitPlan>,
}

/// The bill data a merchant asks for: its own code (`None`: the platform makes one) and
/// the echoed fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BillTerms {
    pub qr_code_id: Option<String>,
    pub member_id: Option<String>,
    pub counter_no: Option<String>,
    pub goods: Option<String>,
    pub return_url: Option<String>,
    pub split: Option<SplitPlan>,
}

impl BillTerms {
    /// The data of the bill `bill_no` made at `now`, its code's URL under `base` (the
    /// sandbox's public address).
    pub fn data(self, bill_no: &str, base: &str, now: DateTime<Utc>) -> BillData {
        let qr_code_id = self
            .qr_code_id
            .unwrap_or_else(|| platform_code_id(&source_number(bill_no), now));
        BillData {
            qr_code_url: code_url(base, &qr_code_id),
            qr_code_id,
            member_id: self.member_id,
            counter_no: self.counter_no,
            goods: self.goods,
            return_url: self.return_url,
            split: self.split,
        }
    }
}

/// A platform-made code id: `prefix`, the China Standard Time date (`yyMMdd`) and 16
/// random digits.
pub fn platform_code_id(prefix: &str, now: DateTime<Utc>) -> String {
    let digits: String = (0..16)
        .map(|_| char::from(b'0' + rand::random_range(0..10u8)))
        .collect();
    format!("{prefix}{}{digits}", format_wall_clock(now, "%y%m%d"))
}

/// The URL of code `qr_code_id` under `base`.
pub fn code_url(base: &str, qr_code_id: &str) -> String {
    format!("{}{CODE_PATH}?id={qr_code_id}", base.trim_end_matches('/'))
}

/// A `memberId` or `counterNo`: at most [`ECHO_MAX_CHARS`] characters, no control
/// characters.
pub fn echoed(name: &str, value: &str) -> Result<(), String> {
    let chars = value.chars().count();
    if chars > ECHO_MAX_CHARS || value.chars().any(char::is_control) {
        return Err(format!(
            "{name} must have at most {ECHO_MAX_CHARS} characters and no control characters; \
             received {chars} characters"
        ));
    }
    Ok(())
}

/// `goods` as kept: a JSON array of item objects (`goodsId`, `goodsName`, `quantity`,
/// `price`, …), sent as an array or as its JSON text (a Python client sends the text),
/// written compact, at most [`GOODS_MAX_BYTES`].
pub fn goods(value: &serde_json::Value) -> Result<String, String> {
    let parsed;
    let items = match value {
        serde_json::Value::String(text) => {
            parsed = serde_json::from_str::<serde_json::Value>(text).map_err(|error| {
                format!("goods must be a JSON array of items, or its JSON text; its text does not parse: {error}")
            })?;
            &parsed
        }
        other => other,
    };
    let Some(array) = items.as_array().filter(|a| a.iter().all(|i| i.is_object())) else {
        return Err(format!(
            "goods must be a JSON array of item objects; received {}",
            shorten(&items.to_string())
        ));
    };
    let text = serde_json::Value::Array(array.clone()).to_string();
    if text.len() > GOODS_MAX_BYTES {
        return Err(format!(
            "goods must be at most {GOODS_MAX_BYTES} bytes of JSON; received {}",
            text.len()
        ));
    }
    Ok(text)
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

impl Order {
    /// A bill's code id (`qrCodeId`); `None` for a trade order.
    pub fn qr_code_id(&self) -> Option<&str> {
        self.bill.as_ref().map(|b| b.qr_code_id.as_str())
    }

    /// A bill's code URL (`billQRCode`); `None` for a trade order.
    pub fn bill_qr_code(&self) -> Option<&str> {
        self.bill.as_ref().map(|b| b.qr_code_url.as_str())
    }

    /// Where the buyer is sent back to: a bill's `returnUrl` or an H5 order's.
    pub fn return_url(&self) -> Option<&str> {
        match self.product {
            Product::Bill => self.bill.as_ref()?.return_url.as_deref(),
            Product::Trade => self.h5.as_ref()?.return_url.as_deref(),
        }
    }
}

/// The bill data of a stored row: every bill has its code (migration 0014 gave one to the
/// bills made before).
pub(crate) fn of_row(
    id: i64,
    product: Product,
    code: (Option<String>, Option<String>),
    echoed: (Option<String>, Option<String>, Option<String>),
    return_url: Option<String>,
    split: Option<SplitPlan>,
) -> anyhow::Result<Option<BillData>> {
    if product != Product::Bill {
        return Ok(None);
    }
    let (Some(qr_code_id), Some(qr_code_url)) = code else {
        anyhow::bail!("bill {id} has no QR code");
    };
    let (member_id, counter_no, goods) = echoed;
    Ok(Some(BillData {
        qr_code_id,
        qr_code_url,
        member_id,
        counter_no,
        goods,
        return_url,
        split,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn platform_codes_have_the_genuine_shape() {
        let at = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 2, 17, 0, 0).unwrap();
        let id = platform_code_id("3194", at);
        assert_eq!(id.len(), 26, "{id}");
        assert!(
            id.starts_with("3194261203"),
            "China time is a day ahead: {id}"
        );
        assert_eq!(
            code_url("http://127.0.0.1:8080/", "3194X"),
            "http://127.0.0.1:8080/bills/qrCode.do?id=3194X"
        );
    }

    #[test]
    fn goods_are_kept_as_an_array_whether_sent_as_one_or_as_text() {
        let array = json!([{"goodsId": "1", "price": "1"}]);
        let kept = goods(&array).unwrap();
        assert_eq!(goods(&json!(kept.clone())).unwrap(), kept);
        let err = goods(&json!({"goodsId": "1"})).unwrap_err();
        assert!(err.contains("array") && err.contains("goodsId"), "{err}");
        assert!(goods(&json!("[1")).unwrap_err().contains("does not parse"));
        assert!(echoed("memberId", &"m".repeat(33))
            .unwrap_err()
            .contains("received 33"));
        assert!(echoed("counterNo", "桌号 12").is_ok());
    }
}
