//! A service that stops answering half way: after a number of writes, every request is still
//! carried out but its answer is held, so a client blocks mid-run with writes done that it never
//! heard of. Tests kill the client there to prove a rerun finishes without duplicates.

use std::time::Duration;

/// Longer than any test waits for an answer.
const HELD: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
pub(crate) struct Stall {
    /// Writes still answered before holding starts; `None` answers everything.
    writes_left: Option<usize>,
    held: usize,
}

impl Stall {
    pub fn after_writes(&mut self, writes: Option<usize>) {
        self.writes_left = writes;
    }

    /// Counts the request; the delay its answer gets, if held.
    pub fn hold(&mut self, is_write: bool) -> Option<Duration> {
        match self.writes_left.as_mut() {
            None => None,
            Some(0) => {
                self.held += 1;
                Some(HELD)
            }
            Some(n) => {
                if is_write {
                    *n -= 1;
                }
                None
            }
        }
    }

    pub fn held(&self) -> usize {
        self.held
    }
}
