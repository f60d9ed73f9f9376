//! The records the pipelines carry: converted telemetry with the resource and scope it was
//! emitted under (the extension's `read` makes them from Python objects).

use std::marker::PhantomData;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

/// The resource and scope a record was emitted under; equal pairs share one `Arc`, so the
/// batcher can group records by pointer.
#[derive(Debug)]
pub struct ScopeGroup {
    pub resource: Resource,
    pub resource_schema_url: String,
    pub scope: InstrumentationScope,
    pub scope_schema_url: String,
}

impl ScopeGroup {
    /// Equality as the SDK's `Resource` defines it: attribute order does not matter.
    pub fn same_resource(&self, other: &ScopeGroup) -> bool {
        self.resource_schema_url == other.resource_schema_url
            && same_attributes(&self.resource.attributes, &other.resource.attributes)
    }

    /// Equality as the SDK's `InstrumentationScope` defines it.
    pub fn same_scope(&self, other: &ScopeGroup) -> bool {
        self.scope.name == other.scope.name
            && self.scope.version == other.scope.version
            && self.scope_schema_url == other.scope_schema_url
            && same_attributes(&self.scope.attributes, &other.scope.attributes)
    }
}

impl PartialEq for ScopeGroup {
    fn eq(&self, other: &Self) -> bool {
        self.same_resource(other) && self.same_scope(other)
    }
}

/// Attribute keys are unique within a set, so equal length plus containment is equality.
fn same_attributes(left: &[KeyValue], right: &[KeyValue]) -> bool {
    left.len() == right.len() && left.iter().all(|attribute| right.contains(attribute))
}

/// A record encoded as its OTLP message (`M`: a `Span`, a `LogRecord`) in the hand-off, so
/// that the runtime thread only concatenates: no per-attribute allocation crosses threads.
pub struct Encoded<M> {
    pub group: Arc<ScopeGroup>,
    pub message: Vec<u8>,
    kind: PhantomData<fn(M)>,
}

impl<M> Encoded<M> {
    /// `message`: the encoded `M`.
    pub fn new(group: Arc<ScopeGroup>, message: Vec<u8>) -> Self {
        Self {
            group,
            message,
            kind: PhantomData,
        }
    }
}

#[cfg(test)]
impl<M: prost::Message> Encoded<M> {
    pub fn from_message(group: Arc<ScopeGroup>, message: &M) -> Self {
        Self::new(group, message.encode_to_vec())
    }
}

/// A finished span, queued for OTLP.
pub type EncodedSpan = Encoded<Span>;

/// An emitted log record, queued for OTLP.
pub type EncodedLogRecord = Encoded<LogRecord>;

/// An emitted log record, converted and queued for a pipeline that maps its fields (SLS).
pub struct QueuedLogRecord {
    pub group: Arc<ScopeGroup>,
    pub record: LogRecord,
}
