//! Test helpers shared by the integration-test modules.
