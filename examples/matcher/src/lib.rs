//! The best-fit matcher of the "Rustifying Python" talk, as a PyO3 extension traced through
//! `otel_rust_bridge`.
//!
//! Tasks and offers each have cpu and memory. In task order, each task takes the fitting
//! offer (enough cpu and memory) with the lowest score, the resources it would leave unused;
//! ties go to the earlier offer, and each offer is used at most once. The result maps offer
//! name to task name, exactly as `matcher._legacy.best_fit` (the pure-Python original and
//! the oracle) computes it.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use crossbeam_utils::Backoff;
use otel_rust_bridge::{BridgeConfig, CarriedContext};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuildError, ThreadPoolBuilder};

/// `(name, cpu, memory)`, as the Python `Task` and `Offer` named tuples hold them.
pub type Item = (String, i64, i64);

/// A fitting offer as (score, offer index). Their order is the sequential loop's choice:
/// the lowest score, then the earliest offer.
type Candidate = (u64, usize);

/// The resources `offer` would leave unused, if it fits `task`. With the non-negative
/// resources `validate` enforces, the sum fits `u64`.
fn score(task: &Item, offer: &Item) -> Option<u64> {
    (offer.1 >= task.1 && offer.2 >= task.2)
        .then(|| offer.1.abs_diff(task.1) + offer.2.abs_diff(task.2))
}

/// The best available fitting offer of `offers`, its index relative to `offers`.
fn best_available(task: &Item, offers: &[Item], used: &[bool]) -> Option<Candidate> {
    let mut best: Option<Candidate> = None;
    for (index, (offer, &taken)) in offers.iter().zip(used).enumerate() {
        if taken {
            continue;
        }
        if let Some(score) = score(task, offer) {
            if best.map_or(true, |(lowest, _)| score < lowest) {
                best = Some((score, index));
            }
        }
    }
    best
}

/// The straight port of the Python loop: `(task index, offer index)` pairs.
#[tracing::instrument(skip_all, fields(tasks = tasks.len() as i64, offers = offers.len() as i64))]
pub fn match_single(tasks: &[Item], offers: &[Item]) -> Vec<(usize, usize)> {
    let mut used = vec![false; offers.len()];
    let mut pairs = Vec::new();
    for (task_index, task) in tasks.iter().enumerate() {
        if let Some((_, offer_index)) = best_available(task, offers, &used) {
            used[offer_index] = true;
            pairs.push((task_index, offer_index));
        }
    }
    pairs
}

/// The same result with the scan spread over `workers` threads (or rayon's default count).
///
/// The tasks go a round at a time, the offers are cut into contiguous chunks. For each
/// chunk, one worker shortlists the best offers still available for every task of the
/// round; workers claim chunks as they come, so a worker the OS has parked does not hold
/// up the round. Then every worker resolves the round from the shortlists, in task order
/// exactly as [`match_single`] would, and so keeps its own identical copy of which offers
/// are used: the workers meet only to wait for a round's last chunk.
#[tracing::instrument(skip_all, fields(tasks = tasks.len() as i64, offers = offers.len() as i64, workers = tracing::field::Empty, rounds = tracing::field::Empty, chunks = tracing::field::Empty))]
pub fn match_parallel(
    tasks: &[Item],
    offers: &[Item],
    workers: Option<usize>,
) -> Result<Vec<(usize, usize)>, ThreadPoolBuildError> {
    with_pool(workers, |pool| {
        let workers = pool.current_num_threads();
        let board = Board::new(tasks.len(), offers.len(), workers * CHUNKS_PER_WORKER);
        let span = tracing::Span::current();
        span.record("workers", workers as i64);
        span.record("rounds", board.rounds.len() as i64);
        span.record("chunks", board.chunks.len() as i64);
        let parent = CarriedContext::current();
        let results = pool.broadcast(|context| {
            let _abandon_on_panic = AbandonOnPanic(&board);
            parent.in_scope(|| match_worker(context.index(), tasks, offers, &board))
        });
        // Every worker resolved every round alike.
        let pairs = results.into_iter().next().unwrap_or_default();
        tracing::info!(matched = pairs.len() as i64, "matched");
        pairs
    })
}

/// The default pool (one thread per core, or RAYON_NUM_THREADS) and the process that built
/// it: `fork()` keeps the pool but not its threads.
static SHARED_POOL: Mutex<Option<(u32, ThreadPool)>> = Mutex::new(None);

/// Runs `run` on a pool of `threads` threads, or on the shared default one.
///
/// Reusing the pool saves starting threads on every call. A match finding it busy builds its
/// own rather than queue: a pool thread runs one match's worker at a time, so a second
/// match would get its threads only as the first lets them go. So does a match asking for
/// a thread count, or finding the lock held by a thread that `fork()` left behind.
fn with_pool<R>(
    threads: Option<usize>,
    run: impl FnOnce(&ThreadPool) -> R,
) -> Result<R, ThreadPoolBuildError> {
    let build = |threads: usize| ThreadPoolBuilder::new().num_threads(threads).build();
    if threads.is_none() {
        if let Ok(mut shared) = SHARED_POOL.try_lock() {
            let process = std::process::id();
            if shared
                .as_ref()
                .map_or(true, |(built_in, _)| *built_in != process)
            {
                // A pool from before fork() is leaked: its threads are gone, and dropping it
                // could wait on locks they held.
                std::mem::forget(shared.replace((process, build(0)?)));
            }
            if let Some((_, pool)) = shared.as_ref() {
                return Ok(run(pool));
            }
        }
    }
    Ok(run(&build(threads.map_or(0, |threads| threads.max(1)))?))
}

/// Tasks per round of [`match_parallel`].
const ROUND: usize = 32;

/// Chunks of offers per worker: smaller chunks spread a round more evenly.
const CHUNKS_PER_WORKER: usize = 2;

/// The fewest offers shortlisted per task and chunk. When a round takes all of a task's
/// shortlist, the workers scan that chunk again; the chunk then gets longer shortlists (up
/// to `ROUND`, which makes a rescan impossible), shorter again after rounds without any.
const SHORTLIST: usize = 2;

/// One worker of [`match_parallel`]: returns all `(task index, offer index)` pairs.
#[tracing::instrument(skip_all, fields(worker = worker as i64, shortlisted = tracing::field::Empty, rescans = tracing::field::Empty))]
fn match_worker(
    worker: usize,
    tasks: &[Item],
    offers: &[Item],
    board: &Board,
) -> Vec<(usize, usize)> {
    let mut used = vec![false; offers.len()];
    let mut lengths = vec![SHORTLIST; board.chunks.len()];
    let mut pairs = Vec::new();
    let (mut shortlisted, mut rescans) = (0_i64, 0_i64);
    for (round, round_tasks) in tasks.chunks(ROUND).enumerate() {
        while let Some(chunk_index) = board.claim(round) {
            let chunk = board.chunks[chunk_index].clone();
            let lists = Shortlists::new(
                round_tasks,
                &offers[chunk.clone()],
                &used[chunk.clone()],
                chunk.start,
                lengths[chunk_index],
            );
            board.post(round, chunk_index, lists);
            shortlisted += 1;
        }
        let Some(all) = board.wait_for(round) else {
            break; // a worker panicked; the pool re-raises it
        };
        let mut rescanned = vec![false; all.len()];
        for (position, task) in round_tasks.iter().enumerate() {
            let winner = all
                .iter()
                .zip(&board.chunks)
                .zip(&mut rescanned)
                .filter_map(|((lists, chunk), rescanned)| {
                    let listed = lists.of(position);
                    match listed.iter().find(|(_, offer)| !used[*offer]) {
                        Some(&candidate) => Some(candidate),
                        // A short list held every fitting offer of the chunk.
                        None if listed.len() < lists.longest => None,
                        None => {
                            *rescanned = true;
                            rescans += 1;
                            best_available(task, &offers[chunk.clone()], &used[chunk.clone()])
                                .map(|(score, index)| (score, chunk.start + index))
                        }
                    }
                })
                .min();
            if let Some((_, offer)) = winner {
                used[offer] = true;
                pairs.push((round * ROUND + position, offer));
            }
        }
        for (length, rescanned) in lengths.iter_mut().zip(rescanned) {
            *length = match rescanned {
                true => (*length * 2).min(ROUND),
                false => (*length - 1).max(SHORTLIST),
            };
        }
    }
    let span = tracing::Span::current();
    span.record("shortlisted", shortlisted);
    span.record("rescans", rescans);
    pairs
}

/// One chunk's shortlists for the tasks of one round, best first.
struct Shortlists {
    /// The most offers listed per task.
    longest: usize,
    candidates: Vec<Candidate>,
    /// Where each task's shortlist ends in `candidates`.
    ends: Vec<usize>,
}

impl Shortlists {
    /// `chunk` starts at offer index `first`.
    fn new(tasks: &[Item], chunk: &[Item], used: &[bool], first: usize, longest: usize) -> Self {
        let mut lists = Self {
            longest,
            candidates: Vec::with_capacity(tasks.len() * longest),
            ends: Vec::with_capacity(tasks.len()),
        };
        for (position, task) in tasks.iter().enumerate() {
            // The round takes at most `position` offers before this task: one more than
            // that is sure to leave the chunk's best available offer listed.
            lists.add(task, chunk, used, first, longest.min(position + 1));
        }
        lists
    }

    /// Lists the `length` best available fitting offers of `chunk` for `task`.
    fn add(&mut self, task: &Item, chunk: &[Item], used: &[bool], first: usize, length: usize) {
        let start = self.candidates.len();
        // The score a new candidate has to beat once the list is full: in index order, an
        // equal score comes later and loses.
        let mut bar = u64::MAX;
        for (index, (offer, &taken)) in chunk.iter().zip(used).enumerate() {
            if taken {
                continue;
            }
            // Whether an offer fits is a coin flip for the branch predictor: no branch on
            // it, only on the rare better score.
            let score = score(task, offer).unwrap_or(u64::MAX);
            if score >= bar {
                continue;
            }
            let list = &self.candidates[start..];
            let at = start + list.partition_point(|(listed, _)| *listed <= score);
            if list.len() == length {
                self.candidates.pop();
            }
            self.candidates.insert(at, (score, first + index));
            if self.candidates.len() - start == length {
                bar = self.candidates[self.candidates.len() - 1].0;
            }
        }
        self.ends.push(self.candidates.len());
    }

    fn of(&self, position: usize) -> &[Candidate] {
        let start = position
            .checked_sub(1)
            .map_or(0, |before| self.ends[before]);
        &self.candidates[start..self.ends[position]]
    }
}

/// What the workers share: the chunks of offers and, per round, their shortlists.
struct Board {
    /// Contiguous, in offer order.
    chunks: Vec<Range<usize>>,
    rounds: Vec<Round>,
    /// Set when a worker panics, so that the others stop waiting for it.
    abandoned: AtomicBool,
}

struct Round {
    /// How many chunks workers have taken on: the next one to shortlist.
    claimed: AtomicUsize,
    /// How many chunks are shortlisted.
    posted: AtomicUsize,
    lists: Vec<OnceLock<Shortlists>>,
}

impl Board {
    fn new(tasks: usize, offers: usize, chunks: usize) -> Self {
        let chunk = offers.div_ceil(chunks);
        Self {
            chunks: (0..chunks)
                .map(|index| (index * chunk).min(offers)..((index + 1) * chunk).min(offers))
                .collect(),
            rounds: (0..tasks.div_ceil(ROUND))
                .map(|_| Round {
                    claimed: AtomicUsize::new(0),
                    posted: AtomicUsize::new(0),
                    lists: (0..chunks).map(|_| OnceLock::new()).collect(),
                })
                .collect(),
            abandoned: AtomicBool::new(false),
        }
    }

    /// A chunk of `round` nobody has shortlisted yet, now this caller's.
    fn claim(&self, round: usize) -> Option<usize> {
        let chunk = self.rounds[round].claimed.fetch_add(1, Ordering::Relaxed);
        (chunk < self.chunks.len()).then_some(chunk)
    }

    fn post(&self, round: usize, chunk: usize, lists: Shortlists) {
        let round = &self.rounds[round];
        // Only the claimant sets it.
        let _ = round.lists[chunk].set(lists);
        round.posted.fetch_add(1, Ordering::Release);
    }

    /// Every chunk's shortlists of `round` once all are posted, or `None` if a worker
    /// panicked.
    fn wait_for(&self, round: usize) -> Option<Vec<&Shortlists>> {
        let round = &self.rounds[round];
        // Spins briefly, then yields: the worker finishing the last chunk may be parked.
        let backoff = Backoff::new();
        while round.posted.load(Ordering::Acquire) < self.chunks.len() {
            if self.abandoned.load(Ordering::Relaxed) {
                return None;
            }
            backoff.snooze();
        }
        round.lists.iter().map(OnceLock::get).collect()
    }
}

/// Marks the board abandoned if the worker holding it unwinds.
struct AbandonOnPanic<'a>(&'a Board);

impl Drop for AbandonOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.abandoned.store(true, Ordering::Relaxed);
        }
    }
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
    let pairs = py
        .detach(|| match_parallel(&tasks, &offers, threads))
        .map_err(|error| PyValueError::new_err(error.to_string()))?;
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

// Not yet audited for free-threaded CPython (docs/PACKAGING.md).
#[pymodule(gil_used = true)]
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
    fn parallel_equals_single_for_any_number_of_workers() {
        // Few distinct sizes: many equal scores, also across chunk boundaries, and many
        // tasks that find nothing once the big offers are gone.
        let tasks: Vec<Item> = (0..300)
            .map(|index| (format!("t{index}"), 1 + index % 7, 1 + index % 5))
            .collect();
        let offers: Vec<Item> = (0..200)
            .map(|index| (format!("o{index}"), (index * 37) % 11, (index * 53) % 9))
            .collect();
        let expected = match_single(&tasks, &offers);
        assert!(expected.len() > 50 && expected.len() < 200);
        for workers in [1, 2, 3, 7] {
            let parallel = match_parallel(&tasks, &offers, Some(workers)).unwrap();
            assert_eq!(parallel, expected, "{workers} workers");
        }
    }

    #[test]
    fn parallel_equals_single_when_a_round_exhausts_the_shortlists() {
        // Identical tasks in a round all want the same offers: every shortlist runs out
        // and the chunks are scanned again.
        let tasks: Vec<Item> = (0..100).map(|index| (format!("t{index}"), 2, 2)).collect();
        let offers: Vec<Item> = (0..150)
            .map(|index| (format!("o{index}"), 2 + index % 3, 2 + index % 2))
            .collect();
        let expected = match_single(&tasks, &offers);
        assert_eq!(expected.len(), 100);
        for workers in [1, 2, 3] {
            let parallel = match_parallel(&tasks, &offers, Some(workers)).unwrap();
            assert_eq!(parallel, expected, "{workers} workers");
        }
    }

    #[test]
    fn more_workers_than_offers_and_empty_inputs() {
        let tasks = items("t", &[(1, 1), (1, 1), (1, 1)]);
        let offers = items("o", &[(5, 5), (1, 1)]);
        assert_eq!(
            match_parallel(&tasks, &offers, Some(4)).unwrap(),
            vec![(0, 1), (1, 0)]
        );
        assert_eq!(match_parallel(&tasks, &[], Some(2)).unwrap(), vec![]);
        assert_eq!(match_parallel(&[], &offers, Some(2)).unwrap(), vec![]);
    }
}
