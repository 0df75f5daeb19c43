//! How many CPU threads a run may use by default (`backend.threads = 0`).
//!
//! The default is the number of CPUs this process may actually run on, not the machine's core
//! count, so a run inside a Slurm allocation or a container does not oversubscribe the cores it
//! was given:
//! - the scheduler affinity mask (`taskset`, Slurm's `task/affinity` and `task/cgroup` cpusets,
//!   `numactl`) and the cgroup CPU quota (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us`, e.g.
//!   `docker --cpus`, Slurm `task/cgroup`), both read by [`std::thread::available_parallelism`]
//!   (quota ÷ period rounded down, at least 1);
//! - `SLURM_CPUS_PER_TASK`, when Slurm sets it (`--cpus-per-task`), as an upper bound: a Slurm
//!   without CPU binding (`TaskPlugin=task/none`) shows every core of the node to every task.
//!
//! An explicit `backend.threads` (`--threads`) is taken as given.

/// CPUs this process may use: the smaller of the affinity mask / cgroup quota count and
/// `SLURM_CPUS_PER_TASK` (when set to a positive integer); at least 1.
pub fn usable() -> usize {
    let os = std::thread::available_parallelism().map_or(1, |n| n.get());
    let slurm = std::env::var("SLURM_CPUS_PER_TASK").ok();
    bounded(os, slurm.as_deref())
}

/// `threads`, or [`usable`] when it is 0.
pub fn or_usable(threads: usize) -> usize {
    match threads {
        0 => usable(),
        t => t,
    }
}

/// Whether every online CPU of the machine has a runnable task that is not this process's: a
/// new thread of ours would then only take turns with other work, and one that is preempted
/// holds up the join at the end of a batch.
///
/// Counts tasks, not load averages: `R` in `/proc/loadavg`'s `R/T` field is the number of
/// runnable tasks right now, from which this process's own running threads
/// (`/proc/self/task/*/stat` in state `R`) are taken away. Compared with every online CPU of the
/// machine, not with the CPUs this process may use, so other jobs on the rest of a node that a
/// Slurm allocation shares never count as contention. `false` where `/proc` cannot be read
/// (other systems): the batch then runs as usual.
pub fn saturated() -> bool {
    let Some(runnable) = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| runnable_from_loadavg(&s))
    else {
        return false;
    };
    let ours = own_running_threads();
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|s| cpus_in_list(&s))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    runnable.saturating_sub(ours) >= online
}

/// `R` of the `R/T` field (the fourth) of `/proc/loadavg`.
fn runnable_from_loadavg(text: &str) -> Option<usize> {
    text.split_whitespace()
        .nth(3)?
        .split('/')
        .next()?
        .parse()
        .ok()
}

/// How many CPUs a list such as `0-3,8,10-11` names.
fn cpus_in_list(text: &str) -> Option<usize> {
    let mut count = 0;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        count += match part.split_once('-') {
            Some((a, b)) => {
                b.parse::<usize>()
                    .ok()?
                    .checked_sub(a.parse::<usize>().ok()?)?
                    + 1
            }
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
    }
    (count > 0).then_some(count)
}

/// This process's threads that are running or runnable now (at least 1: the caller).
fn own_running_threads() -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 1;
    };
    let running = tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("stat")).is_ok_and(|s| {
                // `pid (comm) S ...`: the state follows the last ')' (comm may hold one).
                s.rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('R'))
            })
        })
        .count();
    running.max(1)
}

/// `os` bounded by a `SLURM_CPUS_PER_TASK` value (ignored unless a positive integer).
fn bounded(os: usize, slurm_cpus_per_task: Option<&str>) -> usize {
    let slurm = slurm_cpus_per_task
        .and_then(|s| s.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    slurm.map_or(os, |c| os.min(c)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_cpus_per_task_bounds_the_os_count() {
        assert_eq!(bounded(8, None), 8);
        assert_eq!(bounded(8, Some("2")), 2);
        assert_eq!(bounded(2, Some("16")), 2, "never more than the OS allows");
        assert_eq!(bounded(8, Some("0")), 8, "0 is not a bound");
        assert_eq!(bounded(8, Some("two")), 8, "garbage is ignored");
        assert_eq!(bounded(8, Some(" 3\n")), 3);
        assert_eq!(bounded(0, None), 1);
    }

    #[test]
    fn proc_formats_are_read() {
        assert_eq!(
            runnable_from_loadavg("0.50 0.40 0.30 3/250 12345\n"),
            Some(3)
        );
        assert_eq!(runnable_from_loadavg("0.50 0.40"), None);
        assert_eq!(cpus_in_list("0-3,8,10-11\n"), Some(7));
        assert_eq!(cpus_in_list("0\n"), Some(1));
        assert_eq!(cpus_in_list("3-1"), None);
        assert_eq!(cpus_in_list(""), None);
    }

    #[test]
    fn the_caller_counts_as_running() {
        assert!(own_running_threads() >= 1);
        let _ = saturated(); // answers without panicking, whatever the machine runs
    }

    #[test]
    fn explicit_threads_are_taken_as_given() {
        assert_eq!(or_usable(5), 5);
        assert_eq!(or_usable(0), usable());
    }
}
