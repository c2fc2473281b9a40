//! `diagnostics:` on a journey or a step: requests run only when a step
//! fails. A step's own diagnostics are checked like the step (variables
//! captured by earlier steps); the journey's may read any capture of the main
//! steps, since a step can fail before that capture is made: at run time such a
//! diagnostic is skipped with a note instead of failing.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json_path::JsonPath;

use super::build::{Builder, Defaults, loc};
use super::raw::{RawJourney, RawRequest, S};
use crate::journey::diagnostic::{
    DEFAULT_DIAGNOSTIC_TIMEOUT, DiagnosticExcerpt, DiagnosticRequest, MAX_DIAGNOSTICS_PER_RUN,
};
use crate::units::limits;

/// One entry of `diagnostics:`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDiagnostic {
    /// Shown on the run page and in the alert.
    #[schemars(with = "String")]
    pub name: S<String>,
    /// Like a step's request; its timeout is the diagnostic's `timeout`.
    #[schemars(with = "RawRequest")]
    pub request: S<RawRequest>,
    /// Default 2s, at most 10s.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<S<String>>,
    /// JSONPath of the part of the response kept as the short excerpt (`$.status`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub excerpt: Option<S<String>>,
}

impl Builder<'_> {
    /// A list of diagnostics at `path` (`diagnostics` or `steps[3].diagnostics`).
    pub(super) fn diagnostics(
        &mut self,
        path: &str,
        raw: &[S<RawDiagnostic>],
        defaults: &Defaults,
    ) -> Vec<DiagnosticRequest> {
        // The step being built keeps its own `uses` (cleanup skipping reads them).
        let saved = std::mem::take(&mut self.uses);
        let mut names = BTreeSet::new();
        let mut out = Vec::new();
        for (i, d) in raw.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let name = d.value.name.value.trim().to_string();
            if name.is_empty() || name.len() > 100 {
                self.err(
                    loc(&d.value.name),
                    &format!("{p}.name"),
                    "diagnostic name must be 1-100 characters",
                );
            } else if !names.insert(name.clone()) {
                self.err(
                    loc(&d.value.name),
                    &format!("{p}.name"),
                    format!("diagnostic name `{name}` is already used in this list"),
                );
            }
            out.push(self.diagnostic(&p, name, d, defaults));
        }
        self.uses = saved;
        out
    }

    fn diagnostic(
        &mut self,
        path: &str,
        name: String,
        d: &S<RawDiagnostic>,
        defaults: &Defaults,
    ) -> DiagnosticRequest {
        self.uses.clear();
        let raw = &d.value;
        if let Some(t) = &raw.request.value.timeout {
            self.err(
                loc(t),
                &format!("{path}.request.timeout"),
                "set the timeout on the diagnostic (`timeout: 2s` next to `request`), not in its request",
            );
        }
        let (request, _) = self.request(&format!("{path}.request"), &raw.request, defaults);
        let timeout = self.duration_or(
            raw.timeout.as_ref(),
            &format!("{path}.timeout"),
            limits::DIAGNOSTIC_TIMEOUT,
            DEFAULT_DIAGNOSTIC_TIMEOUT,
        );
        let excerpt = raw
            .excerpt
            .as_ref()
            .and_then(|e| match JsonPath::parse(&e.value) {
                Ok(p) => Some(DiagnosticExcerpt {
                    source: e.value.clone(),
                    path: p,
                }),
                Err(err) => {
                    self.err(
                        loc(e),
                        &format!("{path}.excerpt"),
                        format!(
                            "invalid JSONPath `{}`: {err} (paths start with `$`, like `$.status`)",
                            e.value
                        ),
                    );
                    None
                }
            });
        DiagnosticRequest {
            name,
            loc: loc(d),
            request,
            timeout,
            excerpt,
            uses: std::mem::take(&mut self.uses).into_iter().collect(),
        }
    }

    /// The journey's diagnostics: checked against every capture of the main steps.
    pub(super) fn journey_diagnostics(
        &mut self,
        raw: &RawJourney,
        defaults: &Defaults,
    ) -> Vec<DiagnosticRequest> {
        let list = self.diagnostics("diagnostics", &raw.diagnostics, defaults);
        self.diagnostics_per_run(raw);
        list
    }

    /// A failing step runs its own diagnostics and the journey's: together at most
    /// [`MAX_DIAGNOSTICS_PER_RUN`]; cleanup steps declare none.
    fn diagnostics_per_run(&mut self, raw: &RawJourney) {
        let journey = raw.diagnostics.len();
        if journey > MAX_DIAGNOSTICS_PER_RUN
            && let Some(first) = raw.diagnostics.first()
        {
            self.err(
                loc(first),
                "diagnostics",
                format!("at most {MAX_DIAGNOSTICS_PER_RUN} diagnostics run per failed run; this journey declares {journey}"),
            );
        }
        for (i, s) in raw.steps.value.iter().enumerate() {
            let own = s.value.diagnostics.len();
            if let Some(first) = s.value.diagnostics.first()
                && journey <= MAX_DIAGNOSTICS_PER_RUN
                && own + journey > MAX_DIAGNOSTICS_PER_RUN
            {
                self.err(
                    loc(first),
                    &format!("steps[{i}].diagnostics"),
                    format!("at most {MAX_DIAGNOSTICS_PER_RUN} diagnostics run per failed run; this step declares {own} and the journey {journey}"),
                );
            }
        }
        for (i, s) in raw.cleanup.iter().enumerate() {
            if let Some(first) = s.value.diagnostics.first() {
                self.err(
                    loc(first),
                    &format!("cleanup[{i}].diagnostics"),
                    "cleanup steps cannot declare diagnostics: they run when a main step fails (declare them on that step or on the journey)",
                );
            }
        }
    }
}
