//! The best-fit matcher of the "Rustifying Python" talk, as a PyO3 extension traced through
//! `otel_rust_bridge`.
//!
//! Tasks and offers each have cpu and memory. In task order, each task takes the fitting
//! offer (enough cpu and memory) with the lowest score, the resources it would leave unused;
//! ties go to the earlier offer, and each offer is used at most once. The result maps offer
//! name to task name, exactly as `matcher._legacy.best_fit` (the pure-Python original and
//! the oracle) computes it.

use std::collections::HashMap;

use otel_rust_bridge::{BridgeConfig, CarriedContext};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

/// `(name, cpu, memory)`, as the Python `Task` and `Offer` named tuples hold them.
pub type Item = (String, i64, i64);

/// How many best offers per task the parallel phase keeps.
const SHORTLIST: usize = 16;

fn score(task: &Item, offer: &Item) -> Option<i64> {
    (offer.1 >= task.1 && offer.2 >= task.2).then(|| (offer.1 - task.1) + (offer.2 - task.2))
}

/// The best available fitting offer: the lowest score, then the lowest index.
fn best_available(task: &Item, offers: &[Item], used: &[bool]) -> Option<usize> {
    let mut best: Option<(i64, usize)> = None;
    for (index, offer) in offers.iter().enumerate() {
        if used[index] {
            continue;
        }
        if let Some(score) = score(task, offer) {
            if best.map_or(true, |(lowest, _)| score < lowest) {
                best = Some((score, index));
            }
        }
    }
    best.map(|(_, index)| index)
}

/// The straight port of the Python loop: `(task index, offer index)` pairs.
#[tracing::instrument(skip_all, fields(tasks = tasks.len() as i64, offers = offers.len() as i64))]
pub fn match_single(tasks: &[Item], offers: &[Item]) -> Vec<(usize, usize)> {
    let mut used = vec![false; offers.len()];
    let mut pairs = Vec::new();
    for (task_index, task) in tasks.iter().enumerate() {
        if let Some(offer_index) = best_available(task, offers, &used) {
            used[offer_index] = true;
            pairs.push((task_index, offer_index));
        }
    }
    pairs
}

/// The same result with the scan spread over rayon workers: each worker shortlists the
/// best offers for its share of the tasks (ignoring availability), then one pass assigns in
/// task order from the shortlists. The first shortlisted offer not taken yet is the exact
/// answer; only a task whose full shortlist was taken scans all offers again.
#[tracing::instrument(skip_all, fields(tasks = tasks.len() as i64, offers = offers.len() as i64, workers = tracing::field::Empty, full_scans = tracing::field::Empty))]
pub fn match_parallel(tasks: &[Item], offers: &[Item]) -> Vec<(usize, usize)> {
    let workers = rayon::current_num_threads().max(1);
    let parent = CarriedContext::current();
    let everything: Vec<usize> = (0..offers.len()).collect();
    let chunk = tasks.len().div_ceil(workers).max(1);
    let shortlists: Vec<Vec<(i64, usize)>> = tasks
        .par_chunks(chunk)
        .enumerate()
        .map(|(worker, share)| parent.in_scope(|| shortlist(worker, share, offers, &everything)))
        .flatten()
        .collect();
    let mut used = vec![false; offers.len()];
    let mut available = offers.len();
    let mut full_scans = 0_i64;
    let mut pairs = Vec::new();
    for (task_index, candidates) in shortlists.iter().enumerate() {
        let choice = match candidates.iter().find(|(_, index)| !used[*index]) {
            Some(&(_, index)) => Some(index),
            // A short list held every fitting offer; with none left nothing fits either.
            None if candidates.len() < SHORTLIST || available == 0 => None,
            None => {
                full_scans += 1;
                best_available(&tasks[task_index], offers, &used)
            }
        };
        if let Some(offer_index) = choice {
            used[offer_index] = true;
            available -= 1;
            pairs.push((task_index, offer_index));
        }
    }
    let span = tracing::Span::current();
    span.record("workers", workers as i64);
    span.record("full_scans", full_scans);
    tracing::info!(matched = pairs.len() as i64, full_scans, "matched");
    pairs
}

/// For each task of `share`, its `SHORTLIST` best fitting `available` offers as (score,
/// index), best first.
#[tracing::instrument(skip_all, fields(worker = worker as i64, tasks = share.len() as i64))]
fn shortlist(
    worker: usize,
    share: &[Item],
    offers: &[Item],
    available: &[usize],
) -> Vec<Vec<(i64, usize)>> {
    share
        .iter()
        .map(|task| {
            let mut best: Vec<(i64, usize)> = Vec::with_capacity(SHORTLIST + 1);
            for &index in available {
                let Some(score) = score(task, &offers[index]) else {
                    continue;
                };
                if best.len() == SHORTLIST && (score, index) >= best[SHORTLIST - 1] {
                    continue;
                }
                let at = best.partition_point(|entry| *entry < (score, index));
                best.insert(at, (score, index));
                best.truncate(SHORTLIST);
            }
            best
        })
        .collect()
}

#[tracing::instrument(skip_all, err)]
fn validate(tasks: &[Item], offers: &[Item]) -> Result<(), String> {
    match tasks
        .iter()
        .chain(offers)
        .find(|item| item.1 < 0 || item.2 < 0)
    {
        Some(item) => Err(format!("{} has negative resources", item.0)),
        None => Ok(()),
    }
}

fn to_dict(tasks: &[Item], offers: &[Item], pairs: Vec<(usize, usize)>) -> HashMap<String, String> {
    pairs
        .into_iter()
        .map(|(task, offer)| (offers[offer].0.clone(), tasks[task].0.clone()))
        .collect()
}

/// Single-threaded best fit, without the GIL.
#[pyfunction]
#[otel_rust_bridge::instrument(skip_all, fields(tasks = tasks.len() as i64, offers = offers.len() as i64))]
fn best_fit(
    py: Python<'_>,
    tasks: Vec<Item>,
    offers: Vec<Item>,
) -> PyResult<HashMap<String, String>> {
    validate(&tasks, &offers).map_err(PyValueError::new_err)?;
    let pairs = py.detach(|| match_single(&tasks, &offers));
    Ok(to_dict(&tasks, &offers, pairs))
}

/// Multi-threaded best fit (rayon, `threads` workers or one per core), without the GIL.
#[pyfunction]
#[pyo3(signature = (tasks, offers, threads=None))]
#[otel_rust_bridge::instrument(skip_all, fields(tasks = tasks.len() as i64, offers = offers.len() as i64))]
fn best_fit_parallel(
    py: Python<'_>,
    tasks: Vec<Item>,
    offers: Vec<Item>,
    threads: Option<usize>,
) -> PyResult<HashMap<String, String>> {
    validate(&tasks, &offers).map_err(PyValueError::new_err)?;
    let pairs = py.detach(|| match threads {
        // `install` runs on a pool thread: the parent has to be carried there.
        Some(threads) => rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build()
            .map(|pool| {
                let parent = CarriedContext::current();
                pool.install(|| parent.in_scope(|| match_parallel(&tasks, &offers)))
            }),
        None => Ok(match_parallel(&tasks, &offers)),
    });
    let pairs = pairs.map_err(|error| PyValueError::new_err(error.to_string()))?;
    Ok(to_dict(&tasks, &offers, pairs))
}

/// `count` empty spans under one bridged span: the per-span cost in the benchmark.
#[pyfunction]
#[otel_rust_bridge::instrument(skip_all, fields(count = count as i64))]
fn traced_spans(py: Python<'_>, count: usize) {
    py.detach(|| {
        for _ in 0..count {
            let _span = tracing::info_span!("unit").entered();
        }
    });
}

/// The bridge's counters: spans handed to Python processors, queued natively, dropped.
#[pyfunction]
fn bridge_stats() -> HashMap<&'static str, u64> {
    let stats = otel_rust_bridge::stats();
    HashMap::from([
        ("delivered", stats.delivered),
        ("handed_native", stats.handed_native),
        ("dropped", stats.dropped),
    ])
}

#[pymodule]
#[pyo3(name = "_native")]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    otel_rust_bridge::init(
        m.py(),
        BridgeConfig::new("matcher").with_version(env!("CARGO_PKG_VERSION")),
    )?;
    m.add_function(wrap_pyfunction!(best_fit, m)?)?;
    m.add_function(wrap_pyfunction!(best_fit_parallel, m)?)?;
    m.add_function(wrap_pyfunction!(traced_spans, m)?)?;
    m.add_function(wrap_pyfunction!(bridge_stats, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(prefix: &str, sizes: &[(i64, i64)]) -> Vec<Item> {
        sizes
            .iter()
            .enumerate()
            .map(|(index, (cpu, memory))| (format!("{prefix}{index}"), *cpu, *memory))
            .collect()
    }

    #[test]
    fn takes_the_tightest_fit_and_each_offer_once() {
        let tasks = items("t", &[(2, 2), (2, 2), (9, 9)]);
        let offers = items("o", &[(8, 8), (3, 2), (2, 3), (9, 9)]);
        // Task 0: offers 1 and 2 both leave 1 unused; the earlier wins. Task 1 takes 2.
        assert_eq!(match_single(&tasks, &offers), vec![(0, 1), (1, 2), (2, 3)]);
    }

    #[test]
    fn parallel_equals_single_even_when_shortlists_run_out() {
        // Many identical tasks exhaust every shortlist, forcing full scans.
        let tasks: Vec<Item> = (0..300)
            .map(|index| (format!("t{index}"), 1 + index % 7, 1 + index % 5))
            .collect();
        let offers: Vec<Item> = (0..200)
            .map(|index| (format!("o{index}"), (index * 37) % 11, (index * 53) % 9))
            .collect();
        assert_eq!(
            match_parallel(&tasks, &offers),
            match_single(&tasks, &offers)
        );
    }
}
