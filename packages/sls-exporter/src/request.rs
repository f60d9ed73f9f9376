//! A PutLogs request: `POST /logstores/{logstore}/shards/lb` (or `/shards/route?key=`)
//! with the SDKs' headers, signed for the moment it is sent.

use std::time::SystemTime;

use prost::Message;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::compress::lz4_block;
use crate::config::{Scheme, SignatureVersion, SlsConfig};
use crate::proto::LogGroup;
use crate::sign;

pub const API_VERSION: &str = "0.6.0";

/// Where requests go; the same for every request of one exporter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Scheme, the host to connect to (the project's host name, or the IP as given),
    /// path and query, percent-encoded.
    pub url: String,
    /// `{project}.{endpoint host}`, without the port, as the SDKs send it.
    pub host: String,
    pub path: String,
    /// Raw (unencoded) query pairs, as the signatures need them.
    pub query: Vec<(String, String)>,
}

impl Target {
    pub fn new(config: &SlsConfig) -> Self {
        let endpoint = &config.endpoint;
        let host = format!("{}.{}", config.project, endpoint.host);
        let connect_to = if endpoint.is_ip() {
            endpoint.host.clone()
        } else {
            host.clone()
        };
        let scheme = match endpoint.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let port = endpoint
            .port
            .map(|port| format!(":{port}"))
            .unwrap_or_default();
        let (path, query) = match &config.hash_key {
            Some(key) => (
                format!("/logstores/{}/shards/route", config.logstore),
                vec![("key".to_owned(), key.clone())],
            ),
            None => (
                format!("/logstores/{}/shards/lb", config.logstore),
                Vec::new(),
            ),
        };
        let query_text: Vec<String> = query
            .iter()
            .map(|(name, value)| {
                format!(
                    "{name}={}",
                    percent_encoding::utf8_percent_encode(
                        value,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                )
            })
            .collect();
        let url = if query_text.is_empty() {
            format!("{scheme}://{connect_to}{port}{path}")
        } else {
            format!(
                "{scheme}://{connect_to}{port}{path}?{}",
                query_text.join("&")
            )
        };
        Self {
            url,
            host,
            path,
            query,
        }
    }
}

/// An encoded, compressed LogGroup, ready to be signed and sent (again, on retry).
#[derive(Clone, Debug)]
pub struct Body {
    pub compressed: Vec<u8>,
    pub raw_size: usize,
    pub md5: String,
    /// Only for v4.
    pub sha256: Option<String>,
}

impl Body {
    pub fn new(group: &LogGroup, signature: &SignatureVersion) -> Self {
        let raw = group.encode_to_vec();
        Self::from_compressed(lz4_block(&raw), raw.len(), signature)
    }

    /// A body compressed earlier (a spooled request): only its hashes are made again.
    pub fn from_compressed(
        compressed: Vec<u8>,
        raw_size: usize,
        signature: &SignatureVersion,
    ) -> Self {
        let md5 = sign::content_md5(&compressed);
        let sha256 = matches!(signature, SignatureVersion::V4 { .. })
            .then(|| sign::content_sha256(&compressed));
        Self {
            compressed,
            raw_size,
            md5,
            sha256,
        }
    }
}

/// The headers of one attempt, `Authorization` included; names are lowercase.
pub fn signed_headers(
    config: &SlsConfig,
    target: &Target,
    body: &Body,
    now: SystemTime,
) -> Vec<(String, String)> {
    let now = OffsetDateTime::from(now);
    let mut headers: Vec<(String, String)> = vec![
        ("content-type".into(), "application/x-protobuf".into()),
        ("content-md5".into(), body.md5.clone()),
        ("host".into(), target.host.clone()),
        ("x-log-apiversion".into(), API_VERSION.into()),
        ("x-log-bodyrawsize".into(), body.raw_size.to_string()),
        ("x-log-compresstype".into(), "lz4".into()),
    ];
    let credentials = &config.credentials;
    if let Some(token) = &credentials.security_token {
        headers.push(("x-acs-security-token".into(), token.expose().to_owned()));
    }
    let authorization = match &config.signature {
        SignatureVersion::V1 => {
            headers.push(("x-log-signaturemethod".into(), "hmac-sha1".into()));
            headers.push(("date".into(), rfc1123(now)));
            sign::v1_authorization(
                credentials.access_key_id.expose(),
                credentials.access_key_secret.expose(),
                "POST",
                &target.path,
                &target.query,
                &headers,
            )
        }
        SignatureVersion::V4 { region } => {
            let datetime = now
                .format(format_description!(
                    "[year][month][day]T[hour][minute][second]Z"
                ))
                .expect("a UTC time always formats");
            headers.push(("x-log-date".into(), datetime.clone()));
            headers.push((
                "x-log-content-sha256".into(),
                body.sha256
                    .clone()
                    .unwrap_or_else(|| sign::content_sha256(&body.compressed)),
            ));
            sign::v4_authorization(
                credentials.access_key_id.expose(),
                credentials.access_key_secret.expose(),
                region,
                &datetime,
                "POST",
                &target.path,
                &target.query,
                &headers,
            )
        }
    };
    headers.push(("authorization".into(), authorization));
    headers
}

/// `Date` as RFC 1123 GMT, e.g. `Tue, 02 Jan 2024 03:04:05 GMT`.
fn rfc1123(now: OffsetDateTime) -> String {
    now.format(format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    ))
    .expect("a UTC time always formats")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Credentials, Endpoint, Secret};
    use crate::proto::{Content, Log};
    use std::time::{Duration, UNIX_EPOCH};

    fn config(endpoint: &str, hash_key: Option<&str>, signature: SignatureVersion) -> SlsConfig {
        SlsConfig {
            endpoint: Endpoint::parse(endpoint).unwrap(),
            project: "proj".into(),
            logstore: "store".into(),
            topic: None,
            source: None,
            hash_key: hash_key.map(str::to_owned),
            signature,
            credentials: Credentials {
                access_key_id: Secret::new("id"),
                access_key_secret: Secret::new("secret"),
                security_token: Some(Secret::new("sts")),
            },
            timeout: Duration::from_secs(1),
        }
    }

    fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
        &headers.iter().find(|(key, _)| key == name).unwrap().1
    }

    #[test]
    fn named_endpoints_get_the_project_prepended_and_ips_are_used_directly() {
        let named = Target::new(&config(
            "cn-hangzhou.log.aliyuncs.com",
            None,
            SignatureVersion::V1,
        ));
        assert_eq!(
            named.url,
            "https://proj.cn-hangzhou.log.aliyuncs.com/logstores/store/shards/lb"
        );
        assert_eq!(named.host, "proj.cn-hangzhou.log.aliyuncs.com");
        let ip = Target::new(&config(
            "http://10.1.2.3:8080",
            Some("a b"),
            SignatureVersion::V1,
        ));
        assert_eq!(
            ip.url,
            "http://10.1.2.3:8080/logstores/store/shards/route?key=a%20b"
        );
        assert_eq!(ip.host, "proj.10.1.2.3");
        assert_eq!(ip.query, vec![("key".to_owned(), "a b".to_owned())]);
    }

    #[test]
    fn v1_headers_carry_the_sdk_set() {
        let config = config("cn-hangzhou.log.aliyuncs.com", None, SignatureVersion::V1);
        let group = LogGroup {
            logs: vec![Log {
                time: 1,
                contents: vec![Content {
                    key: "k".into(),
                    value: "v".repeat(100),
                }],
                time_ns: Some(0),
            }],
            ..Default::default()
        };
        let body = Body::new(&group, &config.signature);
        assert_eq!(body.raw_size, group.encoded_len());
        let at = UNIX_EPOCH + Duration::from_secs(1_704_164_645);
        let headers = signed_headers(&config, &Target::new(&config), &body, at);
        assert_eq!(header(&headers, "date"), "Tue, 02 Jan 2024 03:04:05 GMT");
        assert_eq!(header(&headers, "x-log-compresstype"), "lz4");
        assert_eq!(header(&headers, "x-log-apiversion"), "0.6.0");
        assert_eq!(header(&headers, "x-log-signaturemethod"), "hmac-sha1");
        assert_eq!(header(&headers, "x-acs-security-token"), "sts");
        assert_eq!(
            header(&headers, "content-md5"),
            sign::content_md5(&body.compressed)
        );
        assert!(header(&headers, "authorization").starts_with("LOG id:"));
    }

    #[test]
    fn v4_headers_carry_the_date_and_payload_hash() {
        let config = config(
            "cn-hangzhou.log.aliyuncs.com",
            Some("k"),
            SignatureVersion::V4 {
                region: "cn-hangzhou".into(),
            },
        );
        let body = Body::new(&LogGroup::default(), &config.signature);
        let at = UNIX_EPOCH + Duration::from_secs(1_704_164_645);
        let headers = signed_headers(&config, &Target::new(&config), &body, at);
        assert_eq!(header(&headers, "x-log-date"), "20240102T030405Z");
        assert_eq!(
            header(&headers, "x-log-content-sha256"),
            sign::content_sha256(&body.compressed)
        );
        assert!(header(&headers, "authorization").starts_with(
            "SLS4-HMAC-SHA256 Credential=id/20240102/cn-hangzhou/sls/aliyun_v4_request,Signature="
        ));
        assert!(!headers.iter().any(|(name, _)| name == "date"));
    }
}
