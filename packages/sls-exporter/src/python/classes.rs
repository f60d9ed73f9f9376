//! `SlsLogRecordProcessorCore` and `SlsLogExporterCore`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{resolve, server, spool, SlsOptions};
use crate::config::SlsConfig;
use crate::exporter::{describe, SlsExporter};
use otel_rust_exporter::config::{Env, ProcessEnv, SpoolConfig};
use otel_rust_exporter::diagnostics::RateLimited;
use otel_rust_exporter::pipeline::Outcome;
use otel_rust_exporter::python::batching::{BatchOptions, Batching};
use otel_rust_exporter::python::exporting::{
    fill_snapshot, fill_spool_stats, read_items, UNREADABLE_WARNING_INTERVAL,
};
use otel_rust_exporter::python::finalizing::detach;
use otel_rust_exporter::python::guard::guarded;
use otel_rust_exporter::read::log_record::read_log_record;
use otel_rust_exporter::read::scope::ScopeCache;
use otel_rust_exporter::runtime::{self, PerProcess};
use otel_rust_exporter::spool::Replay;

/// The official producers linger 2 s before sending a partial batch.
const SLS_SCHEDULE_DELAY: Duration = Duration::from_secs(2);

struct Active {
    config: SlsConfig,
    scopes: ScopeCache,
    batching: Batching<SlsExporter>,
}

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct SlsLogRecordProcessorCore {
    active: Option<Active>,
}

impl SlsLogRecordProcessorCore {
    /// `operation` on the pipeline, guarded; `true` when exporting is off (nothing to do).
    fn with_pipeline(
        &self,
        operation: &str,
        run: impl FnOnce(&Batching<SlsExporter>) -> bool,
    ) -> bool {
        let Some(active) = &self.active else {
            return true;
        };
        guarded(operation, false, || Ok(run(&active.batching)))
    }
}

#[pymethods]
impl SlsLogRecordProcessorCore {
    #[new]
    #[pyo3(signature = (options, batching=None))]
    fn new(options: &SlsOptions, batching: Option<&BatchOptions>) -> Self {
        let Some(config) = resolve(options) else {
            return Self { active: None };
        };
        let mut batching = batching.cloned().unwrap_or_default();
        if ProcessEnv.get("OTEL_BLRP_SCHEDULE_DELAY").is_none() {
            batching
                .given
                .schedule_delay
                .get_or_insert(SLS_SCHEDULE_DELAY);
        }
        let mut batch = BatchOptions::resolve(Some(&batching), "OTEL_BLRP");
        // One export, retries included, ends at the sooner of the two timeouts.
        let mut exporter_config = config.clone();
        exporter_config.timeout = config.timeout.min(batch.export_timeout);
        batch.export_timeout = exporter_config.timeout;
        let spool = spool(options);
        let batching = Batching::start("log record", batch, move || {
            SlsExporter::start(exporter_config.clone(), spool.as_ref(), &runtime::handle())
        });
        Self {
            active: Some(Active {
                config,
                scopes: ScopeCache::default(),
                batching,
            }),
        }
    }

    /// Copies the emitted record into the queue; never raises.
    fn on_emit(&self, log_record: &Bound<'_, PyAny>) {
        let Some(active) = &self.active else {
            return;
        };
        guarded("on_emit", (), || {
            let pipeline = active.batching.pipeline();
            match read_log_record(log_record, &active.scopes) {
                Ok(Some(item)) => {
                    pipeline.push(item);
                }
                Ok(None) => {}
                Err(error) => pipeline
                    .count_unreadable(&format!("the log record could not be read ({error})")),
            }
            Ok(())
        })
    }

    #[pyo3(signature = (timeout_millis=None))]
    fn force_flush(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        self.with_pipeline("force_flush", |batching| {
            batching.force_flush(py, timeout_millis)
        })
    }

    #[pyo3(signature = (timeout_millis=None))]
    fn shutdown(&self, py: Python<'_>, timeout_millis: Option<f64>) -> bool {
        self.with_pipeline("shutdown", |batching| batching.shutdown(py, timeout_millis))
    }

    /// Counters; `rejected` counts records too big for any SLS request.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match &self.active {
            Some(active) => active
                .batching
                .stats(py, |exporter| exporter.oversized.load(Ordering::Relaxed)),
            None => Ok(PyDict::new(py)),
        }
    }

    /// `project/logstore at endpoint`, or `None` when disabled (never credentials).
    #[getter]
    fn description(&self) -> Option<String> {
        self.active.as_ref().map(|active| describe(&active.config))
    }

    /// Counters for the self-metrics, or `None` when disabled. Records too big for any
    /// request count as failed exports (`payload_too_large`).
    fn self_metrics<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(active) = &self.active else {
            return Ok(None);
        };
        active
            .batching
            .self_metrics(py, |exporter, dict| sls_export_metrics(exporter, dict))
            .map(Some)
    }

    /// Export durations (seconds, `error.type`) since the last call.
    fn take_export_durations(&self) -> Vec<(f64, Option<String>)> {
        self.active.as_ref().map_or_else(Vec::new, |active| {
            active
                .batching
                .pipeline()
                .exporter()
                .self_metrics
                .take_durations()
        })
    }

    /// `(host, port)` of the SLS endpoint, or `None` when disabled.
    #[getter]
    fn server(&self) -> Option<(String, u16)> {
        self.active.as_ref().map(|active| server(&active.config))
    }
}

#[pyclass(frozen, module = "otel_rust_exporter._native")]
pub struct SlsLogExporterCore {
    config: Option<SlsConfig>,
    spool: Option<SpoolConfig>,
    scopes: ScopeCache,
    exporter: Option<PerProcess<SlsExporter>>,
    shut_down: AtomicBool,
    unreadable_warning: RateLimited,
}

#[pymethods]
impl SlsLogExporterCore {
    #[new]
    fn new(options: &SlsOptions) -> Self {
        let config = resolve(options);
        let spool = spool(options);
        let exporter = config.as_ref().map(|config| {
            PerProcess::with(SlsExporter::start(
                config.clone(),
                spool.as_ref(),
                &runtime::handle(),
            ))
        });
        Self {
            config,
            spool,
            scopes: ScopeCache::default(),
            exporter,
            shut_down: AtomicBool::new(false),
            unreadable_warning: RateLimited::new(UNREADABLE_WARNING_INTERVAL),
        }
    }

    /// Exports the records and waits for the result (without the GIL). `True` on delivery.
    fn export(&self, py: Python<'_>, batch: &Bound<'_, PyAny>) -> bool {
        let (Some(config), Some(exporter)) = (&self.config, &self.exporter) else {
            return false;
        };
        guarded("export", false, || {
            if self.shut_down.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let (records, unreadable) =
                read_items(batch, "log records", &self.unreadable_warning, |record| {
                    read_log_record(record, &self.scopes)
                })?;
            if records.is_empty() {
                // Nothing readable was given: nothing was delivered either.
                return Ok(unreadable == 0);
            }
            let exporter = exporter.get(|| self.start(config));
            let handle = runtime::handle();
            Ok(detach(py, || {
                handle.block_on(exporter.export_records(records, false)) == Outcome::Delivered
            }))
        })
    }

    /// With a spool, first lets its replay finish (while SLS answers, at most the
    /// timeout) without the GIL.
    fn shutdown(&self, py: Python<'_>) {
        if self.shut_down.swap(true, Ordering::Relaxed) {
            return;
        }
        let (Some(config), Some(exporter)) = (&self.config, self.exporter()) else {
            return;
        };
        if exporter.spool_stats().is_none() {
            return;
        }
        exporter.begin_shutdown();
        let handle = runtime::handle();
        let timeout = config.timeout;
        detach(py, || {
            handle.block_on(async {
                let _ = tokio::time::timeout(timeout, exporter.replay_finished()).await;
            })
        });
    }

    /// The disk spool's counters (all 0 without a spool).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        let exporter = self.exporter();
        fill_spool_stats(
            exporter.as_deref().and_then(SlsExporter::spool_stats),
            &dict,
        )?;
        Ok(dict)
    }

    #[getter]
    fn description(&self) -> Option<String> {
        self.config.as_ref().map(describe)
    }

    /// Counters for the self-metrics, or `None` when disabled.
    fn self_metrics<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(exporter) = self.exporter() else {
            return Ok(None);
        };
        let dict = PyDict::new(py);
        sls_export_metrics(&exporter, &dict)?;
        Ok(Some(dict))
    }

    /// Export durations (seconds, `error.type`) since the last call.
    fn take_export_durations(&self) -> Vec<(f64, Option<String>)> {
        self.exporter()
            .map_or_else(Vec::new, |exporter| exporter.self_metrics.take_durations())
    }

    /// `(host, port)` of the SLS endpoint, or `None` when disabled.
    #[getter]
    fn server(&self) -> Option<(String, u16)> {
        self.config.as_ref().map(server)
    }
}

impl SlsLogExporterCore {
    fn exporter(&self) -> Option<Arc<SlsExporter>> {
        let (Some(config), Some(exporter)) = (&self.config, &self.exporter) else {
            return None;
        };
        Some(exporter.get(|| self.start(config)))
    }

    fn start(&self, config: &SlsConfig) -> Arc<SlsExporter> {
        SlsExporter::start(config.clone(), self.spool.as_ref(), &runtime::handle())
    }
}

/// The SLS exporter's counters; oversized records are failed exports.
fn sls_export_metrics(exporter: &SlsExporter, dict: &Bound<'_, PyDict>) -> PyResult<()> {
    fill_snapshot(&exporter.self_metrics, dict)?;
    if let Some(spool) = exporter.spool_stats() {
        fill_spool_stats(Some(spool), dict)?;
    }
    let oversized = exporter.oversized.load(Ordering::Relaxed);
    if oversized > 0 {
        let failed = dict.get_item("failed")?;
        if let Some(failed) = failed {
            failed.set_item("payload_too_large", oversized)?;
        }
    }
    dict.set_item("rejected", 0)
}
