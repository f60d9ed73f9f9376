//! The SLS `LogGroup` messages (`log_logs.proto` of the official SDKs), field numbers
//! exactly as on the wire.

/// One log: a timestamp and its key/value contents.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Log {
    /// Seconds since the Unix epoch.
    #[prost(uint32, required, tag = "1")]
    pub time: u32,
    #[prost(message, repeated, tag = "2")]
    pub contents: Vec<Content>,
    /// The nanoseconds within `time`.
    #[prost(fixed32, optional, tag = "4")]
    pub time_ns: Option<u32>,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Content {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// A tag shared by every log of its group (shown as `__tag__:{key}` in SLS).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LogTag {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

/// The body of one PutLogs request.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LogGroup {
    #[prost(message, repeated, tag = "1")]
    pub logs: Vec<Log>,
    #[prost(string, optional, tag = "3")]
    pub topic: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub source: Option<String>,
    #[prost(message, repeated, tag = "6")]
    pub log_tags: Vec<LogTag>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn encodes_with_the_sdk_field_numbers_and_wire_types() {
        let group = LogGroup {
            logs: vec![Log {
                time: 1,
                contents: vec![Content {
                    key: "k".into(),
                    value: "v".into(),
                }],
                time_ns: Some(2),
            }],
            topic: Some("t".into()),
            source: Some("s".into()),
            log_tags: vec![LogTag {
                key: "a".into(),
                value: "b".into(),
            }],
        };
        let bytes = group.encode_to_vec();
        // Logs=1 (len), Log{Time=1 varint, Contents=2 {Key=1, Value=2}, Time_ns=4 fixed32},
        // Topic=3, Source=4, LogTags=6 {Key=1, Value=2}.
        let expected: Vec<u8> = vec![
            0x0a, 15, 0x08, 1, 0x12, 6, 0x0a, 1, b'k', 0x12, 1, b'v', 0x25, 2, 0, 0, 0, //
            0x1a, 1, b't', 0x22, 1, b's', 0x32, 6, 0x0a, 1, b'a', 0x12, 1, b'b',
        ];
        assert_eq!(bytes, expected);
        assert_eq!(LogGroup::decode(bytes.as_slice()).unwrap(), group);
    }
}
