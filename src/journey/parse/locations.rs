//! The journey's `locations:` key: the fleet locations that run it
//! (docs/journeys.md). Absent means every location; names follow the rule of
//! `fleet.location`, so a typo is reported here rather than silently matching
//! no replica. Without a fleet the key is checked and otherwise ignored.

use std::collections::BTreeSet;

use super::build::{Builder, loc};
use super::raw::S;
use crate::labels::{LOCATION_RULE, is_plain_name};

impl Builder<'_> {
    pub(super) fn locations(&mut self, raw: Option<&S<Vec<S<String>>>>) -> Option<Vec<String>> {
        let raw = raw?;
        if raw.value.is_empty() {
            self.err(
                loc(raw),
                "locations",
                "a journey needs at least one location: remove the key to run it in every location",
            );
            return None;
        }
        let mut seen = BTreeSet::new();
        let mut names = Vec::new();
        for (i, name) in raw.value.iter().enumerate() {
            let path = format!("locations[{i}]");
            if !is_plain_name(&name.value) {
                self.err(loc(name), &path, LOCATION_RULE);
            } else if !seen.insert(name.value.as_str()) {
                self.err(
                    loc(name),
                    &path,
                    format!("`{}` is listed twice", name.value),
                );
            } else {
                names.push(name.value.clone());
            }
        }
        Some(names)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::journey::Journey;
    use crate::journey::parse::parse_journey;
    use crate::journey::template::Engine;

    fn parse(locations: &str) -> Result<Journey, Vec<String>> {
        let src = format!(
            "name: j\n{locations}steps:\n  - name: a\n    request: {{ url: \"http://shop.example/\" }}\n"
        );
        parse_journey(Path::new("j.yaml"), &src, &Engine::default())
            .map_err(|d| d.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn absent_means_every_location() {
        let j = parse("").unwrap();
        assert_eq!(j.locations, None);
        assert!(j.runs_in("eu") && j.runs_in("anywhere"));
    }

    #[test]
    fn listed_locations_run_it_others_do_not() {
        let j = parse("locations: [eu, us-east.1]\n").unwrap();
        assert_eq!(j.locations, Some(vec!["eu".into(), "us-east.1".into()]));
        assert!(j.runs_in("eu") && j.runs_in("us-east.1"));
        assert!(!j.runs_in("ap") && !j.runs_in("EU"));
        let block = parse("locations:\n  - b\n").unwrap();
        assert_eq!(block.locations, Some(vec!["b".into()]));
    }

    #[test]
    fn invalid_location_name_is_reported_at_its_position() {
        let errs = parse("locations: [eu, \"us east\"]\n").unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("j.yaml:2:17: locations[1]: a location is 1 to 64"),
            "{errs:?}"
        );
    }

    #[test]
    fn empty_duplicate_and_wrong_shape_are_errors() {
        let empty = parse("locations: []\n").unwrap_err();
        assert!(empty[0].starts_with("j.yaml:2:"), "{empty:?}");
        assert!(empty[0].contains("at least one location"), "{empty:?}");
        let twice = parse("locations: [eu, eu]\n").unwrap_err();
        assert!(
            twice[0].contains("locations[1]: `eu` is listed twice"),
            "{twice:?}"
        );
        let scalar = parse("locations: eu\n").unwrap_err();
        assert!(scalar[0].starts_with("j.yaml:2:"), "{scalar:?}");
    }
}
