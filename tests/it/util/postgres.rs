//! The throw-away PostgreSQL cluster of the unit tests, shared as one file.

#[path = "../../../src/store/postgres/testutil.rs"]
mod testutil;

pub use testutil::TestPostgres;
