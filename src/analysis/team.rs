//! One replica's own worker threads for its tangent analysis, when replicas are fewer than
//! cores.
//!
//! A full spectrum at N = 100 forks three times per re-orthonormalisation interval (the
//! propagation of the interval, the Gram matrix, the solve), i.e. every ~50 µs. Through rayon
//! each fork had to wake a sleeping worker, and a run of one replica on two cores took 0.12 s
//! or 0.17 s depending on how often the wake-ups were late (BENCHMARKS.md). A [`Team`] keeps
//! `threads − 1` helper threads of its own that spin between jobs (for [`SPIN`], then park), so a
//! fork costs a store and a cache-line transfer. The helpers are OS threads, not pool tasks: a
//! part never waits for a queue, and the caller always runs part 0 itself.
//!
//! Results do not depend on the team: callers split work into the same parts for any size, and
//! each part's arithmetic is fixed (tests in tangent.rs and orthonormal.rs compare the bits).

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle helper (and a caller waiting for its helpers) spins before it parks (or
/// yields): longer than the gaps between a replica's forks, short enough to give a core back
/// soon after the replica's analysis ends.
pub const SPIN: Duration = Duration::from_micros(500);

type Job<'a> = &'a (dyn Fn(usize) + Sync);

struct Shared {
    /// Bumped once per job (and once to stop).
    generation: AtomicU64,
    /// `*const Job` of the current job, valid until every helper has decremented `remaining`.
    job: AtomicPtr<()>,
    parts: AtomicUsize,
    /// Helpers that have not yet finished the current generation (all take part, idle or not).
    remaining: AtomicUsize,
    stop: AtomicBool,
    sleepers: AtomicUsize,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    lock: Mutex<()>,
    wake: Condvar,
}

/// `threads` workers for one replica: the caller plus `threads − 1` helper threads.
pub struct Team {
    shared: Arc<Shared>,
    helpers: Vec<JoinHandle<()>>,
}

impl Team {
    /// A team of `threads` (at least 1; 1 spawns nothing and runs every job inline). If the OS
    /// refuses a thread the team is smaller.
    pub fn new(threads: usize) -> Team {
        let shared = Arc::new(Shared {
            generation: AtomicU64::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            parts: AtomicUsize::new(0),
            remaining: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            panic: Mutex::new(None),
            lock: Mutex::new(()),
            wake: Condvar::new(),
        });
        let mut helpers = Vec::new();
        for index in 1..threads.max(1) {
            let s = Arc::clone(&shared);
            match std::thread::Builder::new()
                .name(format!("hebbnet-tangent-{index}"))
                .spawn(move || helper(&s, index))
            {
                Ok(h) => helpers.push(h),
                Err(_) => break,
            }
        }
        Team { shared, helpers }
    }

    /// Workers in the team, the caller included.
    pub fn size(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Run `job(0)`, …, `job(parts − 1)` concurrently (`parts` at most [`Self::size`]; more
    /// are an error in the caller), part 0 on the calling thread; returns when all are done. A
    /// panic in any part is resumed here after every part has finished.
    pub fn run(&self, parts: usize, job: &(dyn Fn(usize) + Sync)) {
        assert!(
            parts <= self.size(),
            "{parts} parts for a team of {}",
            self.size()
        );
        if parts <= 1 || self.helpers.is_empty() {
            if parts == 1 {
                job(0);
            }
            return;
        }
        let s = &*self.shared;
        let job: Job = job;
        s.job
            .store(&job as *const Job as *mut (), Ordering::Relaxed);
        s.parts.store(parts, Ordering::Relaxed);
        s.remaining.store(self.helpers.len(), Ordering::Relaxed);
        s.generation.fetch_add(1, Ordering::SeqCst);
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = s.lock.lock().unwrap_or_else(PoisonError::into_inner);
            s.wake.notify_all();
        }
        let mine = catch_unwind(AssertUnwindSafe(|| job(0)));
        // The helpers hold `job` until they decrement: wait for all of them, even on a panic.
        wait(|| s.remaining.load(Ordering::Acquire) == 0);
        // Take a helper's panic even when resuming the caller's, so that none is left for a
        // later job to report.
        let theirs = s
            .panic
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(p) = mine.err().or(theirs) {
            resume_unwind(p);
        }
    }

    /// [`Self::run`] over owned pieces of work (disjoint `&mut` slices, say): part `i` gets
    /// `items[i]`, one part per item.
    pub fn run_each<I: Send>(&self, items: Vec<I>, job: &(dyn Fn(usize, I) + Sync)) {
        let slots: Vec<Mutex<Option<I>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
        self.run(slots.len(), &|part| {
            let item = slots[part]
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(item) = item {
                job(part, item);
            }
        });
    }
}

impl std::fmt::Debug for Team {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Team").field("size", &self.size()).finish()
    }
}

impl Drop for Team {
    fn drop(&mut self) {
        let s = &*self.shared;
        s.stop.store(true, Ordering::SeqCst);
        s.generation.fetch_add(1, Ordering::SeqCst);
        {
            let _guard = s.lock.lock().unwrap_or_else(PoisonError::into_inner);
            s.wake.notify_all();
        }
        for h in self.helpers.drain(..) {
            let _ = h.join();
        }
    }
}

/// Spin until `done`, yielding the core once [`SPIN`] has passed.
fn wait(done: impl Fn() -> bool) {
    let start = Instant::now();
    let mut spins = 0u32;
    while !done() {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) && start.elapsed() > SPIN {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

fn helper(s: &Shared, index: usize) {
    let mut seen = 0;
    loop {
        seen = next_generation(s, seen);
        if s.stop.load(Ordering::SeqCst) {
            return;
        }
        if index < s.parts.load(Ordering::Relaxed) {
            // SAFETY: `run` stored a pointer to its `Job` before bumping the generation (the
            // acquire in `next_generation` orders this read after it) and keeps it alive until
            // this helper decrements `remaining` below.
            let job: Job = unsafe { *(s.job.load(Ordering::Relaxed) as *const Job) };
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| job(index))) {
                *s.panic.lock().unwrap_or_else(PoisonError::into_inner) = Some(p);
            }
        }
        s.remaining.fetch_sub(1, Ordering::Release);
    }
}

/// Wait for a generation other than `seen`: spin for [`SPIN`], then park on the condition
/// variable (`run` notifies when it sees a sleeper; the check under the lock closes the race).
fn next_generation(s: &Shared, seen: u64) -> u64 {
    let start = Instant::now();
    let mut spins = 0u32;
    loop {
        let g = s.generation.load(Ordering::Acquire);
        if g != seen {
            return g;
        }
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) && start.elapsed() > SPIN {
            break;
        }
        std::hint::spin_loop();
    }
    let mut guard = s.lock.lock().unwrap_or_else(PoisonError::into_inner);
    s.sleepers.fetch_add(1, Ordering::SeqCst);
    loop {
        let g = s.generation.load(Ordering::SeqCst);
        if g != seen {
            s.sleepers.fetch_sub(1, Ordering::SeqCst);
            return g;
        }
        guard = s.wake.wait(guard).unwrap_or_else(PoisonError::into_inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_part_runs_once_per_job() {
        for size in [1, 2, 3, 5] {
            let team = Team::new(size);
            assert_eq!(team.size(), size);
            for parts in 0..=size {
                let counts: Vec<AtomicUsize> = (0..size).map(|_| AtomicUsize::new(0)).collect();
                for _ in 0..200 {
                    team.run(parts, &|p| {
                        counts[p].fetch_add(1, Ordering::Relaxed);
                    });
                }
                for (p, c) in counts.iter().enumerate() {
                    let expected = if p < parts { 200 } else { 0 };
                    assert_eq!(c.load(Ordering::Relaxed), expected, "size {size} part {p}");
                }
            }
        }
    }

    #[test]
    fn parts_run_concurrently_and_after_parking() {
        // Both parts wait for each other: this finishes only if they run at the same time.
        let team = Team::new(2);
        for pause in [Duration::ZERO, SPIN * 4] {
            std::thread::sleep(pause); // the helper parks
            let arrived = AtomicUsize::new(0);
            team.run(2, &|_| {
                arrived.fetch_add(1, Ordering::SeqCst);
                while arrived.load(Ordering::SeqCst) < 2 {
                    std::hint::spin_loop();
                }
            });
        }
    }

    #[test]
    fn a_helper_panic_reaches_the_caller() {
        let team = Team::new(3);
        let r = catch_unwind(AssertUnwindSafe(|| {
            team.run(3, &|p| assert!(p != 2, "part two fails"));
        }));
        assert!(r.is_err());
        // Both the caller's and a helper's part fail: one panic is reported, none is left over.
        let r = catch_unwind(AssertUnwindSafe(|| {
            team.run(3, &|p| assert!(p != 0 && p != 1, "parts zero and one fail"));
        }));
        assert!(r.is_err());
        // The team still works afterwards.
        let ran = AtomicUsize::new(0);
        team.run(3, &|_| {
            ran.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(ran.load(Ordering::Relaxed), 3);
    }
}
