//! Views of the status page per team, channel or back-end: `?team=checkout`
//! filters (any journey label, or `backend`; several keys must all match),
//! `?group=team` groups the cards by a label's value. Every label and back-end
//! on a card is a link to the view filtered by it, the current filter is shown
//! with a link to remove each part, and everything lives in the URL, so a view
//! is shareable and survives the page's own refresh.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

use super::layout::Esc;
use crate::server::filter::LabelFilter;
use crate::status::board::{JourneyState, JourneyStatus};

/// The query key that groups instead of filtering.
pub const GROUP: &str = "group";

/// A view: its filter and how it groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// Labels (and `backend`) a journey must have.
    pub filter: LabelFilter,
    /// Label (or `backend`) whose values group the cards.
    pub group: Option<String>,
}

impl View {
    /// The view a status page query asks for (`group` taken out of the filter).
    pub fn from_query(mut query: LabelFilter) -> Self {
        let group = query.0.remove(GROUP).filter(|g| !g.is_empty());
        Self {
            filter: query,
            group,
        }
    }

    /// `/?…` for `filter` and `group`, keys sorted so equal views have equal URLs.
    fn href(filter: &BTreeMap<String, String>, group: Option<&str>) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in filter {
            q.append_pair(k, v);
        }
        if let Some(g) = group {
            q.append_pair(GROUP, g);
        }
        let q = q.finish();
        if q.is_empty() {
            "/".into()
        } else {
            format!("/?{q}")
        }
    }

    /// This view, also filtered by `key=value` (replacing another value of `key`).
    pub fn with_filter(&self, key: &str, value: &str) -> String {
        let mut f = self.filter.0.clone();
        f.insert(key.into(), value.into());
        Self::href(&f, self.group.as_deref())
    }

    /// This view without the filter on `key`.
    pub fn without_filter(&self, key: &str) -> String {
        let mut f = self.filter.0.clone();
        f.remove(key);
        Self::href(&f, self.group.as_deref())
    }

    /// This view grouped by `group` (`None`: not grouped).
    pub fn with_group(&self, group: Option<&str>) -> String {
        Self::href(&self.filter.0, group)
    }
}

/// A link to the view filtered by `key=value`, drawn as a chip.
pub fn write_chip(out: &mut String, view: &View, key: &str, value: &str) -> fmt::Result {
    write!(
        out,
        "<a class=\"chip\" href=\"{}\" title=\"show only {k}={v}\">{k}={v}</a>",
        Esc(&view.with_filter(key, value)),
        k = Esc(key),
        v = Esc(value)
    )
}

/// The view bar: the current filter (each part removable, or all at once) and
/// the keys the page can group by (the labels of `journeys`, and `backend`).
pub fn write_bar(out: &mut String, view: &View, journeys: &[JourneyStatus]) -> fmt::Result {
    out.push_str("<nav class=\"card row small views\" aria-label=\"views\">");
    if view.filter.0.is_empty() {
        out.push_str("<span class=\"muted\">all journeys</span>");
    } else {
        out.push_str("<span>showing</span>");
        for (k, v) in &view.filter.0 {
            write!(
                out,
                "<span class=\"chip filter\" data-key=\"{k}\">{k}={v} \
                 <a href=\"{}\" title=\"remove this filter\" aria-label=\"remove {k}={v}\">&times;</a></span>",
                Esc(&view.without_filter(k)),
                k = Esc(k),
                v = Esc(v)
            )?;
        }
        write!(
            out,
            "<a class=\"clear\" href=\"{}\">clear filter</a>",
            Esc(&View::href(&BTreeMap::new(), view.group.as_deref()))
        )?;
    }
    out.push_str("<span class=\"muted\">group by</span>");
    let mut keys: BTreeSet<&str> = journeys
        .iter()
        .flat_map(|j| j.labels().keys().map(String::as_str))
        .collect();
    keys.insert("backend");
    if let Some(g) = &view.group {
        keys.insert(g);
    }
    for k in keys.into_iter().map(Some).chain([None]) {
        let name = k.unwrap_or("none");
        if k == view.group.as_deref() {
            write!(out, "<strong class=\"group-by\">{}</strong>", Esc(name))?;
        } else {
            write!(
                out,
                "<a class=\"group-by\" href=\"{}\">{}</a>",
                Esc(&view.with_group(k)),
                Esc(name)
            )?;
        }
    }
    out.push_str("</nav>");
    Ok(())
}

/// The values of `key` on `j` (its back-ends for `backend`; a journey at two
/// back-ends is in both groups).
fn values<'a>(j: &'a JourneyStatus, key: &str) -> Vec<&'a str> {
    if key == "backend" {
        let set: BTreeSet<&str> = j.backends().into_iter().collect();
        set.into_iter().collect()
    } else {
        j.labels()
            .get(key)
            .map(String::as_str)
            .into_iter()
            .collect()
    }
}

/// `journeys` (already in page order) grouped by `key`: groups by value, then
/// journeys without it (`None`) last. Order within a group is kept.
pub fn eval_groups<'a>(
    journeys: &'a [JourneyStatus],
    key: &str,
) -> Vec<(Option<&'a str>, Vec<&'a JourneyStatus>)> {
    let mut groups: BTreeMap<&str, Vec<&JourneyStatus>> = BTreeMap::new();
    let mut none = Vec::new();
    for j in journeys {
        let vs = values(j, key);
        if vs.is_empty() {
            none.push(j);
        }
        for v in vs {
            groups.entry(v).or_default().push(j);
        }
    }
    let mut out: Vec<_> = groups.into_iter().map(|(v, js)| (Some(v), js)).collect();
    if !none.is_empty() {
        out.push((None, none));
    }
    out
}

/// A group's opening: its name (a link to the view filtered by it), how many
/// journeys and how many fail. The caller writes the cards and `</section>`.
pub fn write_group_head(
    out: &mut String,
    view: &View,
    key: &str,
    value: Option<&str>,
    journeys: &[&JourneyStatus],
) -> fmt::Result {
    let failing = journeys
        .iter()
        .filter(|j| j.state == JourneyState::Failing)
        .count();
    write!(
        out,
        "<section class=\"group\" data-group=\"{}\" data-value=\"{}\"><h2 class=\"group-title\">",
        Esc(key),
        Esc(value.unwrap_or(""))
    )?;
    match value {
        Some(v) => write!(
            out,
            "<a href=\"{}\">{}={}</a>",
            Esc(&view.with_filter(key, v)),
            Esc(key),
            Esc(v)
        )?,
        None => write!(out, "no {}", Esc(key))?,
    }
    write!(
        out,
        " <span class=\"small muted\">{} journey{}, {failing} failing</span></h2>",
        journeys.len(),
        if journeys.len() == 1 { "" } else { "s" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::parse::parse_journey;
    use crate::journey::template::Engine;

    fn status(name: &str, labels: &str, backends: &[&str]) -> JourneyStatus {
        let mut src = format!("name: {name}\nlabels: {{ {labels} }}\nsteps:\n");
        for (i, b) in backends.iter().enumerate() {
            src.push_str(&format!(
                "  - name: s{i}\n    backend: {b}\n    request: {{ url: \"http://h/\" }}\n"
            ));
        }
        if backends.is_empty() {
            src.push_str("  - name: s\n    request: { url: \"http://h/\" }\n");
        }
        let j = parse_journey(std::path::Path::new("j.yaml"), &src, &Engine::new()).unwrap();
        JourneyStatus::new(std::sync::Arc::new(j))
    }

    fn query(pairs: &[(&str, &str)]) -> LabelFilter {
        LabelFilter(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn group_is_taken_out_of_the_filter_and_urls_keep_the_rest() {
        let v = View::from_query(query(&[("team", "checkout"), ("group", "channel")]));
        assert_eq!(v.group.as_deref(), Some("channel"));
        assert_eq!(v.filter, query(&[("team", "checkout")]));
        assert_eq!(
            v.with_filter("channel", "web"),
            "/?channel=web&team=checkout&group=channel"
        );
        assert_eq!(v.with_filter("team", "care"), "/?team=care&group=channel");
        assert_eq!(v.without_filter("team"), "/?group=channel");
        assert_eq!(v.with_group(None), "/?team=checkout");
        assert_eq!(
            View::default().with_filter("team", "a b&c"),
            "/?team=a+b%26c"
        );
        assert_eq!(View::from_query(query(&[("group", "")])).group, None);
    }

    #[test]
    fn groups_by_value_with_the_unlabelled_last_and_backends_in_each_group() {
        let js = vec![
            status("pay", "team: checkout", &["payment", "auth"]),
            status("browse", "team: catalog", &["auth"]),
            status("misc", "channel: web", &[]),
        ];
        let names =
            |g: &[&JourneyStatus]| g.iter().map(|j| j.name().to_string()).collect::<Vec<_>>();
        let by_team: Vec<_> = eval_groups(&js, "team")
            .into_iter()
            .map(|(v, g)| (v, names(&g)))
            .collect();
        assert_eq!(
            by_team,
            [
                (Some("catalog"), vec!["browse".to_string()]),
                (Some("checkout"), vec!["pay".to_string()]),
                (None, vec!["misc".to_string()]),
            ]
        );
        let by_backend: Vec<_> = eval_groups(&js, "backend")
            .into_iter()
            .map(|(v, g)| (v, names(&g)))
            .collect();
        assert_eq!(
            by_backend[0],
            (Some("auth"), vec!["pay".into(), "browse".into()])
        );
        assert_eq!(by_backend[1], (Some("payment"), vec!["pay".into()]));
    }

    #[test]
    fn the_bar_shows_the_filter_with_removal_links_and_escapes_values() {
        let js = vec![status("pay", "team: checkout", &[])];
        let v = View::from_query(query(&[("team", "<x>")]));
        let mut out = String::new();
        write_bar(&mut out, &v, &js).unwrap();
        assert!(out.contains("team=&lt;x&gt;"), "{out}");
        assert!(!out.contains("<x>"), "{out}");
        assert!(
            out.contains("<a class=\"clear\" href=\"/\">clear filter</a>"),
            "{out}"
        );
        assert!(
            out.contains("href=\"/?team=%3Cx%3E&amp;group=team\""),
            "{out}"
        );
        let mut none = String::new();
        write_bar(&mut none, &View::default(), &js).unwrap();
        assert!(
            none.contains("all journeys") && !none.contains("clear filter"),
            "{none}"
        );
    }
}
