//! The long-running daemon (`journeyd run`). OWNER: main — in progress.

pub mod board;
pub mod control;
