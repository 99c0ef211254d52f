//! The returnUrl front channel of QR bills (结果页面返回, spec V3.5 §12): the result a
//! buyer's browser carries back to the merchant when it leaves the bill page by "return
//! to merchant", as query parameters appended to the bill's `returnUrl`.
//!
//! The parameters are the spec's: `mid`, `tid`, `instMid`, `billNo`, `billQRCode`,
//! `billDate`, `createTime`, `billStatus`, `billDesc`, `totalAmount`, `memberId`,
//! `counterNo`, `merName`, `billPayment` (once paid: the notice's members, compact JSON)
//! and `sign`. There is no `notifyId` and no random field (the spec lists neither), and
//! values without content are left out, as in the notice.
//!
//! `sign` is made as the notice's is ([`crate::platform::payments::sign`]): every
//! parameter but `sign`, decoded, sorted, joined, the merchant's communication key
//! appended. Every parameter means every one the browser arrives with: a `returnUrl`
//! that has a query of its own (`…/paid?table=12`) has its parameters signed with the
//! result, so that the verifier a merchant writes for the notice (every field but `sign`,
//! no fixed list) verifies the redirect as it arrives. It is MD5 whatever the merchant's `sign_type`, with no `signType`: the spec
//! lists no `signType` among these parameters, and absent means MD5. The query is
//! form-encoded (UTF-8, a space as `+`), as the notice's body is; the spec does not say
//! how the platform encodes it.
//!
//! A redirect proves nothing: anyone can type such a URL, replay an old one, or come back
//! before paying (`billStatus` `UNPAID`). Only the notice or a query says a bill is paid.

use crate::platform::merchants::merchant::Merchant;
use crate::platform::payments::notice::BillPayment;
use crate::platform::payments::order::{Order, OrderState, Product};
use crate::platform::payments::sign::{self, SignType};
use crate::platform::wire::time::format_cst;

/// The result parameters of bill `order` of the merchant named `merchant_name`, without
/// `sign`, in the spec's order; empty ones left out. `None` for a trade order.
pub fn result_fields(order: &Order, merchant_name: &str) -> Option<Vec<(String, String)>> {
    let bill = order
        .bill
        .as_ref()
        .filter(|_| order.product == Product::Bill)?;
    let mut fields: Vec<(&str, String)> = vec![
        ("mid", order.mid.clone()),
        ("tid", order.tid.clone()),
        ("instMid", order.inst_mid.clone()),
        ("billNo", order.order_no.clone()),
        ("billQRCode", bill.qr_code_url.clone()),
        ("billDate", order.bill_date.clone()),
        ("createTime", format_cst(order.created_at)),
        ("billStatus", order.status().to_owned()),
        ("billDesc", order.description.clone()),
        ("totalAmount", order.total_amount.to_string()),
        ("memberId", bill.member_id.clone().unwrap_or_default()),
        ("counterNo", bill.counter_no.clone().unwrap_or_default()),
        ("merName", merchant_name.to_owned()),
    ];
    let paid = matches!(order.state, OrderState::Paid | OrderState::Refunded);
    if let Some(payment) = order.payment.as_ref().filter(|_| paid) {
        // A struct of strings and integers always serializes.
        let json = serde_json::to_string(&BillPayment::of(order, payment)).unwrap_or_default();
        fields.push(("billPayment", json));
    }
    Some(
        fields
            .into_iter()
            .filter(|(_, value)| !sign::is_blank(value))
            .map(|(name, value)| (name.to_owned(), value))
            .collect(),
    )
}

/// Where "return to merchant" sends the buyer from bill `order` of `merchant`: its
/// `returnUrl` with the signed result parameters appended to its query. `None` when the
/// bill has no `returnUrl` (its page then offers no way back).
pub fn return_location(order: &Order, merchant: &Merchant) -> Option<String> {
    let mut url = url::Url::parse(order.return_url()?).ok()?;
    let mut fields = result_fields(order, &merchant.name)?;
    let mut signed: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    signed.extend(fields.iter().cloned());
    let sign = sign::sign(&signed, merchant.md5_key.expose(), SignType::Md5);
    fields.push(("sign".to_owned(), sign));
    url.query_pairs_mut().extend_pairs(fields);
    Some(url.into())
}
