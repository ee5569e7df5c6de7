//! Progress of a long import on a terminal: records done, rate and time left, on one line of
//! stderr redrawn at most twice a second. Silent when stderr is not a terminal.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    shown: Instant,
    on: bool,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        let now = Instant::now();
        Self {
            total,
            done: 0,
            started: now,
            shown: now,
            on: std::io::stderr().is_terminal(),
        }
    }

    pub fn tick(&mut self) {
        self.done += 1;
        if self.on && self.shown.elapsed() >= Duration::from_millis(500) {
            self.shown = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            let rate = self.done as f64 / secs;
            let left = self.total.saturating_sub(self.done) as f64 / rate.max(0.001);
            eprint!(
                "\r{}/{} records, {rate:.0}/s, about {left:.0} s left   ",
                self.done, self.total
            );
            let _ = std::io::stderr().flush();
        }
    }

    pub fn finish(&self) {
        if self.on && self.shown != self.started {
            eprintln!();
        }
    }
}
