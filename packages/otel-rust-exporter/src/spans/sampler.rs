//! Samplers: the SDK's built-in ones decided natively, any other `Sampler` called as the
//! SDK's tracer calls it.

use pyo3::prelude::*;

use super::api;
use crate::read::fields::enum_value;

/// The SDK's `Decision` values.
pub const DROP: i32 = 0;
pub const RECORD_AND_SAMPLE: i32 = 2;

pub enum Sampler {
    Static(i32),
    /// `TraceIdRatioBased`: sampled when the low 64 bits of the trace id are below the
    /// bound (2^64 at rate 1.0, hence wider than 64 bits).
    Ratio(u128),
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
    /// The SDK's built-in samplers as `_native_spans.sampler_parts` describes them (by
    /// exact type: a subclass may override `should_sample`); any other is called.
    pub fn read(sampler: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = sampler.py();
        let parts = api::get(py)
            .views
            .bind(py)
            .call_method1("sampler_parts", (sampler,))?;
        if parts.is_none() {
            return Ok(Self::Python(sampler.clone().unbind()));
        }
        let kind: String = parts.get_item(0)?.extract()?;
        let part = |index: usize| parts.get_item(index);
        Ok(match kind.as_str() {
            "static" => Self::Static(part(1)?.extract()?),
            "ratio" => Self::Ratio(part(1)?.extract()?),
            _ => Self::ParentBased(Box::new(ParentBased {
                root: Self::read(&part(1)?)?,
                remote_sampled: Self::read(&part(2)?)?,
                remote_not_sampled: Self::read(&part(3)?)?,
                local_sampled: Self::read(&part(4)?)?,
                local_not_sampled: Self::read(&part(5)?)?,
            })),
        })
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
            Self::Ratio(bound) => Ok(native(if u128::from(trace_id as u64) < *bound {
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
