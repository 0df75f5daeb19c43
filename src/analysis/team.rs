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
//!
//! **Shared machines.** A fork of ~50 µs pays off only while every helper runs when it is
//! forked. With fewer free cores than threads (another process on the machine, a Slurm
//! allocation smaller than the node) a helper waits for a time slice of milliseconds, the
//! caller waits for it, and the spectrum took twice as long as with one thread (issue 12). So
//! the team measures every fork: the caller's own part (`own`) and how long it then waits for
//! the helpers (`wait`). With `p` parts of about equal size, running them one after the other
//! on the caller would have taken about `p · own`; the fork took `own + wait`. When a run of
//! forks costs more than 90% of that serial estimate (plus a 50 µs allowance for noise, which
//! a whole window of [`WINDOW`] forks does not get: forks too small to pay for the hand-over
//! lose that way), the caller runs the next forks alone, part after part (the same parts, so the same bits), and
//! the idle helpers park instead of spinning. It tries the team again after 16 solo forks,
//! then 32, 64 … up to [`MAX_SOLO`] while forks keep losing; a window of [`WINDOW`] forks that
//! pays resets the back-off. A losing probe costs about one fork, so on a loaded machine the
//! team runs within a few per cent of one thread, and on a quiet one it keeps its speed-up.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle helper (and a caller waiting for its helpers) spins before it parks (or
/// yields): longer than the gaps between a replica's forks, short enough to give a core back
/// soon after the replica's analysis ends.
pub const SPIN: Duration = Duration::from_micros(500);

/// How long the caller spins for its helpers before it yields its core between checks.
pub const CALLER_SPIN: Duration = Duration::from_micros(100);

/// Forks in a measurement window (a window that pays resets the back-off).
pub const WINDOW: u32 = 64;
/// Solo forks after the first losing window; doubled after each further one.
pub const MIN_SOLO: u32 = 16;
/// The longest run of solo forks between two tries of the team.
pub const MAX_SOLO: u32 = 4096;
/// Allowance for timer noise in a window, in nanoseconds.
const NOISE_NS: u64 = 50_000;

type Job<'a> = &'a (dyn Fn(usize) + Sync);

/// Whether forking pays, measured fork by fork (the module doc). Touched only by the caller,
/// through `&self`, hence the relaxed atomics. On cache lines of its own: the caller writes it at
/// every fork, and sharing a line with what the helpers spin on (`Shared`, which a team kept in
/// an `Arc` can sit right after) made the full spectrum 20% slower.
#[derive(Default)]
#[repr(align(128))]
struct Payoff {
    /// Forks left to run on the caller alone.
    solo_left: AtomicU32,
    /// Solo forks after the next losing window.
    backoff: AtomicU32,
    /// This window: forks, Σ(own + wait) and Σ parts · own, in nanoseconds.
    forks: AtomicU32,
    forked_ns: AtomicU64,
    serial_ns: AtomicU64,
    /// Forks run alone so far (for tests and diagnostics).
    solo_total: AtomicU64,
}

impl Payoff {
    /// Take one solo fork if the back-off says so.
    fn take_solo(&self) -> bool {
        let left = self.solo_left.load(Ordering::Relaxed);
        if left == 0 {
            return false;
        }
        self.solo_left.store(left - 1, Ordering::Relaxed);
        self.solo_total.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Record a fork of `parts` parts whose caller part took `own` and then waited `wait`.
    fn record(&self, parts: usize, own: Duration, wait: Duration) {
        let own = own.as_nanos() as u64;
        let forked = self.forked_ns.load(Ordering::Relaxed) + own + wait.as_nanos() as u64;
        let serial = self.serial_ns.load(Ordering::Relaxed) + parts as u64 * own;
        let forks = self.forks.load(Ordering::Relaxed) + 1;
        let reset = |forks: u32, forked: u64, serial: u64| {
            self.forks.store(forks, Ordering::Relaxed);
            self.forked_ns.store(forked, Ordering::Relaxed);
            self.serial_ns.store(serial, Ordering::Relaxed);
        };
        // Clearly losing (beyond the noise allowance) ends a window at once; a whole window
        // that loses at all (forks too small to pay for the hand-over) ends it too.
        let window_done = forks >= WINDOW;
        if forked * 10 > serial * 9 + NOISE_NS * 10 || (window_done && forked * 10 > serial * 9) {
            // Losing: the caller goes alone for a while, longer each time in a row.
            let backoff = self
                .backoff
                .load(Ordering::Relaxed)
                .clamp(MIN_SOLO, MAX_SOLO);
            self.solo_left.store(backoff, Ordering::Relaxed);
            self.backoff
                .store((backoff * 2).min(MAX_SOLO), Ordering::Relaxed);
            reset(0, 0, 0);
        } else if window_done {
            self.backoff.store(MIN_SOLO, Ordering::Relaxed);
            reset(0, 0, 0);
        } else {
            reset(forks, forked, serial);
        }
    }
}

/// What the caller and the helpers share; on cache lines of its own (see [`Payoff`]).
#[repr(align(128))]
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
    payoff: Payoff,
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
        Team {
            shared,
            helpers,
            payoff: Payoff::default(),
        }
    }

    /// Workers in the team, the caller included.
    pub fn size(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Forks the caller has run alone because forking did not pay (the module doc).
    pub fn solo_forks(&self) -> u64 {
        self.payoff.solo_total.load(Ordering::Relaxed)
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
        if self.payoff.take_solo() {
            // The same parts one after the other: the same arithmetic, so the same bits. A panic
            // is resumed after every part has run, as in a fork.
            let mut first = None;
            for part in 0..parts {
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| job(part))) {
                    first.get_or_insert(p);
                }
            }
            if let Some(p) = first {
                resume_unwind(p);
            }
            return;
        }
        let forked = Instant::now();
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
        let own = forked.elapsed();
        // The helpers hold `job` until they decrement: wait for all of them, even on a panic.
        wait(|| s.remaining.load(Ordering::Acquire) == 0);
        self.payoff.record(parts, own, forked.elapsed() - own);
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

/// Spin until `done`, yielding the core once [`CALLER_SPIN`] has passed (a helper that has not
/// finished by then is most likely waiting for a core: give it ours).
fn wait(done: impl Fn() -> bool) {
    let start = Instant::now();
    let mut spins = 0u32;
    while !done() {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) && start.elapsed() > CALLER_SPIN {
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
    fn forks_that_pay_never_go_solo() {
        let p = Payoff::default();
        let us = Duration::from_micros;
        for _ in 0..10 * WINDOW {
            // Two parts of 25 µs, 3 µs of waiting: 28 µs against 50 µs alone.
            p.record(2, us(25), us(3));
            assert!(!p.take_solo());
        }
        // One slow wake-up (a parked helper) inside a paying window is absorbed.
        p.record(2, us(25), us(40));
        assert!(!p.take_solo());
    }

    #[test]
    fn losing_forks_go_solo_with_a_doubling_back_off() {
        let p = Payoff::default();
        let us = Duration::from_micros;
        let solo_run = |p: &Payoff| {
            let mut n = 0;
            while p.take_solo() {
                n += 1;
            }
            n
        };
        // A helper that waited 3 ms for a core: one fork is enough to stop forking.
        p.record(2, us(25), us(3000));
        assert_eq!(solo_run(&p), MIN_SOLO);
        p.record(2, us(25), us(3000));
        assert_eq!(solo_run(&p), 2 * MIN_SOLO);
        for _ in 0..12 {
            p.record(2, us(25), us(3000));
            solo_run(&p);
        }
        p.record(2, us(25), us(3000));
        assert_eq!(solo_run(&p), MAX_SOLO, "capped");
        // A whole window that pays resets the back-off.
        for _ in 0..WINDOW {
            p.record(2, us(25), us(3));
        }
        p.record(2, us(25), us(3000));
        assert_eq!(solo_run(&p), MIN_SOLO);
        // Parts that only break even (wait ≈ own for two parts) lose too.
        p.record(2, us(2000), us(2000));
        assert_eq!(solo_run(&p), MIN_SOLO * 2);
        assert_eq!(p.solo_total.load(Ordering::Relaxed), {
            let doubling: u64 = (0..14)
                .map(|i| (u64::from(MIN_SOLO) << i).min(MAX_SOLO.into()))
                .sum();
            doubling + u64::from(MAX_SOLO) + 3 * u64::from(MIN_SOLO)
        });
    }

    #[test]
    fn forks_too_small_to_pay_go_solo_after_a_window() {
        let p = Payoff::default();
        let ns = Duration::from_nanos;
        // Parts of 500 ns and 1 µs of hand-over: 1.5 µs forked against 1 µs alone.
        for _ in 0..WINDOW - 1 {
            p.record(2, ns(500), ns(1000));
            assert!(
                !p.take_solo(),
                "within the noise allowance until the window ends"
            );
        }
        p.record(2, ns(500), ns(1000));
        assert!(p.take_solo());
    }

    #[test]
    fn a_late_helper_makes_the_caller_run_alone_and_every_part_still_runs_once() {
        // The helper's part is slow (as if it waited for a core): forking loses, the caller
        // takes the parts itself, each exactly once per job.
        let team = Team::new(2);
        let counts = [AtomicUsize::new(0), AtomicUsize::new(0)];
        let on_caller = AtomicUsize::new(0);
        let caller = std::thread::current().id();
        for _ in 0..40 {
            team.run(2, &|p| {
                counts[p].fetch_add(1, Ordering::Relaxed);
                if std::thread::current().id() == caller {
                    on_caller.fetch_add(1, Ordering::Relaxed);
                }
                if p == 1 && std::thread::current().id() != caller {
                    std::thread::sleep(Duration::from_millis(2));
                }
            });
        }
        assert_eq!(counts[0].load(Ordering::Relaxed), 40);
        assert_eq!(counts[1].load(Ordering::Relaxed), 40);
        assert!(team.solo_forks() >= 30, "{} solo forks", team.solo_forks());
        assert!(on_caller.load(Ordering::Relaxed) >= 40 + 30);
    }

    #[test]
    fn a_panic_in_a_solo_fork_is_resumed_after_every_part() {
        let team = Team::new(2);
        team.payoff.solo_left.store(5, Ordering::Relaxed);
        let ran = AtomicUsize::new(0);
        let r = catch_unwind(AssertUnwindSafe(|| {
            team.run(2, &|p| {
                ran.fetch_add(1, Ordering::Relaxed);
                assert!(p != 0, "part zero fails");
            });
        }));
        assert!(r.is_err());
        assert_eq!(
            ran.load(Ordering::Relaxed),
            2,
            "part one ran after part zero failed"
        );
        assert_eq!(team.solo_forks(), 1);
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
