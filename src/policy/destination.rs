//! Where a notification goes: an absolute http(s) URL, and the host key (`host:port`)
//! that the per-host concurrency cap counts by. Parsed once, when the URL is accepted.

/// A validated destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub url: String,
    /// `host:port`, with the scheme's default port when the URL names none.
    pub host: String,
}

/// Why a URL is not a destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    #[error("is not an absolute URL: {0}")]
    NotAUrl(String),
    #[error("must use http or https, not {0:?}")]
    Scheme(String),
    #[error("has no host")]
    NoHost,
}

impl Destination {
    pub fn parse(url: &str) -> Result<Self, DestinationError> {
        let parsed =
            url::Url::parse(url).map_err(|error| DestinationError::NotAUrl(error.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(DestinationError::Scheme(parsed.scheme().to_owned()));
        }
        let host = parsed
            .host_str()
            .filter(|host| !host.is_empty())
            .ok_or(DestinationError::NoHost)?;
        // http and https always have a known default port.
        let port = parsed.port_or_known_default().unwrap_or(80);
        Ok(Self {
            url: url.to_owned(),
            host: format!("{host}:{port}"),
        })
    }

    /// A destination whose host key was derived and stored earlier.
    pub fn stored(url: String, host: String) -> Self {
        Self { url, host }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_key_has_the_port_explicit_or_default() {
        let host = |url| Destination::parse(url).unwrap().host;
        assert_eq!(host("http://127.0.0.1:9000/n"), "127.0.0.1:9000");
        assert_eq!(
            host("https://merchant.example/notify"),
            "merchant.example:443"
        );
        assert_eq!(
            host("http://merchant.example/notify"),
            "merchant.example:80"
        );
    }

    #[test]
    fn refuses_what_cannot_be_posted_to() {
        assert!(matches!(
            Destination::parse("not a url"),
            Err(DestinationError::NotAUrl(_))
        ));
        assert_eq!(
            Destination::parse("ftp://h/x"),
            Err(DestinationError::Scheme("ftp".into()))
        );
        assert!(Destination::parse("mailto:a@b").is_err());
    }
}
