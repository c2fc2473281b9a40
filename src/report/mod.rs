//! Output formats. OWNER: main — stub.
