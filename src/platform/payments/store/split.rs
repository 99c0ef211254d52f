//! A split bill's plan in storage: the `split_plan` column of `orders` (migration 0017),
//! the plan and what each share has left, as JSON text.

use anyhow::Context as _;

use crate::platform::payments::split::SplitPlan;

/// The plan of a stored `split_plan`; `None` on bills that are not split.
pub(super) fn plan(stored: Option<String>) -> anyhow::Result<Option<SplitPlan>> {
    stored
        .map(|text| serde_json::from_str(&text).context("split_plan is no split plan"))
        .transpose()
}

/// The `split_plan` to store of `plan`.
pub(in crate::platform::payments) fn stored(
    plan: Option<&SplitPlan>,
) -> anyhow::Result<Option<String>> {
    plan.map(|plan| serde_json::to_string(plan).context("a split plan as JSON"))
        .transpose()
}
