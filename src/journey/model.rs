//! The validated journey model.
//!
//! Everything here has passed parsing and validation (see [`super::parse`]):
//! durations are parsed, regexes and JSONPaths compiled, templates checked for
//! syntax and for variables used before they are defined. The runner consumes
//! these types and never re-validates them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use serde_json_path::JsonPath;

pub use super::request::{BodySpec, JsonBody, Redirects, RequestSpec, Retry};
pub use super::template::Template;
pub use crate::diagnostics::Location;

/// One journey: named steps run in order, plus cleanup steps.
#[derive(Debug, Clone)]
pub struct Journey {
    /// Unique name; used in metrics, alerts and the API.
    pub name: String,
    /// Where the name is written (for cross-file errors).
    pub name_loc: Location,
    /// Human description.
    pub description: Option<String>,
    /// The file the journey was loaded from.
    pub source: PathBuf,
    /// How often the daemon runs it.
    pub interval: Duration,
    /// Hard limit for the whole run, cleanup included.
    pub timeout: Duration,
    /// Static labels added to metrics and alerts (`team`, `channel`).
    pub labels: BTreeMap<String, String>,
    /// Link to the runbook for on-call.
    pub runbook: Option<String>,
    /// The fleet locations that run it (`locations:`); `None`: every location.
    pub locations: Option<Vec<String>>,
    /// Variables, rendered in order once at the start of each run; each may use the ones before it.
    pub vars: Vec<(String, Template)>,
    /// Names of the secrets the journey's templates read (`secret.NAME`), loaded per run.
    pub secrets: Vec<String>,
    /// Names of the environment variables the templates read (`env.NAME`).
    pub env: Vec<String>,
    /// Maximum response body size read per request, in bytes.
    pub max_body_bytes: u64,
    /// TLS options for every request of the journey.
    pub tls: TlsOptions,
    /// Which requests carry W3C trace headers (`trace:`).
    pub trace: TraceScope,
    /// Requests run when any step fails (`diagnostics:`), after the step's own.
    pub diagnostics: Vec<super::DiagnosticRequest>,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Steps that always run after `steps`, pass or fail.
    pub cleanup: Vec<Step>,
}

impl Journey {
    /// Whether a replica in `location` runs it (`locations:` absent: every location).
    pub fn runs_in(&self, location: &str) -> bool {
        self.locations
            .as_ref()
            .is_none_or(|l| l.iter().any(|n| n == location))
    }
}

/// Which requests of a journey carry `traceparent` and `tracestate` (`trace:` key).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TraceScope {
    /// `trace: false`: no request does.
    Off,
    /// Default: requests to the host of the journey's first step (as rendered).
    #[default]
    OwnHost,
    /// `trace: { hosts: [...] }`: requests to these hosts (`*.example.com` matches
    /// subdomains), instead of the default.
    Hosts(Vec<String>),
}

/// TLS settings of a journey.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Extra PEM CA bundle trusted in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (chain) for mTLS.
    pub client_cert: Option<PathBuf>,
    /// PEM private key matching `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Explicit opt-out of certificate verification.
    pub insecure_skip_verify: bool,
}

/// One HTTP request with expectations and captures.
#[derive(Debug, Clone)]
pub struct Step {
    /// Unique (within the journey) step name.
    pub name: String,
    /// Where the step starts in the file.
    pub loc: Location,
    /// The back-end process this step proves (`fulfillment`).
    pub backend: Option<String>,
    /// The request to send (journey defaults already merged in).
    pub request: RequestSpec,
    /// Per-request timeout (journey default merged in).
    pub timeout: Duration,
    /// What the response must satisfy.
    pub expect: Box<[Expectation]>,
    /// Values taken from the response into variables.
    pub captures: Box<[Capture]>,
    /// Retry of a single failed request (transient faults) before the step is
    /// judged; `None` is [`Retry::DEFAULT`], as for most steps.
    pub retry: Option<Box<Retry>>,
    /// What few steps declare (`eventually`, `fail_fast`, `warn_duration`,
    /// `diagnostics`), boxed: a step lives as long as its journey is configured,
    /// and inline these were 64 of its bytes.
    pub extras: Option<Box<StepExtras>>,
    /// Variables the step's templates reference (captures and vars); used to skip cleanup steps
    /// whose inputs were never captured.
    pub uses: Box<[String]>,
}

/// The parts of a step that few steps declare.
#[derive(Debug, Clone, Default)]
pub struct StepExtras {
    /// Repeat until the expectations hold.
    pub eventually: Option<Eventually>,
    /// Expectations that, when they *all* hold during `eventually`, end the wait with `backend_failed`.
    pub fail_fast: Vec<Expectation>,
    /// A step slower than this passes but marks the run degraded.
    pub warn_duration: Option<Duration>,
    /// Requests run when this step fails, before the journey's (`diagnostics:`).
    pub diagnostics: Vec<super::DiagnosticRequest>,
}

impl StepExtras {
    /// `None` when nothing is declared, so the step keeps no box.
    pub fn boxed(self) -> Option<Box<Self>> {
        let empty = self.eventually.is_none()
            && self.fail_fast.is_empty()
            && self.warn_duration.is_none()
            && self.diagnostics.is_empty();
        (!empty).then(|| Box::new(self))
    }
}

impl Step {
    /// The step's `eventually`, by value (it is small and `Copy`).
    pub fn eventually(&self) -> Option<Eventually> {
        self.extras.as_ref().and_then(|x| x.eventually)
    }

    /// Expectations that end an `eventually` wait early with `backend_failed`.
    pub fn fail_fast(&self) -> &[Expectation] {
        self.extras.as_ref().map_or(&[], |x| &x.fail_fast)
    }

    /// A step slower than this passes but marks the run degraded.
    pub fn warn_duration(&self) -> Option<Duration> {
        self.extras.as_ref().and_then(|x| x.warn_duration)
    }

    /// Requests run when this step fails, before the journey's.
    pub fn diagnostics(&self) -> &[super::DiagnosticRequest] {
        self.extras.as_ref().map_or(&[], |x| &x.diagnostics)
    }

    /// The step's retry policy.
    pub fn retry(&self) -> &Retry {
        self.retry.as_deref().unwrap_or(&Retry::DEFAULT)
    }
}

/// Repeat a step until its expectations hold, or fail when `within` passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eventually {
    /// Deadline for the back-end process to finish, measured from the first attempt.
    pub within: Duration,
    /// Pause between attempts (the first pause when backing off).
    pub every: Duration,
    /// Multiply the pause by this after each attempt (1.0 = fixed interval).
    pub backoff: f64,
    /// Upper bound for the pause when backing off.
    pub max_every: Duration,
    /// A back-end process that finishes but slower than this marks the run degraded.
    pub warn_after: Option<Duration>,
    /// `durable: true`: after the first poll the run ends and, if the back-end has not
    /// finished, the daemon keeps watching it as an obligation until `within` passes.
    pub durable: bool,
}

/// One check on a response.
#[derive(Debug, Clone)]
pub enum Expectation {
    /// The status code is one of these.
    Status(Vec<StatusMatch>),
    /// A response header check.
    Header {
        /// Lower-case header name.
        name: String,
        /// The check.
        check: HeaderCheck,
    },
    /// The body contains this text.
    BodyContains(Template),
    /// The body matches this regex (shared by every journey with the same pattern).
    BodyMatches(Arc<Regex>),
    /// A JSONPath predicate on the (JSON) body.
    Json {
        /// The path (shared by every journey with the same path text).
        query: Arc<JsonQuery>,
        /// What the selected node(s) must satisfy.
        predicate: Predicate,
    },
    /// Whole-request duration limit (all attempts' last attempt for eventually steps).
    MaxDuration(Duration),
    /// The peer certificate stays valid for at least this many days.
    CertValidDays(u32),
    /// The JSON body is valid against a JSON Schema (`body: { schema: FILE }`).
    BodySchema(BodySchema),
}

/// A JSON Schema compiled when the journey is loaded.
#[derive(Debug, Clone)]
pub struct BodySchema {
    /// The file as written in the journey (shown in mismatches).
    pub source: String,
    /// The compiled schema (shared: steps are cloned per run).
    pub validator: Arc<jsonschema::Validator>,
}

/// One accepted status: an exact code or a class like `2xx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMatch {
    /// Exactly this code.
    Code(u16),
    /// Any code in `class*100 ..= class*100+99`.
    Class(u16),
}

/// A header check.
#[derive(Debug, Clone)]
pub enum HeaderCheck {
    /// Header value equals (after rendering).
    Equals(Template),
    /// Header value matches (the regex is shared by pattern).
    Matches(Arc<Regex>),
    /// Header is present (`true`) or absent (`false`).
    Exists(bool),
    /// `contains`, `one_of` or a numeric comparison, evaluated on the header
    /// value as the same predicate on a JSON string (a number for comparisons).
    Predicate(Predicate),
}

/// JSON types for the `type` predicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// `null`
    Null,
    /// `true`/`false`
    Bool,
    /// any number
    Number,
    /// string
    String,
    /// array
    Array,
    /// object
    Object,
}

impl JsonType {
    /// Name used in messages and the journey format.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Bool => "bool",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

/// What a JSONPath selection must satisfy. Values that are strings are templates.
#[derive(Debug, Clone)]
pub enum Predicate {
    /// Equal (numbers compare numerically, `1` equals `1.0`).
    Eq(serde_json::Value),
    /// Not equal.
    Ne(serde_json::Value),
    /// Greater than.
    Gt(f64),
    /// Greater or equal.
    Gte(f64),
    /// Less than.
    Lt(f64),
    /// Less or equal.
    Lte(f64),
    /// String contains substring, or array contains element.
    Contains(serde_json::Value),
    /// String matches regex (shared by every journey with the same pattern).
    Matches(Arc<Regex>),
    /// The path selects something (`true`) or nothing (`false`).
    Exists(bool),
    /// Array/string/object length equals.
    Len(usize),
    /// Length greater than.
    LenGt(usize),
    /// Length less than.
    LenLt(usize),
    /// Equal to one of these.
    OneOf(Vec<serde_json::Value>),
    /// JSON type of the value.
    Type(JsonType),
}

/// A value taken from a response into a variable.
#[derive(Debug, Clone)]
pub struct Capture {
    /// Variable name.
    pub name: String,
    /// Where to take it from.
    pub source: CaptureSource,
    /// Redact the value everywhere.
    pub secret: bool,
}

/// A compiled JSONPath and its text as written (for messages and evidence).
#[derive(Debug)]
pub struct JsonQuery {
    /// The path as written.
    pub source: Box<str>,
    /// The compiled path.
    pub path: JsonPath,
}

impl JsonQuery {
    /// Compiles `source`; [`super::parse`] shares the result by text.
    pub fn parse(source: &str) -> Result<Self, serde_json_path::ParseError> {
        Ok(Self {
            source: source.into(),
            path: JsonPath::parse(source)?,
        })
    }
}

/// Where a capture takes its value from.
#[derive(Debug, Clone)]
pub enum CaptureSource {
    /// First node selected by a JSONPath (keeps its JSON type).
    Json(Arc<JsonQuery>),
    /// A response header (lower-case name).
    Header(String),
    /// A cookie set by the response (`Set-Cookie`).
    Cookie(String),
    /// A regex group on the body.
    Regex {
        /// The regex (shared by pattern).
        regex: Arc<Regex>,
        /// Group number (0 = whole match) or name.
        group: RegexGroup,
    },
    /// The HTTP status code.
    Status,
    /// The final URL after redirects.
    Url,
}

/// A regex capture group reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexGroup {
    /// By index.
    Index(usize),
    /// By name.
    Name(String),
}
