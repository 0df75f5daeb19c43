//! Progress of a long job: a bar with ETA on a terminal, plain periodic log lines otherwise
//! (Slurm and batch logs), nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Seconds between two plain log lines (the last one is always printed).
pub const LOG_INTERVAL: Duration = Duration::from_secs(30);

/// How progress is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressMode {
    /// A live bar on stderr.
    Bar,
    /// A line every [`LOG_INTERVAL`] at most.
    Log,
    Quiet,
}

impl ProgressMode {
    /// `Bar` when stderr is a terminal, else `Log`; `Quiet` when asked.
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            ProgressMode::Quiet
        } else if std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::Log
        }
    }
}

/// Units (replicas) and points done out of a total, with the rate over this invocation.
pub struct Progress {
    mode: ProgressMode,
    bar: Option<ProgressBar>,
    total_units: u64,
    done_units: u64,
    /// Units already done when this invocation started (resumed work, not in the rate).
    resumed_units: u64,
    total_points: usize,
    done_points: usize,
    started: Instant,
    last_log: Instant,
}

impl Progress {
    pub fn new(
        mode: ProgressMode,
        total_units: u64,
        resumed_units: u64,
        total_points: usize,
        done_points: usize,
    ) -> Progress {
        let bar = (mode == ProgressMode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total_units), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40.cyan/blue}] {pos}/{len} replicas · {msg} · ETA {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_position(resumed_units);
            bar.reset_eta();
            bar.set_message(format!("{done_points}/{total_points} points"));
            bar
        });
        Progress {
            mode,
            bar,
            total_units,
            done_units: resumed_units,
            resumed_units,
            total_points,
            done_points,
            started: Instant::now(),
            last_log: Instant::now(),
        }
    }

    /// `units` more replicas finished; `done_points` points are now complete.
    pub fn advance(&mut self, units: u64, done_points: usize) {
        self.done_units += units;
        self.done_points = done_points;
        match self.mode {
            ProgressMode::Bar => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("{done_points}/{} points", self.total_points));
                    bar.inc(units);
                }
            }
            ProgressMode::Log => {
                let finished = self.done_units >= self.total_units;
                if finished || self.last_log.elapsed() >= LOG_INTERVAL {
                    self.last_log = Instant::now();
                    eprintln!("{}", self.line());
                }
            }
            ProgressMode::Quiet => {}
        }
    }

    /// `"120/1152 replicas (10/144 points) done, 3.1 replicas/s, ETA 5m 33s"`.
    pub fn line(&self) -> String {
        let elapsed = self.started.elapsed().as_secs_f64();
        let fresh = self.done_units - self.resumed_units;
        let rate = if elapsed > 0.0 {
            fresh as f64 / elapsed
        } else {
            0.0
        };
        let left = self.total_units - self.done_units.min(self.total_units);
        let eta = if rate > 0.0 {
            human_duration(left as f64 / rate)
        } else {
            "unknown".into()
        };
        format!(
            "[{}] {}/{} replicas ({}/{} points) done, {rate:.3} replicas/s, ETA {eta}",
            human_duration(elapsed),
            self.done_units,
            self.total_units,
            self.done_points,
            self.total_points
        )
    }

    /// Print a message without breaking the bar (dropped when quiet).
    pub fn println(&self, message: &str) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.println(message),
            (None, ProgressMode::Quiet) => {}
            (None, _) => eprintln!("{message}"),
        }
    }

    /// Remove the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `"1h 02m"`, `"5m 33s"`, `"12.3 s"`.
pub fn human_duration(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{}m {:02}s", (s / 60.0) as u64, (s % 60.0) as u64)
    } else {
        format!(
            "{}h {:02}m",
            (s / 3600.0) as u64,
            ((s % 3600.0) / 60.0) as u64
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(human_duration(12.34), "12.3 s");
        assert_eq!(human_duration(333.0), "5m 33s");
        assert_eq!(human_duration(3720.0), "1h 02m");
    }

    #[test]
    fn log_line_counts_resumed_work_but_not_in_the_rate() {
        let mut p = Progress::new(ProgressMode::Quiet, 100, 40, 10, 4);
        p.advance(10, 5);
        let line = p.line();
        assert!(
            line.contains("50/100 replicas (5/10 points) done"),
            "{line}"
        );
    }
}
