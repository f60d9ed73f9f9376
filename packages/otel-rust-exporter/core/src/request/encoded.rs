//! One export request from records already encoded in the hand-off: grouped by resource
//! and scope, then framed around their bytes. Traces and logs share the framing
//! (`Resource{Spans,Logs}`: resource 1, `Scope{Spans,Logs}` 2, schema_url 3;
//! `Scope{Spans,Logs}`: scope 1, records 2, schema_url 3; the request: resources 1), and
//! fields go in field-number order, as prost and the stock exporter write them.

use prost::Message;

use super::group::by_resource_and_scope;
use crate::otlp::{ExportResponse, OtlpBatch};
use crate::records::Encoded;
use crate::wire::{field_len, header};

const RESOURCES: u32 = 1;
const SUBJECT: u32 = 1;
const CHILDREN: u32 = 2;
const SCHEMA_URL: u32 = 3;

/// A record message (`Span`, `LogRecord`) whose encoded records batch into one request.
pub trait RequestRecord: 'static {
    /// The collector's answer to that request.
    type Response: ExportResponse;
}

impl<M: RequestRecord> OtlpBatch for Encoded<M> {
    type Response = M::Response;

    fn encoded_len(&self) -> usize {
        self.message.len()
    }

    fn encode(batch: Vec<Self>) -> Vec<u8> {
        request(batch)
    }
}

/// The encoded `Export{Trace,Logs}ServiceRequest` for `batch`.
pub fn request<M>(batch: Vec<Encoded<M>>) -> Vec<u8> {
    let grouped = by_resource_and_scope(
        batch
            .into_iter()
            .map(|encoded| (encoded.group, encoded.message)),
    );
    // Every length is known before anything is written: one allocation, no copying back.
    let resources: Vec<(Framed, Vec<Framed>)> = grouped
        .iter()
        .map(|resource| {
            let scopes: Vec<Framed> = resource
                .scopes
                .iter()
                .map(|(group, records)| {
                    let subject = group.scope.encode_to_vec();
                    let len = field_len(SUBJECT, subject.len())
                        + records
                            .iter()
                            .map(|record| field_len(CHILDREN, record.len()))
                            .sum::<usize>()
                        + string_len(SCHEMA_URL, &group.scope_schema_url);
                    Framed { subject, len }
                })
                .collect();
            let subject = resource.group.resource.encode_to_vec();
            let len = field_len(SUBJECT, subject.len())
                + scopes
                    .iter()
                    .map(|scope| field_len(CHILDREN, scope.len))
                    .sum::<usize>()
                + string_len(SCHEMA_URL, &resource.group.resource_schema_url);
            (Framed { subject, len }, scopes)
        })
        .collect();
    let total = resources
        .iter()
        .map(|(resource, _)| field_len(RESOURCES, resource.len))
        .sum();
    let mut out = Vec::with_capacity(total);
    for (resource, (framed, scopes)) in grouped.iter().zip(&resources) {
        header(RESOURCES, framed.len, &mut out);
        bytes_field(SUBJECT, &framed.subject, &mut out);
        for ((group, records), framed) in resource.scopes.iter().zip(scopes) {
            header(CHILDREN, framed.len, &mut out);
            bytes_field(SUBJECT, &framed.subject, &mut out);
            for record in records {
                bytes_field(CHILDREN, record, &mut out);
            }
            string_field(SCHEMA_URL, &group.scope_schema_url, &mut out);
        }
        string_field(SCHEMA_URL, &resource.group.resource_schema_url, &mut out);
    }
    debug_assert_eq!(out.len(), total);
    out
}

/// A `Resource`'s or `InstrumentationScope`'s encoding and the length of the whole
/// `Resource*` or `Scope*` message that starts with it.
struct Framed {
    subject: Vec<u8>,
    len: usize,
}

/// proto3 leaves an empty string out.
fn string_len(tag: u32, value: &str) -> usize {
    if value.is_empty() {
        0
    } else {
        field_len(tag, value.len())
    }
}

fn bytes_field(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
    header(tag, bytes.len(), out);
    out.extend_from_slice(bytes);
}

fn string_field(tag: u32, value: &str, out: &mut Vec<u8>) {
    if !value.is_empty() {
        bytes_field(tag, value.as_bytes(), out);
    }
}
