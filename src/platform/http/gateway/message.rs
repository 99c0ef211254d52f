//! A gateway message as it arrives: one JSON object whatever the Content-Type says, its
//! fields both as the order service reads them (scalars as strings) and as they are
//! signed (every value as its text, nested JSON compact in the order received), and the
//! `sign` both ways (spec §14, reference §2).

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::platform::payments::sign::{self, SignType};

/// A parsed request body.
#[derive(Debug)]
pub struct Message {
    /// The fields as the order service reads them: strings, numbers and booleans as
    /// strings (the official demo sends every value as a string, a Python client numbers),
    /// nested arrays and objects as parsed, `null` left out.
    pub fields: Map<String, Value>,
    /// Every field but a `null` as it is signed: a string's value, a number or boolean's
    /// JSON text, a nested array or object's compact text with its members in the order
    /// received.
    pub signed: Vec<(String, String)>,
}

impl Message {
    /// A message with no fields, for an answer to a body that could not be read.
    pub fn empty() -> Self {
        Self {
            fields: Map::new(),
            signed: Vec::new(),
        }
    }

    /// Reads `body` as one JSON object. `\uXXXX` escapes are read as their characters.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(body).map_err(|error| {
            format!("the body must be UTF-8 JSON (the spec signs UTF-8 bytes): {error}")
        })?;
        let raw: Vec<(String, Box<RawValue>)> = serde_json::from_str::<RawObject>(text)
            .map_err(|error| format!("the body must be one JSON object: {error}"))?
            .0;
        let mut fields = Map::new();
        let mut signed = Vec::with_capacity(raw.len());
        for (name, raw) in raw {
            let value: Value = serde_json::from_str(raw.get())
                .map_err(|error| format!("field {name}: {error}"))?;
            let (read, text) = match value {
                Value::Null => continue,
                Value::String(s) => (Value::String(s.clone()), s),
                Value::Number(n) => (Value::String(n.to_string()), raw.get().to_owned()),
                Value::Bool(b) => (Value::String(b.to_string()), b.to_string()),
                nested @ (Value::Array(_) | Value::Object(_)) => (nested, compact(raw.get())),
            };
            // A name given twice counts once, as its last value, as a JSON reader keeps it.
            signed.retain(|(n, _): &(String, String)| n != &name);
            signed.push((name.clone(), text));
            fields.insert(name, read);
        }
        Ok(Self { fields, signed })
    }

    /// A field's string value, if it has a non-blank one.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.fields.get(name) {
            Some(Value::String(s)) if !sign::is_blank(s) => Some(s),
            _ => None,
        }
    }

    /// The hash `signType` names: MD5 when it names none, `None` for a name that is
    /// neither `MD5` nor `SHA256`.
    pub fn sign_type(&self) -> Option<SignType> {
        match self.text("signType") {
            None => Some(SignType::Md5),
            Some("MD5") => Some(SignType::Md5),
            Some("SHA256") => Some(SignType::Sha256),
            Some(_) => None,
        }
    }

    /// Whether the message carries a right `sign` for `key`.
    pub fn verify(&self, key: &str) -> bool {
        self.text("sign").is_some() && sign::verify(&self.signed, key)
    }

    /// The sign the message should carry for `key`, for an error message that helps.
    pub fn expected_sign(&self, key: &str, sign_type: SignType) -> (String, String) {
        (
            sign::signed_string(&self.signed),
            sign::sign(&self.signed, key, sign_type),
        )
    }
}

/// A JSON object's members in the order written, each value unparsed.
struct RawObject(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for RawObject {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> serde::de::Visitor<'de> for Members {
            type Value = RawObject;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawObject, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Box<RawValue>>()? {
                    members.push(member);
                }
                Ok(RawObject(members))
            }
        }
        deserializer.deserialize_map(Members)
    }
}

/// `raw` JSON without the whitespace between tokens, members kept in their order, and
/// `\uXXXX` escapes written as the characters they stand for (the spec signs non-ASCII
/// as itself); the escapes JSON needs (a quote, a backslash, a control character) stay.
pub fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if !in_string {
            match c {
                ' ' | '\t' | '\n' | '\r' => {}
                '"' => {
                    in_string = true;
                    out.push(c);
                }
                _ => out.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                in_string = false;
                out.push(c);
            }
            '\\' => match chars.next() {
                Some('u') => {
                    let digits: String = (0..4).filter_map(|_| chars.next()).collect();
                    let unit = (digits.len() == 4)
                        .then(|| u32::from_str_radix(&digits, 16).ok())
                        .flatten();
                    match unit.and_then(|high| decode_unit(high, &mut chars)) {
                        Some(ch) if !needs_escape(ch) => out.push(ch),
                        // Kept as written, its hex digits as sent: an escape JSON needs,
                        // or one that is no character (a lone surrogate).
                        _ => {
                            out.push_str("\\u");
                            out.push_str(&digits);
                        }
                    }
                }
                Some('/') => out.push('/'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            _ => out.push(c),
        }
    }
    out
}

fn needs_escape(ch: char) -> bool {
    ch == '"' || ch == '\\' || (ch as u32) < 0x20
}

fn hex4(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<u32> {
    let digits: String = (0..4).filter_map(|_| chars.next()).collect();
    (digits.len() == 4)
        .then(|| u32::from_str_radix(&digits, 16).ok())
        .flatten()
}

/// The character of UTF-16 unit `high`, taking its low surrogate from `chars`.
fn decode_unit(high: u32, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    if !(0xD800..0xDC00).contains(&high) {
        return char::from_u32(high);
    }
    let mut ahead = chars.clone();
    if ahead.next() != Some('\\') || ahead.next() != Some('u') {
        return None;
    }
    let low = hex4(&mut ahead).filter(|low| (0xDC00..0xE000).contains(low))?;
    *chars = ahead;
    char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_json_is_signed_compact_in_its_order_with_its_characters() {
        let raw = r#"[ {"body" : "\u5fae\u4fe1", "price":"1",
            "a\"b":"\\", "emoji":"\ud83d\ude00", "slash":"a\/b"} ]"#;
        assert_eq!(
            compact(raw),
            r#"[{"body":"微信","price":"1","a\"b":"\\","emoji":"😀","slash":"a/b"}]"#
        );
        assert_eq!(
            compact(r#"{"q":"\u0022\u000a"}"#),
            r#"{"q":"\u0022\u000a"}"#
        );
    }

    #[test]
    fn scalars_are_read_as_strings_and_signed_as_written() {
        let m = Message::parse(
            br#"{"totalAmount":1,"divisionFlag":true,"memo":null,"billNo":"\u0033194","goods":[{"b":1, "a":2}]}"#,
        )
        .unwrap();
        assert_eq!(m.fields["totalAmount"], "1");
        assert_eq!(m.fields["divisionFlag"], "true");
        assert!(!m.fields.contains_key("memo"));
        assert_eq!(m.text("billNo"), Some("3194"));
        assert_eq!(
            sign::signed_string(&m.signed),
            r#"billNo=3194&divisionFlag=true&goods=[{"b":1,"a":2}]&totalAmount=1"#
        );
        assert!(Message::parse(b"[1]").is_err());
        assert!(Message::parse(b"\xff").unwrap_err().contains("UTF-8"));
    }
}
