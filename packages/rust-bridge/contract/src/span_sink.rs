//! The span sink: a versioned C ABI in a `PyCapsule` through which a Rust span, encoded as
//! an OTLP `opentelemetry.proto.trace.v1.Span`, goes straight into a `RustSpanProcessor`'s
//! queue from any thread, without the GIL.

use std::ffi::{c_void, CStr};

/// The capsule's name; the trailing version changes with an incompatible table.
pub const CAPSULE_NAME: &CStr = c"otel_rust_exporter.span_sink.v1";
/// The table's first field, checked before anything else is read.
pub const ABI_VERSION: u32 = 1;

/// What `push_span` answered. The sink counts every drop itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Pushed {
    Queued = 0,
    /// The queue was full or the processor shut down.
    Dropped = 1,
    Undecodable = 2,
    InternalError = 3,
}

impl Pushed {
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Pushed::Queued,
            1 => Pushed::Dropped,
            2 => Pushed::Undecodable,
            _ => Pushed::InternalError,
        }
    }
}

/// Queues one encoded span; callable from any thread without the GIL, never unwinds.
pub type PushSpan = unsafe extern "C" fn(sink: *const c_void, span: *const u8, len: usize) -> u32;

/// The capsule's contents start with this table.
#[repr(C)]
pub struct SpanSinkV1 {
    pub version: u32,
    pub sink: *const c_void,
    pub push_span: PushSpan,
}

impl SpanSinkV1 {
    pub fn new(sink: *const c_void, push_span: PushSpan) -> Self {
        Self {
            version: ABI_VERSION,
            sink,
            push_span,
        }
    }

    /// The table a capsule named [`CAPSULE_NAME`] points to, if its version is ours.
    ///
    /// # Safety
    /// `pointer` is the pointer of a live capsule of that name; the table lives as long.
    pub unsafe fn from_capsule_pointer<'a>(pointer: *const c_void) -> Option<&'a SpanSinkV1> {
        let table = pointer as *const SpanSinkV1;
        // SAFETY: per the contract above; the version is the first field of every version.
        (unsafe { (*table).version } == ABI_VERSION).then(|| unsafe { &*table })
    }

    /// Hands one encoded span to the sink.
    ///
    /// # Safety
    /// The capsule holding this table must still be alive.
    pub unsafe fn push(&self, span: &[u8]) -> Pushed {
        // SAFETY: `sink` belongs to the table, which the caller keeps alive.
        Pushed::from_code(unsafe { (self.push_span)(self.sink, span.as_ptr(), span.len()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A sink side written against this module, as the extension's is.
    unsafe extern "C" fn push_into_vec(sink: *const c_void, span: *const u8, len: usize) -> u32 {
        // SAFETY: the test passes a live `Mutex<Vec<Vec<u8>>>` and a valid slice.
        let (spans, bytes) = unsafe {
            (
                &*(sink as *const Mutex<Vec<Vec<u8>>>),
                std::slice::from_raw_parts(span, len),
            )
        };
        if bytes.is_empty() {
            return Pushed::Undecodable as u32;
        }
        spans.lock().unwrap().push(bytes.to_vec());
        Pushed::Queued as u32
    }

    #[test]
    fn a_caller_reaches_a_sink_through_the_table_as_a_capsule_holds_it() {
        let spans: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
        let table = SpanSinkV1::new(&spans as *const _ as *const c_void, push_into_vec);
        let pointer = &table as *const SpanSinkV1 as *const c_void;
        // SAFETY: `table` and `spans` outlive the calls.
        let found = unsafe { SpanSinkV1::from_capsule_pointer(pointer) }.unwrap();
        assert_eq!(unsafe { found.push(b"span") }, Pushed::Queued);
        assert_eq!(unsafe { found.push(b"") }, Pushed::Undecodable);
        assert_eq!(*spans.lock().unwrap(), vec![b"span".to_vec()]);
    }

    #[test]
    fn another_version_is_refused_before_anything_else_is_read() {
        let mut table = SpanSinkV1::new(std::ptr::null(), push_into_vec);
        table.version = ABI_VERSION + 1;
        let pointer = &table as *const SpanSinkV1 as *const c_void;
        // SAFETY: the table is alive; only its version is read.
        assert!(unsafe { SpanSinkV1::from_capsule_pointer(pointer) }.is_none());
    }

    #[test]
    fn codes_round_trip_and_unknown_ones_are_internal_errors() {
        for pushed in [
            Pushed::Queued,
            Pushed::Dropped,
            Pushed::Undecodable,
            Pushed::InternalError,
        ] {
            assert_eq!(Pushed::from_code(pushed as u32), pushed);
        }
        assert_eq!(Pushed::from_code(77), Pushed::InternalError);
    }
}
