//! SLS error replies: `{"errorCode": ..., "errorMessage": ...}` with `x-log-requestid`.

use std::fmt;

/// Codes that no retry can fix: credentials, names or the request itself are wrong.
const NEVER_RETRY: &[&str] = &[
    "SignatureNotMatch",
    "Unauthorized",
    "InvalidAccessKeyId",
    "ProjectNotExist",
    "LogStoreNotExist",
    "PostBodyTooLarge",
    "PostBodyInvalid",
    "RequestTimeTooSkewed",
];

/// Codes that say "later": the server or the quota is busy.
const RETRY: &[&str] = &[
    "ServerBusy",
    "InternalServerError",
    "RequestTimeout",
    "WriteQuotaExceed",
    "ShardWriteQuotaExceed",
];

/// The kinds of SLS error a person acts on differently; a small, fixed set (unlike the
/// server's `errorCode`), so that logging once per family stays bounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorFamily {
    /// Credentials, signature or clock: `Unauthorized`, `SignatureNotMatch`, 401, 403.
    Auth,
    /// Write quota or throttling: `WriteQuotaExceed`, 429.
    Quota,
    /// The project or logstore does not exist: `ProjectNotExist`, 404.
    NotFound,
    /// The server failed or is busy: 5xx, `ServerBusy`.
    Server,
    /// The request itself was refused: other 4xx, `PostBodyTooLarge`.
    BadRequest,
    Other,
}

impl ErrorFamily {
    pub fn name(self) -> &'static str {
        match self {
            ErrorFamily::Auth => "authentication",
            ErrorFamily::Quota => "quota",
            ErrorFamily::NotFound => "project or logstore not found",
            ErrorFamily::Server => "server error",
            ErrorFamily::BadRequest => "bad request",
            ErrorFamily::Other => "other error",
        }
    }
}

/// A reply as the server sent it: fields may echo the request (credentials included) and be
/// long, so scrub and shorten them before showing them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlsError {
    pub status: u16,
    pub request_id: String,
    /// `errorCode`, or `HTTP {status}` when the body carries none.
    pub error_code: String,
    pub error_message: String,
}

impl SlsError {
    /// Reads a non-success reply.
    pub fn from_reply(status: u16, request_id: Option<&str>, body: &[u8]) -> Self {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|json| json.get(name))
                .and_then(|value| value.as_str())
                .map(str::to_owned)
        };
        let error_code = field("errorCode").unwrap_or_else(|| format!("HTTP {status}"));
        let error_message = field("errorMessage")
            .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
        Self {
            status,
            request_id: request_id.unwrap_or_default().to_owned(),
            error_code,
            error_message,
        }
    }

    /// By code first, then by status.
    pub fn family(&self) -> ErrorFamily {
        match self.error_code.as_str() {
            "WriteQuotaExceed" | "ShardWriteQuotaExceed" => ErrorFamily::Quota,
            "ProjectNotExist" | "LogStoreNotExist" => ErrorFamily::NotFound,
            "SignatureNotMatch"
            | "Unauthorized"
            | "InvalidAccessKeyId"
            | "RequestTimeTooSkewed" => ErrorFamily::Auth,
            "ServerBusy" | "InternalServerError" | "RequestTimeout" => ErrorFamily::Server,
            _ => match self.status {
                429 => ErrorFamily::Quota,
                404 => ErrorFamily::NotFound,
                401 | 403 => ErrorFamily::Auth,
                500..=599 => ErrorFamily::Server,
                400..=499 => ErrorFamily::BadRequest,
                _ => ErrorFamily::Other,
            },
        }
    }

    /// By code first, as the SDKs and producers do; else 5xx and 429 are transient.
    pub fn is_retryable(&self) -> bool {
        let code = self.error_code.as_str();
        if NEVER_RETRY.contains(&code) {
            false
        } else if RETRY.contains(&code) {
            true
        } else {
            self.status >= 500 || self.status == 429
        }
    }
}

impl fmt::Display for SlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "HTTP {}, errorCode {}, errorMessage {:?}, request id {}",
            self.status,
            self.error_code,
            self.error_message,
            if self.request_id.is_empty() {
                "(none)"
            } else {
                &self.request_id
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, code: &str) -> SlsError {
        let body = format!(r#"{{"errorCode":"{code}","errorMessage":"why"}}"#);
        SlsError::from_reply(status, Some("REQ1"), body.as_bytes())
    }

    #[test]
    fn reads_code_message_and_request_id() {
        let error = reply(401, "Unauthorized");
        assert_eq!(error.error_code, "Unauthorized");
        assert_eq!(error.error_message, "why");
        assert_eq!(error.request_id, "REQ1");
        assert_eq!(
            error.to_string(),
            "HTTP 401, errorCode Unauthorized, errorMessage \"why\", request id REQ1"
        );
        let plain = SlsError::from_reply(502, None, b"<html>bad gateway</html>");
        assert_eq!(plain.error_code, "HTTP 502");
        assert_eq!(plain.error_message, "<html>bad gateway</html>");
        assert!(plain.is_retryable());
    }

    #[test]
    fn families_are_few_whatever_the_code() {
        for (status, code, family) in [
            (401, "Unauthorized", ErrorFamily::Auth),
            (401, "SignatureNotMatch", ErrorFamily::Auth),
            (403, "SomethingNew", ErrorFamily::Auth),
            (403, "WriteQuotaExceed", ErrorFamily::Quota),
            (429, "Whatever", ErrorFamily::Quota),
            (404, "LogStoreNotExist", ErrorFamily::NotFound),
            (404, "Code123", ErrorFamily::NotFound),
            (500, "InternalServerError", ErrorFamily::Server),
            (503, "Anything", ErrorFamily::Server),
            (413, "PostBodyTooLarge", ErrorFamily::BadRequest),
            (400, "Anything", ErrorFamily::BadRequest),
            (302, "Anything", ErrorFamily::Other),
        ] {
            assert_eq!(reply(status, code).family(), family, "{status} {code}");
        }
    }

    #[test]
    fn a_plain_reply_is_kept_whole_for_the_caller_to_scrub() {
        let body = "x".repeat(300);
        assert_eq!(
            SlsError::from_reply(502, None, body.as_bytes()).error_message,
            body
        );
    }

    #[test]
    fn retries_follow_the_error_code() {
        for (status, code) in [
            (503, "ServerBusy"),
            (500, "InternalServerError"),
            (500, "RequestTimeout"),
            (403, "WriteQuotaExceed"),
            (403, "ShardWriteQuotaExceed"),
            (502, "Whatever"),
        ] {
            assert!(reply(status, code).is_retryable(), "{code}");
        }
        for (status, code) in [
            (401, "SignatureNotMatch"),
            (401, "Unauthorized"),
            (404, "ProjectNotExist"),
            (404, "LogStoreNotExist"),
            (413, "PostBodyTooLarge"),
            (400, "Other"),
        ] {
            assert!(!reply(status, code).is_retryable(), "{code}");
        }
    }
}
