//! Samplers: the SDK's built-in ones decided natively, any other `Sampler` called as the
//! SDK's tracer calls it.

use pyo3::prelude::*;

use crate::read::fields::enum_value;

/// The SDK's `Decision` values.
pub const DROP: i32 = 0;
pub const RECORD_AND_SAMPLE: i32 = 2;

pub enum Sampler {
    Static(i32),
    /// `TraceIdRatioBased`: sampled when the low 64 bits of the trace id are below the bound.
    Ratio(u64),
    ParentBased(Box<ParentBased>),
    Python(Py<PyAny>),
}

pub struct ParentBased {
    root: Sampler,
    remote_sampled: Sampler,
    remote_not_sampled: Sampler,
    local_sampled: Sampler,
    local_not_sampled: Sampler,
}

/// What the span is made with: the decision, and for a Python sampler the attributes and
/// trace state it returned (a native one keeps the caller's attributes and the parent's state).
pub struct Outcome {
    pub decision: i32,
    pub attributes: Option<Py<PyAny>>,
    pub trace_state: Option<Py<PyAny>>,
}

/// The parent as a sampler sees it.
pub struct Parent {
    pub valid: bool,
    pub is_remote: bool,
    pub sampled: bool,
}

impl Sampler {
    /// Recognises the SDK's classes by exact type (a subclass may override `should_sample`).
    pub fn read(sampler: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = sampler.py();
        let sampling = py.import("opentelemetry.sdk.trace.sampling")?;
        let kind = sampler.get_type();
        let is = |name: &str| -> PyResult<bool> { Ok(kind.is(&sampling.getattr(name)?)) };
        if is("StaticSampler")? || is("_AlwaysOn")? || is("_AlwaysOff")? {
            return Ok(Self::Static(enum_value(&sampler.getattr("_decision")?)?));
        }
        if is("TraceIdRatioBased")? {
            return Ok(Self::Ratio(sampler.getattr("bound")?.extract()?));
        }
        if is("ParentBased")?
            || is("ParentBasedTraceIdRatio")?
            || is("_ParentBasedAlwaysOn")?
            || is("_ParentBasedAlwaysOff")?
        {
            let part = |name: &str| Self::read(&sampler.getattr(name)?);
            return Ok(Self::ParentBased(Box::new(ParentBased {
                root: part("_root")?,
                remote_sampled: part("_remote_parent_sampled")?,
                remote_not_sampled: part("_remote_parent_not_sampled")?,
                local_sampled: part("_local_parent_sampled")?,
                local_not_sampled: part("_local_parent_not_sampled")?,
            })));
        }
        Ok(Self::Python(sampler.clone().unbind()))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn decide(
        &self,
        py: Python<'_>,
        parent: &Parent,
        context: &Bound<'_, PyAny>,
        trace_id: u128,
        name: &Bound<'_, PyAny>,
        kind: &Bound<'_, PyAny>,
        attributes: &Bound<'_, PyAny>,
        links: &Bound<'_, PyAny>,
    ) -> PyResult<Outcome> {
        let native = |decision| Outcome {
            decision,
            attributes: None,
            trace_state: None,
        };
        match self {
            Self::Static(decision) => Ok(native(*decision)),
            Self::Ratio(bound) => Ok(native(if (trace_id as u64) < *bound {
                RECORD_AND_SAMPLE
            } else {
                DROP
            })),
            Self::ParentBased(samplers) => {
                let chosen = if !parent.valid {
                    &samplers.root
                } else {
                    match (parent.is_remote, parent.sampled) {
                        (true, true) => &samplers.remote_sampled,
                        (true, false) => &samplers.remote_not_sampled,
                        (false, true) => &samplers.local_sampled,
                        (false, false) => &samplers.local_not_sampled,
                    }
                };
                chosen.decide(py, parent, context, trace_id, name, kind, attributes, links)
            }
            Self::Python(sampler) => {
                let result = sampler.bind(py).call_method1(
                    "should_sample",
                    (context, trace_id, name, kind, attributes, links),
                )?;
                let state = result.getattr("trace_state")?;
                Ok(Outcome {
                    decision: enum_value(&result.getattr("decision")?)?,
                    attributes: Some(result.getattr("attributes")?.unbind()),
                    trace_state: (!state.is_none()).then(|| state.unbind()),
                })
            }
        }
    }
}
