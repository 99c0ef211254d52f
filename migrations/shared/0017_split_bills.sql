-- Split bills (分账, netpay spec §3.4 divisionFlag, §3.8 refunds of split bills): a QR bill
-- whose amount is shared between the platform merchant (platformAmount) and up to 20
-- sub-merchants, by goods (subMerchantId, subOrderAmount) or by subOrders (mid,
-- totalAmount). split_plan is NULL on other orders; on a split bill it is the plan as
-- JSON text: {"by": "goods" | "subOrders", "platform": {"amount", "refunded"},
-- "sub_orders": [{"mid", "amount", "refunded"}, ...]}, amounts in fen, with what of each
-- share was refunded, which a partial refund (one sub-merchant and the platform) adds to.
ALTER TABLE orders ADD COLUMN split_plan TEXT;
