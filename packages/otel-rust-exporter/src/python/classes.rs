//! The OTLP processor and exporter classes, written once: `otlp_processor_class!` and
//! `otlp_exporter_class!` make each signal's pyclass from the shared parts below, so a
//! method every signal has is defined in one place.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::batching::Batching;
use super::exporting::{export_metrics, start_pipeline};
use super::guard::guarded;
use super::options::{otlp_env, OtlpOptions};
use crate::config::{BatchConfig, OtlpConfig, Signal};
use crate::otlp::{BatchExporter, OtlpBatch};
use crate::read::scope::ScopeCache;

/// A batching OTLP processor of records `T` (spans, log records).
pub struct OtlpProcessor<T: OtlpBatch> {
    pub otlp: OtlpConfig,
    pub scopes: ScopeCache,
    /// Shared with the bridge's span sinks.
    pub batching: Arc<Batching<BatchExporter<T>>>,
    /// "span", "log record": for messages.
    item_name: &'static str,
}

impl<T: OtlpBatch> OtlpProcessor<T> {
    /// `prefix` names the batching variables (`OTEL_BSP`, `OTEL_BLRP`).
    pub fn start(
        signal: Signal,
        options: &OtlpOptions,
        batch: BatchConfig,
        item_name: &'static str,
    ) -> Self {
        let otlp = OtlpConfig::resolve(signal, options.given.clone(), &*otlp_env(signal));
        let batching = Arc::new(start_pipeline(signal, &otlp, batch, item_name));
        Self {
            otlp,
            scopes: ScopeCache::default(),
            batching,
            item_name,
        }
    }

    /// Queues what `read` makes of one Python item (nothing when it returns `None`);
    /// never raises: an item that cannot be read is counted as dropped.
    pub fn hand_off(&self, operation: &str, read: impl FnOnce(&ScopeCache) -> PyResult<Option<T>>) {
        guarded(operation, (), || {
            let pipeline = self.batching.pipeline();
            match read(&self.scopes) {
                Ok(Some(item)) => {
                    pipeline.push(item);
                }
                Ok(None) => {}
                Err(error) => pipeline.count_unreadable(&format!(
                    "the {} could not be read ({error})",
                    self.item_name
                )),
            }
            Ok(())
        })
    }

    pub fn force_flush(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        guarded("force_flush", false, || {
            Ok(self.batching.force_flush(py, timeout_millis))
        })
    }

    pub fn shutdown(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        guarded("shutdown", false, || {
            Ok(self.batching.shutdown(py, timeout_millis))
        })
    }

    pub fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.batching.stats(py, |exporter| {
            exporter.otlp.rejected.load(Ordering::Relaxed)
        })
    }

    pub fn self_metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.batching
            .self_metrics(py, |exporter, dict| export_metrics(&exporter.otlp, dict))
    }

    pub fn take_export_durations(&self) -> Vec<(f64, Option<String>)> {
        self.batching
            .pipeline()
            .exporter()
            .otlp
            .self_metrics
            .take_durations()
    }
}

/// `#[pymethods]` for `impl Class { ... }` plus the getters every OTLP class has (`Class.0`
/// holds the `otlp` client). A macro because PyO3 reads one `#[pymethods]` block per class.
macro_rules! otlp_pymethods {
    (impl $class:ident { $($methods:tt)* }) => {
        #[pymethods]
        impl $class {
            $($methods)*

            /// The resolved endpoint, for diagnostics (never credentials or headers).
            #[getter]
            fn endpoint(&self) -> String {
                self.0.otlp.display_endpoint()
            }

            #[getter]
            fn protocol(&self) -> &'static str {
                self.0.otlp.protocol.name()
            }
        }
    };
}

/// A processor class: `Class(Record)` for `signal`, batching variables `prefix`, items
/// named `item_name`; `fn hand_off(parameter) = read;` names the SDK's hand-off method
/// (`on_end(span)`, `on_emit(log_record)`) and how an item is read. Methods of the class's own follow.
macro_rules! otlp_processor_class {
    (
        $(#[$attribute:meta])*
        $class:ident($record:ty): $signal:expr, $prefix:literal, $item_name:literal,
        fn $hand_off:ident($parameter:ident) = $read:expr;
        $($own_methods:tt)*
    ) => {
        $(#[$attribute])*
        #[pyclass(frozen, module = "otel_rust_exporter._native")]
        pub struct $class(pub(super) $crate::python::classes::OtlpProcessor<$record>);

        $crate::python::classes::otlp_pymethods! {
            impl $class {
                #[new]
                #[pyo3(signature = (options, batching=None))]
                fn new(
                    options: &$crate::python::options::OtlpOptions,
                    batching: Option<&$crate::python::batching::BatchOptions>,
                ) -> Self {
                    let batch = $crate::python::batching::BatchOptions::resolve(batching, $prefix);
                    Self($crate::python::classes::OtlpProcessor::start(
                        $signal, options, batch, $item_name,
                    ))
                }

                /// Copies the item into the queue in one call; never raises.
                fn $hand_off(&self, $parameter: &Bound<'_, PyAny>) {
                    self.0
                        .hand_off(stringify!($hand_off), |scopes| ($read)($parameter, scopes))
                }

                #[pyo3(signature = (timeout_millis=None))]
                fn force_flush(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
                    self.0.force_flush(py, timeout_millis)
                }

                #[pyo3(signature = (timeout_millis=None))]
                fn shutdown(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
                    self.0.shutdown(py, timeout_millis)
                }

                /// Counters since start (or since the fork that made this process).
                fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
                    self.0.stats(py)
                }

                /// Counters for the self-metrics (read at collection time).
                fn self_metrics<'py>(
                    &self,
                    py: Python<'py>,
                ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
                    self.0.self_metrics(py)
                }

                /// Export durations (seconds, `error.type`) since the last call.
                fn take_export_durations(&self) -> Vec<(f64, Option<String>)> {
                    self.0.take_export_durations()
                }

                $($own_methods)*
            }
        }
    };
}

/// An exporter class (`*Exporter.export` behind a stock processor): `Class` for `signal`;
/// `fn export(batch) = read;` says how each item is read.
macro_rules! otlp_exporter_class {
    (
        $(#[$attribute:meta])*
        $class:ident: $signal:expr,
        fn export(batch) = $read:expr;
    ) => {
        $(#[$attribute])*
        #[pyclass(frozen, module = "otel_rust_exporter._native")]
        pub struct $class($crate::python::exporting::SyncExport);

        $crate::python::classes::otlp_pymethods! {
            impl $class {
                #[new]
                fn new(options: &$crate::python::options::OtlpOptions) -> Self {
                    Self($crate::python::exporting::SyncExport::new($signal, options))
                }

                /// Exports the items and waits for the result (without the GIL). `True` on
                /// delivery.
                fn export(&self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> bool {
                    $crate::python::guard::guarded("export", false, || {
                        self.0.export_items(py, batch, $read)
                    })
                }

                /// Only this exporter stops: the runtime and the other signals keep running.
                fn shutdown(&self, py: Python<'_>) {
                    self.0.shutdown(py);
                }

                /// The disk spool's counters (all 0 without a spool).
                fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
                    let dict = pyo3::types::PyDict::new(py);
                    $crate::python::exporting::fill_spool_stats(
                        $crate::spool::Replay::spool_stats(&*self.0.exporter()),
                        &dict,
                    )?;
                    Ok(dict)
                }

                /// Counters for the self-metrics (read at collection time).
                fn self_metrics<'py>(
                    &self,
                    py: Python<'py>,
                ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
                    let dict = pyo3::types::PyDict::new(py);
                    $crate::python::exporting::export_metrics(&self.0.exporter(), &dict)?;
                    Ok(dict)
                }

                /// Export durations (seconds, `error.type`) since the last call.
                fn take_export_durations(&self) -> Vec<(f64, Option<String>)> {
                    self.0.exporter().self_metrics.take_durations()
                }
            }
        }
    };
}

pub(super) use {otlp_exporter_class, otlp_processor_class, otlp_pymethods};
