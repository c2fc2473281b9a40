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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::journey::model::Journey;
    use crate::journey::parse::parse_journey;
    use crate::journey::template::Engine;

    fn parse(journey: &str, step: &str) -> Result<Journey, String> {
        let src = format!(
            "name: j\nvars: {{ base: \"http://shop.example\" }}\n{journey}steps:\n  - name: a\n    request: {{ url: \"{{{{ base }}}}/a\" }}\n    capture: {{ id: {{ json: \"$.id\" }} }}\n  - name: b\n    request: {{ url: \"{{{{ base }}}}/b\", headers: {{ x-b: \"{{{{ id }}}}\" }} }}\n{step}  - name: c\n    request: {{ url: \"{{{{ base }}}}/c\" }}\n    capture: {{ late: {{ json: \"$.late\" }} }}\n"
        );
        parse_journey(Path::new("j.yaml"), &src, &Engine::default()).map_err(|d| {
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        })
    }

    #[test]
    fn journey_diagnostics_may_read_any_capture_of_the_main_steps() {
        let j = parse(
            "diagnostics:\n  - name: office\n    request: { url: \"{{ base }}/o/{{ late }}\" }\n    excerpt: \"$.status\"\n",
            "",
        )
        .unwrap();
        let d = &j.diagnostics[0];
        assert_eq!(d.name, "office");
        assert_eq!(d.timeout, Duration::from_secs(2));
        assert_eq!(d.uses, ["base", "late"]);
        assert_eq!(d.excerpt.as_ref().unwrap().source, "$.status");
    }

    #[test]
    fn step_diagnostics_read_only_earlier_captures_and_leave_the_step_uses_alone() {
        let ok = "    diagnostics:\n      - { name: q, request: { url: \"{{ base }}/q/{{ id }}\" }, timeout: 500ms }\n";
        let j = parse("", ok).unwrap();
        let b = &j.steps[1];
        assert_eq!(b.diagnostics()[0].timeout, Duration::from_millis(500));
        assert_eq!(*b.uses, ["base", "id"]);
        let late = "    diagnostics:\n      - { name: q, request: { url: \"{{ base }}/q/{{ late }}\" } }\n";
        let err = parse("", late).unwrap_err();
        assert!(err.contains("steps[1].diagnostics[0].request.url"), "{err}");
        assert!(err.contains("used before it is defined"), "{err}");
    }

    #[test]
    fn timeout_range_and_unknown_variables_are_reported() {
        let err = parse(
            "diagnostics:\n  - { name: o, request: { url: \"{{ nope }}/o\" }, timeout: 11s }\n",
            "",
        )
        .unwrap_err();
        assert!(err.contains("diagnostics[0].timeout"), "{err}");
        assert!(err.contains("between 10ms and 10s"), "{err}");
        assert!(err.contains("undefined variable `nope`"), "{err}");
    }
}
