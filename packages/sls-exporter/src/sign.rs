//! Request signatures, computed exactly as the official SDKs compute them.
//!
//! Headers are `(lowercase name, value)` pairs; the query is `(name, raw value)` pairs.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::Md5;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// `Content-MD5`: the uppercase hex MD5 of the body as sent.
pub fn content_md5(body: &[u8]) -> String {
    hex::encode_upper(Md5::digest(body))
}

/// `x-log-content-sha256` (v4): the lowercase hex SHA-256 of the body as sent.
pub fn content_sha256(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// Whether a header takes part in the signature (besides the fixed ones).
fn is_signed_extension(name: &str) -> bool {
    name.starts_with("x-acs-") || (name.starts_with("x-log-") && !name.starts_with("x-log-meta-"))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

/// The v1 string to sign: method, Content-MD5, Content-Type, Date, then the sorted
/// `x-log-*` / `x-acs-*` headers and the resource with its sorted raw query.
pub fn v1_string_to_sign(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
) -> String {
    let mut text = format!(
        "{method}\n{}\n{}\n{}\n",
        header(headers, "content-md5"),
        header(headers, "content-type"),
        header(headers, "date")
    );
    let mut signed: Vec<&(String, String)> = headers
        .iter()
        .filter(|(name, _)| is_signed_extension(name))
        .collect();
    signed.sort();
    for (name, value) in signed {
        text.push_str(&format!("{name}:{value}\n"));
    }
    text.push_str(path);
    if !query.is_empty() {
        let mut sorted: Vec<&(String, String)> = query.iter().collect();
        sorted.sort();
        let joined: Vec<String> = sorted
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        text.push('?');
        text.push_str(&joined.join("&"));
    }
    text
}

/// `Authorization: LOG {access key id}:{base64 HMAC-SHA1}`.
pub fn v1_authorization(
    access_key_id: &str,
    access_key_secret: &str,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
) -> String {
    let text = v1_string_to_sign(method, path, query, headers);
    let mut mac = Hmac::<Sha1>::new_from_slice(access_key_secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(text.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("LOG {access_key_id}:{signature}")
}

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const V4_QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The v4 canonical request. `headers` must already carry `x-log-date` and
/// `x-log-content-sha256`.
pub fn v4_canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
) -> (String, String) {
    let mut signed: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| name == "content-type" || name == "host" || is_signed_extension(name))
        .map(|(name, value)| (name.as_str(), value.trim()))
        .collect();
    signed.sort();
    let signed_names: Vec<&str> = signed.iter().map(|(name, _)| *name).collect();
    let signed_names = signed_names.join(";");
    let mut sorted_query: Vec<&(String, String)> = query.iter().collect();
    sorted_query.sort();
    let query_text: Vec<String> = sorted_query
        .iter()
        .map(|(name, value)| {
            let encoded = utf8_percent_encode(value, V4_QUERY).to_string();
            if encoded.is_empty() {
                name.clone()
            } else {
                format!("{name}={encoded}")
            }
        })
        .collect();
    let mut text = format!("{method}\n{path}\n{}\n", query_text.join("&"));
    for (name, value) in &signed {
        text.push_str(&format!("{name}:{value}\n"));
    }
    text.push('\n');
    text.push_str(&signed_names);
    text.push('\n');
    text.push_str(header(headers, "x-log-content-sha256"));
    (text, signed_names)
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `Authorization: SLS4-HMAC-SHA256 Credential={id}/{scope},Signature={hex}`, where
/// `datetime` is the `x-log-date` value (`YYYYMMDDTHHMMSSZ`).
#[allow(clippy::too_many_arguments)]
pub fn v4_authorization(
    access_key_id: &str,
    access_key_secret: &str,
    region: &str,
    datetime: &str,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
) -> String {
    let date = &datetime[..datetime.len().min(8)];
    let (canonical, _) = v4_canonical_request(method, path, query, headers);
    let scope = format!("{date}/{region}/sls/aliyun_v4_request");
    let string_to_sign = format!(
        "SLS4-HMAC-SHA256\n{datetime}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac_sha256(
        format!("aliyun_v4{access_key_secret}").as_bytes(),
        date.as_bytes(),
    );
    for part in [region, "sls", "aliyun_v4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex::encode(hmac_sha256(&key, string_to_sign.as_bytes()));
    format!("SLS4-HMAC-SHA256 Credential={access_key_id}/{scope},Signature={signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn md5_is_uppercase_hex() {
        assert_eq!(content_md5(b"abc"), "900150983CD24FB0D6963F7D28E17F72");
    }

    #[test]
    fn v1_empty_request_matches_the_rust_sdk_vector() {
        // aliyun-log-rust-sdk's sign_v1 test: empty keys, GET /, the epoch date.
        let headers = pairs(&[
            ("x-log-apiversion", "0.6.0"),
            ("x-log-signaturemethod", "hmac-sha1"),
            ("date", "Thu, 01 Jan 1970 00:00:00 GMT"),
        ]);
        assert_eq!(
            v1_authorization("", "", "GET", "/", &[], &headers),
            "LOG :SApFTtfTFKHmzdEdaMe5TjNn+RQ="
        );
    }

    #[test]
    fn v1_string_sorts_signed_headers_and_the_query() {
        let headers = pairs(&[
            ("x-log-signaturemethod", "hmac-sha1"),
            ("content-type", "application/x-protobuf"),
            ("x-acs-security-token", "tok"),
            ("x-log-meta-ignored", "1"),
            ("date", "D"),
            ("content-md5", "M"),
            ("host", "not-signed"),
            ("x-log-apiversion", "0.6.0"),
        ]);
        let query = pairs(&[("key", "abc"), ("a", "1")]);
        assert_eq!(
            v1_string_to_sign("POST", "/logstores/s/shards/route", &query, &headers),
            "POST\nM\napplication/x-protobuf\nD\nx-acs-security-token:tok\n\
             x-log-apiversion:0.6.0\nx-log-signaturemethod:hmac-sha1\n\
             /logstores/s/shards/route?a=1&key=abc"
        );
    }

    #[test]
    fn v4_canonical_request_has_the_sdk_layout() {
        let headers = pairs(&[
            ("content-type", "application/x-protobuf"),
            ("host", "p.example.com"),
            ("x-log-date", "20240102T030405Z"),
            ("x-log-content-sha256", "abc"),
            ("content-md5", "not-signed"),
        ]);
        let (canonical, signed) = v4_canonical_request(
            "POST",
            "/logstores/s/shards/route",
            &pairs(&[("key", "a b/✓")]),
            &headers,
        );
        assert_eq!(signed, "content-type;host;x-log-content-sha256;x-log-date");
        assert_eq!(
            canonical,
            "POST\n/logstores/s/shards/route\nkey=a%20b%2F%E2%9C%93\n\
             content-type:application/x-protobuf\nhost:p.example.com\n\
             x-log-content-sha256:abc\nx-log-date:20240102T030405Z\n\n\
             content-type;host;x-log-content-sha256;x-log-date\nabc"
        );
    }
}
