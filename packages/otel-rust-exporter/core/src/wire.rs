//! Protobuf wire format written straight from what was read, without building message
//! structs: the hand-off encodes each record this way. Fields are written by the caller in
//! field-number order and follow proto3 presence as prost does (a scalar equal to its
//! default is left out, a `oneof` member and a set sub-message are always written), so the
//! bytes are the ones prost writes for the same message.

use std::cell::RefCell;

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};

pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// Scalar fields, skipped when zero or empty.
    pub fn bytes(&mut self, tag: u32, value: &[u8]) {
        if !value.is_empty() {
            self.delimited(tag, value);
        }
    }

    pub fn string(&mut self, tag: u32, value: &str) {
        self.bytes(tag, value.as_bytes());
    }

    pub fn uint32(&mut self, tag: u32, value: u32) {
        if value != 0 {
            self.varint(tag, u64::from(value));
        }
    }

    /// `int32` and enums; a negative value takes ten bytes, as protobuf specifies.
    pub fn int32(&mut self, tag: u32, value: i32) {
        if value != 0 {
            self.varint(tag, i64::from(value) as u64);
        }
    }

    pub fn fixed32(&mut self, tag: u32, value: u32) {
        if value != 0 {
            encode_key(tag, WireType::ThirtyTwoBit, &mut self.buf);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    pub fn fixed64(&mut self, tag: u32, value: u64) {
        if value != 0 {
            encode_key(tag, WireType::SixtyFourBit, &mut self.buf);
            self.buf.extend_from_slice(&value.to_le_bytes());
        }
    }

    /// `oneof` members, written whatever their value.
    pub fn oneof_bytes(&mut self, tag: u32, value: &[u8]) {
        self.delimited(tag, value);
    }

    pub fn oneof_bool(&mut self, tag: u32, value: bool) {
        self.varint(tag, u64::from(value));
    }

    pub fn oneof_int64(&mut self, tag: u32, value: i64) {
        self.varint(tag, value as u64);
    }

    pub fn oneof_double(&mut self, tag: u32, value: f64) {
        encode_key(tag, WireType::SixtyFourBit, &mut self.buf);
        self.buf.extend_from_slice(&value.to_le_bytes());
    }

    /// A sub-message whose fields `body` writes; its length is filled in afterwards (one
    /// byte is reserved, the body moved when it needs more).
    pub fn message<R>(&mut self, tag: u32, body: impl FnOnce(&mut Self) -> R) -> R {
        encode_key(tag, WireType::LengthDelimited, &mut self.buf);
        let start = self.buf.len();
        self.buf.push(0);
        let result = body(self);
        let len = self.buf.len() - start - 1;
        let width = encoded_len_varint(len as u64);
        if width > 1 {
            self.buf
                .splice(start + 1..start + 1, std::iter::repeat(0).take(width - 1));
        }
        encode_varint(len as u64, &mut &mut self.buf[start..start + width]);
        result
    }

    /// A message encoded elsewhere (by prost), as the body of the current one.
    pub fn raw(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    fn varint(&mut self, tag: u32, value: u64) {
        encode_key(tag, WireType::Varint, &mut self.buf);
        encode_varint(value, &mut self.buf);
    }

    fn delimited(&mut self, tag: u32, value: &[u8]) {
        encode_key(tag, WireType::LengthDelimited, &mut self.buf);
        encode_varint(value.len() as u64, &mut self.buf);
        self.buf.extend_from_slice(value);
    }
}

thread_local! {
    /// Grown once to the largest record a thread writes, then reused.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The message `write` writes, in a vector of its exact size. The thread's scratch buffer
/// spares the growing; a nested call (Python code run while reading a value can end
/// another span) gets a buffer of its own.
pub fn encode<E>(write: impl FnOnce(&mut Writer) -> Result<(), E>) -> Result<Vec<u8>, E> {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => {
            let mut writer = Writer {
                buf: std::mem::take(&mut *scratch),
            };
            writer.buf.clear();
            let written = write(&mut writer).map(|()| writer.buf.to_vec());
            *scratch = writer.buf;
            written
        }
        Err(_) => {
            let mut writer = Writer { buf: Vec::new() };
            write(&mut writer).map(|()| writer.buf)
        }
    })
}

/// The size of a length-delimited field holding `len` bytes.
pub fn field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// Writes the key and length of a length-delimited field whose body the caller appends.
pub fn header(tag: u32, len: usize, out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};
    use opentelemetry_proto::tonic::trace::v1::{span::Event, Span, Status};
    use prost::Message;

    fn write(body: impl FnOnce(&mut Writer)) -> Vec<u8> {
        encode(|writer| {
            body(writer);
            Ok::<(), ()>(())
        })
        .unwrap()
    }

    fn key_value(writer: &mut Writer, tag: u32, key: &str, value: &Value) {
        writer.message(tag, |kv| {
            kv.string(1, key);
            kv.message(2, |any| match value {
                Value::StringValue(text) => any.oneof_bytes(1, text.as_bytes()),
                Value::BoolValue(flag) => any.oneof_bool(2, *flag),
                Value::IntValue(number) => any.oneof_int64(3, *number),
                Value::DoubleValue(number) => any.oneof_double(4, *number),
                other => other.encode(any.raw()),
            });
        });
    }

    /// Defaults left out, oneof members kept, negative numbers and lengths of one, two and
    /// three bytes: what prost writes for the same span.
    #[test]
    fn writes_what_prost_writes() {
        let values = [
            Value::StringValue(String::new()),
            Value::StringValue("x".repeat(200)),
            Value::StringValue("y".repeat(20_000)),
            Value::BoolValue(false),
            Value::IntValue(0),
            Value::IntValue(-5),
            Value::DoubleValue(0.0),
            Value::DoubleValue(-1.5),
            Value::BytesValue(vec![0, 1]),
        ];
        let expected = Span {
            trace_id: vec![7; 16],
            span_id: vec![9; 8],
            name: "n".into(),
            kind: 2,
            start_time_unix_nano: 1,
            end_time_unix_nano: u64::MAX,
            attributes: values
                .iter()
                .enumerate()
                .map(|(index, value)| KeyValue {
                    key: format!("k{index}"),
                    value: Some(AnyValue {
                        value: Some(value.clone()),
                    }),
                    ..Default::default()
                })
                .collect(),
            dropped_attributes_count: 3,
            events: vec![Event {
                time_unix_nano: 5,
                name: String::new(),
                ..Default::default()
            }],
            status: Some(Status {
                message: String::new(),
                code: -1,
            }),
            flags: 0x100,
            ..Default::default()
        };
        let written = write(|span| {
            span.bytes(1, &[7; 16]);
            span.bytes(2, &[9; 8]);
            span.string(3, "");
            span.bytes(4, &[]);
            span.string(5, "n");
            span.int32(6, 2);
            span.fixed64(7, 1);
            span.fixed64(8, u64::MAX);
            for (index, value) in values.iter().enumerate() {
                key_value(span, 9, &format!("k{index}"), value);
            }
            span.uint32(10, 3);
            span.message(11, |event| {
                event.fixed64(1, 5);
                event.string(2, "");
                event.uint32(4, 0);
            });
            span.uint32(12, 0);
            span.message(15, |status| {
                status.string(2, "");
                status.int32(3, -1);
            });
            span.fixed32(16, 0x100);
        });
        assert_eq!(written, expected.encode_to_vec());
    }

    #[test]
    fn a_nested_encode_gets_its_own_buffer() {
        let outer = write(|writer| {
            writer.string(1, "outer");
            let inner = write(|inner| inner.string(1, "inner"));
            writer.bytes(2, &inner);
        });
        assert_eq!(
            outer,
            [&[0x0a, 5][..], b"outer", &[0x12, 7, 0x0a, 5], b"inner"].concat()
        );
    }
}
