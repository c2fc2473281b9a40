//! Secrets. OWNER: main — stub.
