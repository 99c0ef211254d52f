//! Pages of a listing: the `limit` and `cursor` every list endpoint takes, and the
//! `next_cursor` it answers. A cursor is the id of the last row of the previous page;
//! pages run newest first.

use super::ApiError;

/// The page size when none is asked for.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page.
pub const MAX_LIMIT: u32 = 500;

/// Which page a request asks for.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: u32,
    /// Only rows before this id: the cursor of the previous page.
    pub before: Option<i64>,
}

impl PageRequest {
    /// Reads `limit` (1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent) and `cursor`;
    /// either out of range is `400 invalid_query`.
    pub fn read(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid_query(format!(
                "`limit` must be between 1 and {MAX_LIMIT}"
            )));
        }
        let before = cursor
            .map(str::parse::<i64>)
            .transpose()
            .map_err(|_| ApiError::invalid_query("`cursor` is not a cursor this API returned"))?;
        Ok(Self { limit, before })
    }

    /// The cursor of the page after `page`, whose rows have the ids `id` gives; `None`
    /// when `page` was not full (the last page).
    pub fn next_cursor<T>(&self, page: &[T], id: impl Fn(&T) -> i64) -> Option<String> {
        (page.len() == self.limit as usize)
            .then(|| page.last().map(|row| id(row).to_string()))
            .flatten()
    }
}
