//! `LogRecordProcessorCore` (behind `RustLogRecordProcessor`) and `LogExporterCore` (behind
//! `RustOTLPLogExporter`).

use pyo3::prelude::*;

use super::classes::{otlp_exporter_class, otlp_processor_class};
use crate::config::Signal;
use crate::read::log_record::read_encoded_log_record;
use crate::records::EncodedLogRecord;

otlp_processor_class! {
    LogRecordProcessorCore(EncodedLogRecord): Signal::Logs, "OTEL_BLRP", "log record",
    fn on_emit(log_record) = read_encoded_log_record;
}

otlp_exporter_class! {
    LogExporterCore: Signal::Logs,
    fn export(batch) = read_encoded_log_record;
}
