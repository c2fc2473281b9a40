//! Parsing. OWNER: main — stub.
