//! Scrubbing of our own secrets from text a server sends back: an error body, a gRPC status
//! message, a service's error field or request id may echo the request, headers included.

use base64::Engine;

use crate::config;

/// Shorter values are not real secrets, and replacing them would garble every message.
const MIN_SECRET_CHARS: usize = 4;

/// What replaces a secret.
const MASK: &str = "***";

/// Every secret of one exporter (header values, userinfo, a sink's credentials), longest first
/// so that a secret containing another is replaced whole.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// For each value, also the credentials of an `<scheme> <credentials>` form (`Bearer
    /// xyz`), as a server may echo the token alone.
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Self {
        let mut secrets = Vec::new();
        for value in values {
            let value = value.as_ref().trim();
            secrets.push(value.to_owned());
            if let Some((_, credentials)) = value.split_once(' ') {
                secrets.push(credentials.trim().to_owned());
            }
        }
        secrets.retain(|secret| secret.chars().count() >= MIN_SECRET_CHARS);
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// This redactor and `values` (e.g. one request's signature).
    pub fn with<S: AsRef<str>>(&self, values: impl IntoIterator<Item = S>) -> Self {
        let mut all = self.secrets.clone();
        all.extend(values.into_iter().map(|value| value.as_ref().to_owned()));
        Self::new(all)
    }

    /// The user and password of a URL's `user:password@`, raw, percent-decoded and as the
    /// Basic `authorization` value an HTTP client derives from them.
    pub fn userinfo_secrets(url: &str) -> Vec<String> {
        let Some(userinfo) = config::userinfo(url) else {
            return Vec::new();
        };
        let decoded = config::percent_decode(userinfo);
        let basic = base64::engine::general_purpose::STANDARD.encode(&decoded);
        let mut secrets = vec![userinfo.to_owned(), decoded.clone(), basic];
        for part in [userinfo, decoded.as_str()] {
            if let Some((user, password)) = part.split_once(':') {
                secrets.extend([user.to_owned(), password.to_owned()]);
            }
        }
        secrets
    }

    /// `text` with every secret replaced by `***`.
    pub fn scrub(&self, text: &str) -> String {
        let mut scrubbed = text.to_owned();
        for secret in &self.secrets {
            if scrubbed.contains(secret.as_str()) {
                scrubbed = scrubbed.replace(secret.as_str(), MASK);
            }
        }
        scrubbed
    }

    /// Scrubbed first, then cut to `max_chars` characters: a cut made first could leave
    /// part of a secret that no longer matches.
    pub fn excerpt(&self, text: &str, max_chars: usize) -> String {
        let scrubbed = self.scrub(text);
        let trimmed = scrubbed.trim();
        match trimmed.char_indices().nth(max_chars) {
            Some((end, _)) => format!("{}…", &trimmed[..end]),
            None => trimmed.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_values_and_bearer_tokens_before_cutting() {
        let redactor = Redactor::new(["Bearer t0ken-value", "k3y-abcdef", "ab"]);
        assert_eq!(
            redactor.scrub("auth Bearer t0ken-value, token t0ken-value, key k3y-abcdef, ab"),
            "auth ***, token ***, key ***, ab"
        );
        // The secret straddles the cut: scrubbing first leaves no part of it.
        let text = format!("{}k3y-abcdef", "x".repeat(15));
        assert_eq!(
            redactor.excerpt(&text, 18),
            format!("{}***", "x".repeat(15))
        );
        assert_eq!(redactor.excerpt(&text, 16), format!("{}*…", "x".repeat(15)));
    }

    #[test]
    fn userinfo_gives_its_parts_decoded_and_as_basic_auth() {
        let secrets = Redactor::userinfo_secrets("http://us%65r:p%40ssw0rd@host:4318/v1/traces");
        let redactor = Redactor::new(&secrets);
        let basic = base64::engine::general_purpose::STANDARD.encode("user:p@ssw0rd");
        assert_eq!(
            redactor.scrub(&format!("user p@ssw0rd Basic {basic} us%65r:p%40ssw0rd")),
            "*** *** Basic *** ***"
        );
        assert!(Redactor::userinfo_secrets("http://host/a@b").is_empty());
        assert!(Redactor::userinfo_secrets("host:4317").is_empty());
    }
}
