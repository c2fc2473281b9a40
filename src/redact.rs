//! Redaction. OWNER: main — stub.
