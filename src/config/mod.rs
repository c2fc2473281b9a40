//! The daemon configuration (`journeyd run --config FILE`): parsed into raw
//! types, validated purely, built into [`Config`]. Errors use the same
//! `file:line:col: field.path: message` diagnostics as journeys, all at once.

mod alerting;
mod consensus;
mod fleet;
mod otlp;
mod raw;

pub use fleet::{FleetConfig, StoreConfig};
pub use raw::config_schema;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_saphyr::Spanned;

pub(crate) use crate::diagnostics::loc;
use crate::diagnostics::{Diagnostic, Location, decode_yaml};
use crate::journey::Journey;
use crate::journey::parse::{JourneyDefaults, load_patterns};
use crate::journey::secrets::{self, SecretSource};
use crate::journey::template::Engine;
use crate::store::Retention;
use crate::units::{DurationRange, limits, parse_duration_in};
use raw::RawConfig;

/// Where the daemon listens unless configured: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9750";

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

/// The validated daemon configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from.
    pub source: PathBuf,
    /// HTTP listen address.
    pub listen: SocketAddr,
    /// Journey files, directories or globs (relative ones resolved against the config's directory).
    pub journeys: Vec<String>,
    /// Where the SQLite history lives.
    pub state_dir: PathBuf,
    /// Where secrets are read from (besides `JOURNEYD_SECRET_*` and `$CREDENTIALS_DIRECTORY`).
    pub secrets_dir: Option<PathBuf>,
    /// Interval and timeout for journeys that set none.
    pub journey_defaults: JourneyDefaults,
    /// At most this many runs at the same time.
    pub concurrency: usize,
    /// History retention.
    pub retention: Retention,
    /// Static labels on every series and alert (e.g. `location`).
    pub labels: BTreeMap<String, String>,
    /// Name of the secret holding the admin bearer token.
    pub admin_token_secret: Option<String>,
    /// Log format.
    pub log_format: LogFormat,
    /// How long running journeys may take to finish at shutdown.
    pub shutdown_grace: Duration,
    /// DNS servers to use instead of the system resolver.
    pub dns_servers: Vec<SocketAddr>,
    /// First run of each journey within this time of start-up (default: within its interval).
    pub first_run_within: Option<Duration>,
    /// Alert policy, receivers, routes, maintenance windows.
    pub alerting: crate::alert::config::AlertingConfig,
    /// Which optional series `/metrics` exports (`metrics.step_detail`); restart-only.
    pub metrics: crate::metrics::MetricsOptions,
    /// Where the run history lives (`store`); restart-only.
    pub store: StoreConfig,
    /// The fleet this replica belongs to (`fleet`); restart-only.
    pub fleet: Option<FleetConfig>,
    /// OTLP/HTTP export of runs as spans (`tracing.otlp`); restart-only.
    pub trace_export: Option<crate::trace_export::OtlpSettings>,
    /// Every secret named by the configuration, checked at load.
    pub secret_refs: Vec<SecretRef>,
}

impl Config {
    /// Where secrets come from for this configuration.
    pub fn secret_source(&self) -> SecretSource {
        SecretSource::from_env(self.secrets_dir.clone())
    }

    /// The admin token, when configured (and found). An unreadable token file
    /// leaves the admin endpoints disabled (closed, never open) and says why.
    pub fn admin_token(&self) -> Option<String> {
        let name = self.admin_token_secret.as_ref()?;
        self.secret_source().get(name).unwrap_or_else(|e| {
            tracing::error!(error = %e, "Admin endpoints are disabled: the token cannot be read.");
            None
        })
    }
}

/// Reads and validates a configuration file.
pub fn load(path: &Path) -> Result<Config, Vec<Diagnostic>> {
    let source = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::file(
            path,
            format!("cannot read the configuration: {e}"),
        )]
    })?;
    let raw: RawConfig = decode_yaml(path, &source)?;
    let mut b = ConfigBuilder {
        file: path,
        secret_refs: Vec::new(),
        diags: Vec::new(),
    };
    let config = b.build(raw);
    if b.diags.is_empty() {
        Ok(config)
    } else {
        b.diags.sort_by_key(|d| d.loc);
        Err(b.diags)
    }
}

/// Loads the configuration and every journey it names; all problems together.
pub fn load_all(path: &Path, engine: &Engine) -> Result<(Config, Vec<Journey>), Vec<Diagnostic>> {
    let config = load(path)?;
    let loaded = load_patterns(&config.journeys, engine, config.journey_defaults);
    let mut diags = loaded.diagnostics;
    if diags.is_empty() && loaded.journeys.is_empty() {
        diags.push(Diagnostic {
            file: path.to_path_buf(),
            loc: Location { line: 1, col: 1 },
            path: "journeys".into(),
            message: "no journeys found: nothing to monitor".into(),
        });
    }
    let secrets = config.secret_source();
    for r in &config.secret_refs {
        let name = &r.name;
        let message = match secrets.get(name) {
            Ok(Some(_)) => continue,
            Ok(None) => format!(
                "secret `{name}` not found: set JOURNEYD_SECRET_{} or add a file `{name}` to the secrets directory",
                name.to_ascii_uppercase()
            ),
            Err(e) => e.to_string(),
        };
        diags.push(Diagnostic {
            file: path.to_path_buf(),
            loc: r.loc,
            path: r.path.clone(),
            message,
        });
    }
    if diags.is_empty() {
        Ok((config, loaded.journeys))
    } else {
        Err(diags)
    }
}

/// A secret the configuration names, and where (to report it missing at its place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    /// Field path, like `alerting.receivers[1].routing_key_secret`.
    pub path: String,
    /// Secret name.
    pub name: String,
    /// Where it is written.
    pub loc: Location,
}

pub(crate) struct ConfigBuilder<'a> {
    file: &'a Path,
    secret_refs: Vec<SecretRef>,
    diags: Vec<Diagnostic>,
}

impl ConfigBuilder<'_> {
    pub(crate) fn err(&mut self, at: Location, path: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            file: self.file.to_path_buf(),
            loc: at,
            path: path.into(),
            message: message.into(),
        });
    }

    fn dir(&self) -> PathBuf {
        self.file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    }

    /// Parses a duration key within its documented range (see [`limits`]).
    pub(crate) fn duration(
        &mut self,
        d: &Option<Spanned<String>>,
        path: &str,
        range: DurationRange,
        default: Duration,
    ) -> Duration {
        match d {
            None => default,
            Some(d) => parse_duration_in(&d.value, range).unwrap_or_else(|m| {
                self.err(loc(d), path, m.to_string());
                default
            }),
        }
    }

    fn build(&mut self, raw: RawConfig) -> Config {
        let dir = self.dir();
        let secrets_dir = raw
            .secrets_dir
            .as_ref()
            .map(|s| PathBuf::from(resolve(&dir, &s.value)));
        let first_run_within = raw.first_run_within.as_ref().map(|_| {
            self.duration(
                &raw.first_run_within,
                "first_run_within",
                limits::FIRST_RUN_WITHIN,
                Duration::from_secs(10),
            )
        });
        let store = self.store(raw.store.as_ref());
        let fleet = self.fleet(raw.fleet.as_ref(), &store);
        Config {
            source: self.file.to_path_buf(),
            listen: self.listen(&raw),
            journeys: self.journeys(&raw, &dir),
            state_dir: match &raw.state_dir {
                Some(s) => PathBuf::from(resolve(&dir, &s.value)),
                None => default_state_dir(&dir),
            },
            secrets_dir,
            journey_defaults: self.journey_defaults(&raw),
            concurrency: self.concurrency(&raw),
            retention: self.retention(&raw),
            labels: self.labels(&raw),
            admin_token_secret: raw
                .admin_token_secret
                .as_ref()
                .map(|s| self.secret_ref("admin_token_secret", s)),
            log_format: self.log_format(&raw),
            shutdown_grace: self.duration(
                &raw.shutdown_grace,
                "shutdown_grace",
                limits::SHUTDOWN_GRACE,
                Duration::from_secs(30),
            ),
            dns_servers: self.dns_servers(&raw),
            first_run_within,
            alerting: self.alerting(raw.alerting.as_ref()),
            metrics: crate::metrics::MetricsOptions {
                step_detail: (raw.metrics.as_ref())
                    .and_then(|m| m.step_detail.as_ref())
                    .is_some_and(|s| s.value),
            },
            store,
            fleet,
            trace_export: self.tracing(raw.tracing.as_ref()),
            secret_refs: std::mem::take(&mut self.secret_refs),
        }
    }

    /// Records a secret the configuration names (checked for existence by [`load_all`])
    /// and checks its name; returns the name.
    pub(crate) fn secret_ref(&mut self, path: &str, s: &Spanned<String>) -> String {
        self.secret_refs.push(SecretRef {
            path: path.into(),
            name: s.value.clone(),
            loc: loc(s),
        });
        if !secrets::is_valid_name(&s.value) {
            self.err(loc(s), path, "a secret name is letters, digits and `_`");
        }
        s.value.clone()
    }

    fn listen(&mut self, raw: &RawConfig) -> SocketAddr {
        let fallback = SocketAddr::from(([127, 0, 0, 1], 9750));
        match &raw.listen {
            None => DEFAULT_LISTEN.parse().unwrap_or(fallback),
            Some(l) => l.value.parse().unwrap_or_else(|_| {
                self.err(
                    loc(l),
                    "listen",
                    format!(
                        "`{}` is not an address like 127.0.0.1:9750 or [::1]:9750",
                        l.value
                    ),
                );
                fallback
            }),
        }
    }

    fn journeys(&mut self, raw: &RawConfig, dir: &Path) -> Vec<String> {
        match &raw.journeys {
            Some(j) if j.value.is_empty() => {
                self.err(
                    loc(j),
                    "journeys",
                    "list at least one journey file, directory or glob",
                );
                Vec::new()
            }
            Some(j) => j.value.iter().map(|p| resolve(dir, p)).collect(),
            None => vec![resolve(dir, "journeys")],
        }
    }

    fn concurrency(&mut self, raw: &RawConfig) -> usize {
        match &raw.concurrency {
            Some(c) if c.value == 0 => {
                self.err(loc(c), "concurrency", "concurrency must be at least 1");
                1
            }
            Some(c) => c.value as usize,
            None => 32,
        }
    }

    fn log_format(&mut self, raw: &RawConfig) -> LogFormat {
        match raw.log_format.as_ref().map(|l| (l, l.value.as_str())) {
            None | Some((_, "plain")) => LogFormat::Plain,
            Some((_, "json")) => LogFormat::Json,
            Some((l, other)) => {
                self.err(
                    loc(l),
                    "log_format",
                    format!("unknown log format `{other}`: use plain or json"),
                );
                LogFormat::Plain
            }
        }
    }

    fn journey_defaults(&mut self, raw: &RawConfig) -> JourneyDefaults {
        let builtin = JourneyDefaults::default();
        match &raw.defaults {
            None => builtin,
            Some(d) => JourneyDefaults {
                interval: self.duration(
                    &d.interval,
                    "defaults.interval",
                    limits::INTERVAL,
                    builtin.interval,
                ),
                timeout: self.duration(
                    &d.timeout,
                    "defaults.timeout",
                    limits::JOURNEY_TIMEOUT,
                    builtin.timeout,
                ),
            },
        }
    }

    fn retention(&mut self, raw: &RawConfig) -> Retention {
        let mut r = Retention::default();
        if let Some(h) = &raw.history {
            r.max_age = self.duration(
                &h.max_age,
                "history.max_age",
                limits::HISTORY_MAX_AGE,
                r.max_age,
            );
            r.cleanup_max_age = self.duration(
                &h.cleanup_max_age,
                "history.cleanup_max_age",
                limits::CLEANUP_MAX_AGE,
                r.cleanup_max_age,
            );
            if let Some(n) = &h.max_runs_per_journey {
                if n.value == 0 {
                    self.err(
                        loc(n),
                        "history.max_runs_per_journey",
                        "keep at least 1 run per journey",
                    );
                }
                r.max_runs_per_journey = n.value.max(1) as usize;
            }
        }
        r
    }

    fn labels(&mut self, raw: &RawConfig) -> BTreeMap<String, String> {
        let Some(labels) = &raw.labels else {
            return BTreeMap::new();
        };
        for k in labels.value.keys() {
            if let Err(e) = crate::labels::check_name(k) {
                self.err(loc(labels), &format!("labels.{k}"), e.to_string());
            }
        }
        labels.value.clone()
    }

    fn dns_servers(&mut self, raw: &RawConfig) -> Vec<SocketAddr> {
        let Some(list) = &raw.dns_servers else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, s) in list.value.iter().enumerate() {
            let parsed = s.parse::<SocketAddr>().or_else(|_| {
                s.parse::<std::net::IpAddr>()
                    .map(|ip| SocketAddr::new(ip, 53))
            });
            match parsed {
                Ok(a) => out.push(a),
                Err(_) => self.err(
                    loc(list),
                    &format!("dns_servers[{i}]"),
                    format!("`{s}` is not an IP address (with optional :port)"),
                ),
            }
        }
        out
    }
}

/// Relative paths and globs are relative to the configuration file's directory.
fn resolve(dir: &Path, p: &str) -> String {
    if Path::new(p).is_absolute() {
        p.to_string()
    } else {
        dir.join(p).to_string_lossy().into_owned()
    }
}

/// `$STATE_DIRECTORY` under systemd (first entry), else `state/` next to the configuration.
fn default_state_dir(dir: &Path) -> PathBuf {
    match std::env::var("STATE_DIRECTORY") {
        Ok(s) if !s.is_empty() => PathBuf::from(s.split(':').next().unwrap_or(&s)),
        _ => dir.join("state"),
    }
}
