//! How an OpenTelemetry log record becomes an SLS log.
//!
//! SLS queries address fields by key (`level: ERROR and trace_id: ...`) and index each
//! key on its own, so every piece of the record gets a flat key of its own:
//!
//! | OTel                      | SLS                                           |
//! |---------------------------|-----------------------------------------------|
//! | time (else observed time) | `Time` (seconds) + `Time_ns`                  |
//! | body                      | `content` (strings as is, anything else JSON) |
//! | severity text / number    | `level` (text, else the number's name), `severity_number` |
//! | trace id / span id / flags| `trace_id`, `span_id` (hex), `trace_flags` (2 hex digits) |
//! | event name                | `event_name`                                  |
//! | attributes                | `attributes.{key}`, maps flattened with dots, arrays as JSON |
//! | scope                     | `scope.name`, `scope.version`, `scope.attributes.{key}` |
//! | resource attributes       | LogTags `{key}` (queried as `__tag__:{key}`)  |
//!
//! `content` is the field SLS's own collectors put the message in. The `attributes.`
//! prefix keeps user keys from ever colliding with the fixed keys. Resource attributes are
//! the same for every record of a process, so they go once per LogGroup as tags instead of
//! once per log.

use base64::Engine as _;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;

use crate::proto::{Content, Log, LogTag};

pub const BODY_KEY: &str = "content";
pub const LEVEL_KEY: &str = "level";
pub const SEVERITY_NUMBER_KEY: &str = "severity_number";
pub const TRACE_ID_KEY: &str = "trace_id";
pub const SPAN_ID_KEY: &str = "span_id";
pub const TRACE_FLAGS_KEY: &str = "trace_flags";
pub const EVENT_NAME_KEY: &str = "event_name";
pub const ATTRIBUTES_PREFIX: &str = "attributes.";
pub const SCOPE_NAME_KEY: &str = "scope.name";
pub const SCOPE_VERSION_KEY: &str = "scope.version";
pub const SCOPE_ATTRIBUTES_PREFIX: &str = "scope.attributes.";

/// The SLS log for one record emitted under `scope`; the record's strings move into it.
pub fn log_from_record(record: LogRecord, scope: &InstrumentationScope) -> Log {
    let nanos = if record.time_unix_nano != 0 {
        record.time_unix_nano
    } else {
        record.observed_time_unix_nano
    };
    let mut contents = Vec::with_capacity(8 + record.attributes.len());
    if let Some(body) = record.body.and_then(|body| body.value) {
        push(&mut contents, BODY_KEY, into_text(body));
    }
    let level = if record.severity_text.is_empty() {
        severity_name(record.severity_number).to_owned()
    } else {
        record.severity_text
    };
    if !level.is_empty() {
        push(&mut contents, LEVEL_KEY, level);
    }
    if record.severity_number != 0 {
        push(
            &mut contents,
            SEVERITY_NUMBER_KEY,
            record.severity_number.to_string(),
        );
    }
    if is_valid_id(&record.trace_id, 16) {
        push(&mut contents, TRACE_ID_KEY, hex::encode(&record.trace_id));
        push(
            &mut contents,
            TRACE_FLAGS_KEY,
            format!("{:02x}", record.flags & 0xff),
        );
    }
    if is_valid_id(&record.span_id, 8) {
        push(&mut contents, SPAN_ID_KEY, hex::encode(&record.span_id));
    }
    if !record.event_name.is_empty() {
        push(&mut contents, EVENT_NAME_KEY, record.event_name);
    }
    flatten(&mut contents, ATTRIBUTES_PREFIX, record.attributes);
    if !scope.name.is_empty() {
        push(&mut contents, SCOPE_NAME_KEY, scope.name.clone());
    }
    if !scope.version.is_empty() {
        push(&mut contents, SCOPE_VERSION_KEY, scope.version.clone());
    }
    flatten(
        &mut contents,
        SCOPE_ATTRIBUTES_PREFIX,
        scope.attributes.clone(),
    );
    Log {
        time: u32::try_from(nanos / 1_000_000_000).unwrap_or(u32::MAX),
        contents,
        time_ns: Some((nanos % 1_000_000_000) as u32),
    }
}

/// The LogTags of every log emitted under `resource`.
pub fn tags_from_resource(resource: &Resource) -> Vec<LogTag> {
    let mut contents = Vec::with_capacity(resource.attributes.len());
    flatten(&mut contents, "", resource.attributes.clone());
    contents
        .into_iter()
        .map(|content| LogTag {
            key: content.key,
            value: content.value,
        })
        .collect()
}

fn push(contents: &mut Vec<Content>, key: &str, value: String) {
    contents.push(Content {
        key: key.to_owned(),
        value,
    });
}

/// One content per scalar; nested maps extend the key with `.{key}`.
fn flatten(contents: &mut Vec<Content>, prefix: &str, attributes: Vec<KeyValue>) {
    for attribute in attributes {
        let mut key = String::with_capacity(prefix.len() + attribute.key.len());
        key.push_str(prefix);
        key.push_str(&attribute.key);
        match attribute.value.and_then(|value| value.value) {
            Some(Value::KvlistValue(map)) if !map.values.is_empty() => {
                key.push('.');
                flatten(contents, &key, map.values)
            }
            Some(value) => contents.push(Content {
                key,
                value: into_text(value),
            }),
            None => contents.push(Content {
                key,
                value: String::new(),
            }),
        }
    }
}

/// Strings as they are; every other value as JSON (bytes as a base64 JSON string).
pub fn into_text(value: Value) -> String {
    match value {
        Value::StringValue(text) => text,
        Value::IntValue(number) => number.to_string(),
        Value::BoolValue(flag) => flag.to_string(),
        other => json(&other).to_string(),
    }
}

fn json(value: &Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Value::StringValue(text) => Json::String(text.clone()),
        Value::BoolValue(flag) => Json::Bool(*flag),
        Value::IntValue(number) => Json::from(*number),
        // JSON has no NaN or infinity: those become strings, as Python's str() spells them.
        Value::DoubleValue(number) => serde_json::Number::from_f64(*number)
            .map(Json::Number)
            .unwrap_or_else(|| Json::String(python_float_text(*number))),
        Value::BytesValue(bytes) => {
            Json::String(base64::engine::general_purpose::STANDARD.encode(bytes))
        }
        Value::ArrayValue(array) => Json::Array(array.values.iter().map(any_json).collect()),
        Value::KvlistValue(map) => Json::Object(
            map.values
                .iter()
                .map(|pair| {
                    (
                        pair.key.clone(),
                        pair.value.as_ref().map_or(Json::Null, any_json),
                    )
                })
                .collect(),
        ),
        Value::StringValueStrindex(index) => Json::from(*index),
    }
}

fn any_json(value: &AnyValue) -> serde_json::Value {
    value.value.as_ref().map_or(serde_json::Value::Null, json)
}

fn python_float_text(number: f64) -> String {
    if number.is_nan() {
        "nan".to_owned()
    } else if number > 0.0 {
        "inf".to_owned()
    } else {
        "-inf".to_owned()
    }
}

fn is_valid_id(id: &[u8], length: usize) -> bool {
    id.len() == length && id.iter().any(|byte| *byte != 0)
}

/// The short names of the specification's severity ranges, for records without text.
fn severity_name(number: i32) -> &'static str {
    match number {
        1..=4 => "TRACE",
        5..=8 => "DEBUG",
        9..=12 => "INFO",
        13..=16 => "WARN",
        17..=20 => "ERROR",
        21..=24 => "FATAL",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn string(text: &str) -> Option<AnyValue> {
        Some(AnyValue {
            value: Some(Value::StringValue(text.into())),
        })
    }

    fn pair(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(value) }),
            ..Default::default()
        }
    }

    fn contents(log: &Log) -> Vec<(&str, &str)> {
        log.contents
            .iter()
            .map(|content| (content.key.as_str(), content.value.as_str()))
            .collect()
    }

    #[test]
    fn maps_every_field_of_a_correlated_record() {
        let record = LogRecord {
            time_unix_nano: 1_700_000_000_123_456_789,
            observed_time_unix_nano: 1,
            severity_number: 17,
            severity_text: "ERROR".into(),
            body: string("disk full ✓"),
            attributes: vec![
                pair("code.lineno", Value::IntValue(42)),
                pair(
                    "http",
                    Value::KvlistValue(KeyValueList {
                        values: vec![pair("method", Value::StringValue("GET".into()))],
                    }),
                ),
                pair(
                    "tags",
                    Value::ArrayValue(ArrayValue {
                        values: vec![string("a").unwrap(), string("b").unwrap()],
                    }),
                ),
                pair("ratio", Value::DoubleValue(0.5)),
            ],
            flags: 1,
            trace_id: (1..=16).collect(),
            span_id: (1..=8).collect(),
            event_name: "disk.event".into(),
            ..Default::default()
        };
        let scope = InstrumentationScope {
            name: "app.worker".into(),
            version: "1.2".into(),
            ..Default::default()
        };
        let log = log_from_record(record, &scope);
        assert_eq!(log.time, 1_700_000_000);
        assert_eq!(log.time_ns, Some(123_456_789));
        assert_eq!(
            contents(&log),
            vec![
                ("content", "disk full ✓"),
                ("level", "ERROR"),
                ("severity_number", "17"),
                ("trace_id", "0102030405060708090a0b0c0d0e0f10"),
                ("trace_flags", "01"),
                ("span_id", "0102030405060708"),
                ("event_name", "disk.event"),
                ("attributes.code.lineno", "42"),
                ("attributes.http.method", "GET"),
                ("attributes.tags", r#"["a","b"]"#),
                ("attributes.ratio", "0.5"),
                ("scope.name", "app.worker"),
                ("scope.version", "1.2"),
            ]
        );
    }

    #[test]
    fn non_string_bodies_are_json_and_missing_parts_are_left_out() {
        let record = LogRecord {
            observed_time_unix_nano: 5_000_000_007,
            severity_number: 10,
            body: Some(AnyValue {
                value: Some(Value::KvlistValue(KeyValueList {
                    values: vec![
                        pair("n", Value::IntValue(1)),
                        pair("b", Value::BytesValue(vec![0xff])),
                        pair("x", Value::DoubleValue(f64::NAN)),
                    ],
                })),
            }),
            trace_id: vec![0; 16],
            span_id: vec![0; 8],
            ..Default::default()
        };
        let log = log_from_record(record, &InstrumentationScope::default());
        assert_eq!((log.time, log.time_ns), (5, Some(7)));
        assert_eq!(
            contents(&log),
            vec![
                ("content", r#"{"n":1,"b":"/w==","x":"nan"}"#),
                ("level", "INFO"),
                ("severity_number", "10"),
            ]
        );
    }

    #[test]
    fn resource_attributes_become_tags() {
        let resource = Resource {
            attributes: vec![
                pair("service.name", Value::StringValue("checkout".into())),
                pair("host.cpu", Value::IntValue(4)),
            ],
            ..Default::default()
        };
        let tags = tags_from_resource(&resource);
        assert_eq!(
            tags,
            vec![
                LogTag {
                    key: "service.name".into(),
                    value: "checkout".into()
                },
                LogTag {
                    key: "host.cpu".into(),
                    value: "4".into()
                },
            ]
        );
    }
}
