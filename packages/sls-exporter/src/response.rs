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
        let error_message = field("errorMessage").unwrap_or_else(|| {
            String::from_utf8_lossy(body)
                .chars()
                .take(200)
                .collect::<String>()
                .trim()
                .to_owned()
        });
        Self {
            status,
            request_id: request_id.unwrap_or_default().to_owned(),
            error_code,
            error_message,
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
