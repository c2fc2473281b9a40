//! The `store:` and `fleet:` keys: where the run history lives (SQLite by
//! default, or PostgreSQL from a URL held in a secret), and the fleet a
//! replica belongs to (docs/scaling.md).

use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{ConfigBuilder, loc};
use crate::diagnostics::Location;
use crate::labels::{LOCATION_RULE, is_plain_name};
use crate::units::DurationRange;

/// Where the run history lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreConfig {
    /// `journeyd.db` in the state directory (the default).
    #[default]
    Sqlite,
    /// PostgreSQL; the URL is read from the named secret at start-up.
    Postgres {
        /// Name of the secret holding the URL.
        url_secret: String,
    },
}

/// This replica's place in a fleet (needs `store: { backend: postgres }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetConfig {
    /// Replicas with the same location share its journeys.
    pub location: String,
    /// This replica's id; `None`: hostname and process id.
    pub replica: Option<String>,
    /// A journey's lease lasts this long without renewal (renewed every third of it).
    pub lease_ttl: Duration,
}

/// `fleet.lease_ttl`: short ones for tests, up to ten minutes.
pub const LEASE_TTL: DurationRange = DurationRange {
    key: "fleet.lease_ttl",
    min: Duration::from_secs(2),
    max: Duration::from_secs(600),
};

/// The default lease TTL: a killed replica's journeys move within it.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(30);

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub backend: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub url_secret: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFleet {
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub location: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub replica: Option<Spanned<String>>,
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub lease_ttl: Option<Spanned<String>>,
}

impl ConfigBuilder<'_> {
    pub(super) fn store(&mut self, raw: Option<&RawStore>) -> StoreConfig {
        let Some(raw) = raw else {
            return StoreConfig::Sqlite;
        };
        match raw.backend.as_ref().map(|b| (b, b.value.as_str())) {
            None | Some((_, "sqlite")) => {
                if let Some(u) = &raw.url_secret {
                    self.err(
                        loc(u),
                        "store.url_secret",
                        "only PostgreSQL takes a URL: set `backend: postgres`",
                    );
                }
                StoreConfig::Sqlite
            }
            Some((b, "postgres")) => match &raw.url_secret {
                Some(u) if u.value.contains("://") || u.value.contains('=') => {
                    self.err(
                        loc(u),
                        "store.url_secret",
                        "name the secret that holds the URL, never the URL itself",
                    );
                    StoreConfig::Postgres {
                        url_secret: String::new(),
                    }
                }
                Some(u) => StoreConfig::Postgres {
                    url_secret: self.secret_ref("store.url_secret", u),
                },
                None => {
                    self.err(
                        loc(b),
                        "store.url_secret",
                        "PostgreSQL needs `url_secret`: the secret holding its URL",
                    );
                    StoreConfig::Postgres {
                        url_secret: String::new(),
                    }
                }
            },
            Some((b, other)) => {
                self.err(
                    loc(b),
                    "store.backend",
                    format!("unknown store backend `{other}`: use sqlite or postgres"),
                );
                // Not SQLite either: a fleet next to it is not reported a second time.
                StoreConfig::Postgres {
                    url_secret: String::new(),
                }
            }
        }
    }

    pub(super) fn fleet(
        &mut self,
        raw: Option<&RawFleet>,
        store: &StoreConfig,
    ) -> Option<FleetConfig> {
        let raw = raw?;
        // Where a whole-fleet problem is shown: its first key.
        let at = [&raw.location, &raw.replica, &raw.lease_ttl]
            .into_iter()
            .flatten()
            .map(loc)
            .min()
            .unwrap_or(Location { line: 1, col: 1 });
        match &raw.location {
            None => self.err(
                at,
                "fleet.location",
                "a fleet needs a `location`: replicas with the same one share its journeys",
            ),
            Some(l) if !is_plain_name(&l.value) => {
                self.err(loc(l), "fleet.location", LOCATION_RULE)
            }
            Some(_) => {}
        }
        if *store == StoreConfig::Sqlite {
            self.err(
                at,
                "fleet",
                "a fleet shares PostgreSQL: set `store: { backend: postgres, url_secret: NAME }`",
            );
        }
        if let Some(r) = raw.replica.as_ref().filter(|r| !is_plain_name(&r.value)) {
            self.err(
                loc(r),
                "fleet.replica",
                "a replica id is 1 to 64 letters, digits, `-`, `_` or `.`",
            );
        }
        let lease_ttl = self.duration(
            &raw.lease_ttl,
            "fleet.lease_ttl",
            LEASE_TTL,
            DEFAULT_LEASE_TTL,
        );
        Some(FleetConfig {
            location: raw.location.as_ref()?.value.clone(),
            replica: raw.replica.as_ref().map(|r| r.value.clone()),
            lease_ttl,
        })
    }
}
