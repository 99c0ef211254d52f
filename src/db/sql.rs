//! The SQL dialect: one query text for both backends, its arguments and times.
//!
//! Queries are written once with `$N` placeholders, which SQLite and PostgreSQL both read.
//! [`Sql`] carries the text and its arguments; [`Db`] (the pools) and [`Tx`] (a write
//! transaction) run it on whichever backend is open and decode rows into any type that
//! derives `sqlx::FromRow` for both ([`Record`]). Times are [`Ts`]: INTEGER milliseconds
//! on SQLite, `timestamptz` on PostgreSQL. What truly differs per backend (claims, batch
//! writes, wake-ups) reaches the concrete pools through the [`Db`] variants.

use std::borrow::Cow;

use chrono::{DateTime, TimeZone, Utc};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgPool, PgRow, PgTypeInfo, PgValueRef};
use sqlx::sqlite::{SqlitePool, SqliteRow, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Encode, FromRow, PgConnection, Postgres, Sqlite, SqliteConnection, Type};

/// An instant as both backends store it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub DateTime<Utc>);

impl From<Ts> for DateTime<Utc> {
    fn from(ts: Ts) -> Self {
        ts.0
    }
}

impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <i64 as Type<Sqlite>>::type_info()
    }
    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <i64 as Type<Sqlite>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Sqlite> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Sqlite>>::encode(self.0.timestamp_millis(), buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        let ms = <i64 as Decode<'r, Sqlite>>::decode(value)?;
        Utc.timestamp_millis_opt(ms)
            .single()
            .map(Ts)
            .ok_or_else(|| format!("{ms} ms since the epoch is out of range").into())
    }
}

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <DateTime<Utc> as Type<Postgres>>::type_info()
    }
    fn compatible(ty: &PgTypeInfo) -> bool {
        <DateTime<Utc> as Type<Postgres>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Postgres> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <DateTime<Utc> as Encode<'q, Postgres>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        <DateTime<Utc> as Decode<'r, Postgres>>::decode(value).map(Ts)
    }
}

/// A row type both backends decode.
pub trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl<T> Record for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A value bound to a query; text and bytes are borrowed where the caller has them, so a
/// notification's body is not copied to be written.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Int(Option<i64>),
    Text(Option<Cow<'a, str>>),
    Bytes(Option<Cow<'a, [u8]>>),
    Time(Option<Ts>),
}

macro_rules! arg_from {
    ($variant:ident: $($ty:ty => |$v:ident| $e:expr),* $(,)?) => {$(
        impl<'a> From<$ty> for Arg<'a> {
            fn from($v: $ty) -> Self {
                Arg::$variant($e)
            }
        }
    )*};
}

arg_from!(Int: i64 => |v| Some(v), i32 => |v| Some(i64::from(v)), u32 => |v| Some(i64::from(v)),
    Option<i64> => |v| v);
arg_from!(Text: String => |v| Some(Cow::Owned(v)), &'a str => |v| Some(Cow::Borrowed(v)),
    &'a String => |v| Some(Cow::Borrowed(v.as_str())), Option<String> => |v| v.map(Cow::Owned),
    Option<&'a str> => |v| v.map(Cow::Borrowed),
    &'a Option<String> => |v| v.as_deref().map(Cow::Borrowed));
arg_from!(Bytes: Vec<u8> => |v| Some(Cow::Owned(v)), &'a [u8] => |v| Some(Cow::Borrowed(v)),
    &'a Vec<u8> => |v| Some(Cow::Borrowed(v.as_slice())), Option<&'a [u8]> => |v| v.map(Cow::Borrowed));
arg_from!(Time: DateTime<Utc> => |v| Some(Ts(v)), Option<DateTime<Utc>> => |v| v.map(Ts));

/// A query text with `$N` placeholders and its arguments.
#[derive(Debug, Clone)]
pub struct Sql<'a> {
    /// A constant query is borrowed, not copied; building one appends to an owned copy.
    text: Cow<'static, str>,
    args: Vec<Arg<'a>>,
}

impl<'a> Sql<'a> {
    pub fn new(text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            text: text.into(),
            args: Vec::new(),
        }
    }

    /// Binds the next argument (`$1`, then `$2`, …).
    pub fn bind(mut self, arg: impl Into<Arg<'a>>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.to_mut().push_str(text);
        self
    }

    /// Appends the placeholder of a new argument.
    pub fn push_bind(&mut self, arg: impl Into<Arg<'a>>) -> &mut Self {
        self.args.push(arg.into());
        let placeholder = format!("${}", self.args.len());
        self.text.to_mut().push_str(&placeholder);
        self
    }

    /// Appends `($i, $j, …)`, binding each value. An empty list would be a syntax error:
    /// callers leave the condition out instead.
    pub fn push_list<T>(&mut self, values: &'a [T]) -> &mut Self
    where
        &'a T: Into<Arg<'a>>,
    {
        self.push("(");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(value);
        }
        self.push(")");
        self
    }

    /// The text SQLite runs: when every `$N` is used once and in order (as [`Sql::push_bind`]
    /// writes them), each becomes a nameless `?`. The driver asks SQLite for each
    /// parameter's name, and SQLite finds a name by walking the statement's list of names,
    /// so binding n named parameters costs n² (4.6 % of the service's CPU, all of it on the
    /// writer, with the writer cycle's 32-row statements); nameless ones cost nothing.
    /// Any other use of `$N` keeps the text as written.
    fn sqlite_text(&self) -> Cow<'_, str> {
        let text = self.text.as_ref();
        let mut out = String::with_capacity(text.len());
        let mut next = 1usize;
        let mut quote: Option<char> = None;
        let mut chars = text.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (None, '\'' | '"') => quote = Some(c),
                (None, '$') => {
                    let mut number = String::new();
                    while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                        number.push(d);
                        chars.next();
                    }
                    if number.parse::<usize>().ok() != Some(next) {
                        return Cow::Borrowed(text);
                    }
                    next += 1;
                    out.push('?');
                    continue;
                }
                _ => {}
            }
            out.push(c);
        }
        if next - 1 == self.args.len() {
            Cow::Owned(out)
        } else {
            Cow::Borrowed(text)
        }
    }

    fn sqlite<'q>(
        &'q self,
        text: &'q str,
    ) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
        self.bound(text)
    }

    fn postgres(&self) -> sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments> {
        self.bound(&self.text)
    }

    /// The query with its arguments bound, for either backend: every argument type
    /// encodes on both.
    fn bound<'q, DB>(
        &'q self,
        text: &'q str,
    ) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
    where
        DB: sqlx::Database,
        Option<i64>: Encode<'q, DB> + Type<DB>,
        Option<&'q str>: Encode<'q, DB> + Type<DB>,
        Option<&'q [u8]>: Encode<'q, DB> + Type<DB>,
        Option<Ts>: Encode<'q, DB> + Type<DB>,
    {
        let mut query = sqlx::query::<DB>(text);
        for arg in &self.args {
            query = match arg {
                Arg::Int(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.as_deref()),
                Arg::Bytes(v) => query.bind(v.as_deref()),
                Arg::Time(v) => query.bind(*v),
            };
        }
        query
    }
}

/// Where a statement runs.
pub(super) enum Exec<'e> {
    SqlitePool(&'e SqlitePool),
    Sqlite(&'e mut SqliteConnection),
    PgPool(&'e PgPool),
    Pg(&'e mut PgConnection),
}

fn decode_all<R: sqlx::Row, T: for<'r> FromRow<'r, R>>(rows: Vec<R>) -> anyhow::Result<Vec<T>> {
    Ok(rows.iter().map(T::from_row).collect::<Result<_, _>>()?)
}

fn decode_optional<R: sqlx::Row, T: for<'r> FromRow<'r, R>>(
    row: Option<R>,
) -> anyhow::Result<Option<T>> {
    Ok(row.as_ref().map(T::from_row).transpose()?)
}

impl Exec<'_> {
    pub(super) async fn fetch_all<T: Record>(self, sql: &Sql<'_>) -> anyhow::Result<Vec<T>> {
        match self {
            Exec::SqlitePool(p) => decode_all(sql.sqlite(&sql.sqlite_text()).fetch_all(p).await?),
            Exec::Sqlite(c) => decode_all(sql.sqlite(&sql.sqlite_text()).fetch_all(c).await?),
            Exec::PgPool(p) => decode_all(sql.postgres().fetch_all(p).await?),
            Exec::Pg(c) => decode_all(sql.postgres().fetch_all(c).await?),
        }
    }

    pub(super) async fn fetch_optional<T: Record>(
        self,
        sql: &Sql<'_>,
    ) -> anyhow::Result<Option<T>> {
        match self {
            Exec::SqlitePool(p) => {
                decode_optional(sql.sqlite(&sql.sqlite_text()).fetch_optional(p).await?)
            }
            Exec::Sqlite(c) => {
                decode_optional(sql.sqlite(&sql.sqlite_text()).fetch_optional(c).await?)
            }
            Exec::PgPool(p) => decode_optional(sql.postgres().fetch_optional(p).await?),
            Exec::Pg(c) => decode_optional(sql.postgres().fetch_optional(c).await?),
        }
    }

    pub(super) async fn execute(self, sql: &Sql<'_>) -> anyhow::Result<u64> {
        Ok(match self {
            Exec::SqlitePool(p) => sql
                .sqlite(&sql.sqlite_text())
                .execute(p)
                .await?
                .rows_affected(),
            Exec::Sqlite(c) => sql
                .sqlite(&sql.sqlite_text())
                .execute(c)
                .await?
                .rows_affected(),
            Exec::PgPool(p) => sql.postgres().execute(p).await?.rows_affected(),
            Exec::Pg(c) => sql.postgres().execute(c).await?.rows_affected(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_themselves() {
        let hosts = ["x".to_owned(), "y".to_owned()];
        let mut sql = Sql::new("SELECT 1 WHERE a = ").bind(1i64);
        sql.push("$1 AND b IN ").push_list(&hosts);
        sql.push(" LIMIT ").push_bind(5i64);
        assert_eq!(sql.text, "SELECT 1 WHERE a = $1 AND b IN ($2, $3) LIMIT $4");
        assert_eq!(sql.args.len(), 4);
        assert_eq!(
            sql.sqlite_text(),
            "SELECT 1 WHERE a = ? AND b IN (?, ?) LIMIT ?"
        );
        // $1 used twice: SQLite keeps the names.
        let sql = Sql::new("UPDATE t SET a = $1, b = $1 WHERE id = $2")
            .bind(1i64)
            .bind(2i64);
        assert_eq!(sql.sqlite_text(), sql.text);
    }

    #[test]
    fn sqlite_runs_placeholders_in_order_nameless() {
        let mut sql = Sql::new("SELECT '$9', \"a$b\" WHERE a = ").bind(1i64);
        sql.push("$1 AND b IN (")
            .push_bind(2i64)
            .push(", ")
            .push_bind(3i64);
        sql.push(") LIMIT $10");
        // $10 has no argument of its own.
        assert_eq!(sql.sqlite_text(), sql.text);
        let mut sql = Sql::new("SELECT '$9' WHERE a = ").bind(1i64);
        sql.push("$1 AND b IN (")
            .push_bind(2i64)
            .push(", ")
            .push_bind(3i64);
        sql.push(")");
        assert_eq!(sql.sqlite_text(), "SELECT '$9' WHERE a = ? AND b IN (?, ?)");
    }
}
