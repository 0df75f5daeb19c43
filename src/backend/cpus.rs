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
    fn explicit_threads_are_taken_as_given() {
        assert_eq!(or_usable(5), 5);
        assert_eq!(or_usable(0), usable());
    }
}
