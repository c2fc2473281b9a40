//! The commit window's hand-over: passes that arrive while the writer waits
//! out [`PASS_WINDOW`](super::PASS_WINDOW) join its batch here, under a lock,
//! instead of through the queue, so they do not wake the writer thread one by
//! one (a wake per run was 5 % of the daemon's CPU in the peers benchmark).
//! A failure, a command or a pass that finds the window full or closed goes
//! through the queue and wakes the writer, which then commits at once.

use std::sync::Mutex;

use super::row::RunRow;

/// Most passes one window holds. Enough to share most of a commit's cost (at
/// 50 runs a second, 250 ms gather 12), and a bound on the rows in memory that
/// does not grow with the rate (at 64, the held rows of 1,000 journeys a second
/// showed as 0.7 KiB more per journey in `per_journey.py`).
pub(super) const WINDOW_ROWS: usize = 16;

/// Passes held for the writer's open window.
#[derive(Default)]
pub(super) struct Window(Mutex<Held>);

// Boxed as the queue carries them, so a row moves into the batch without a copy.
#[expect(
    clippy::vec_box,
    reason = "rows move between the queue and the batch boxed"
)]
#[derive(Default)]
struct Held {
    /// The writer is waiting out a window (and will take `rows` when it ends).
    open: bool,
    rows: Vec<Box<RunRow>>,
}

impl Window {
    /// Holds `row` for the open window; gives it back when no window is open or
    /// the window holds a full batch already (it then goes through the queue).
    pub(super) fn join(&self, row: Box<RunRow>) -> Result<(), Box<RunRow>> {
        let mut held = self.lock();
        if held.open && held.rows.len() < WINDOW_ROWS {
            held.rows.push(row);
            Ok(())
        } else {
            Err(row)
        }
    }

    /// The writer starts waiting: passes may join from now on.
    pub(super) fn open(&self) {
        self.lock().open = true;
    }

    /// The writer stops waiting: the passes that joined, for its commit.
    #[expect(
        clippy::vec_box,
        reason = "rows move between the queue and the batch boxed"
    )]
    pub(super) fn close(&self) -> Vec<Box<RunRow>> {
        let mut held = self.lock();
        held.open = false;
        std::mem::take(&mut held.rows)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        // The data stays consistent whatever a panicking holder did: a flag and a Vec.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.lock();
        f.debug_struct("Window")
            .field("open", &held.open)
            .field("rows", &held.rows.len())
            .finish()
    }
}
