//! The fleet page (`GET /fleet`): this replica's id and location, every
//! replica of every location with its heartbeat age, and who runs each
//! journey under which fencing term ([`crate::fleet::view`]). Linked from
//! the status page by [`status_card`] when the daemon is in a fleet; without
//! one the page says so. Server-rendered like every page: no JavaScript.

use std::fmt::{self, Write};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::layout::{Esc, document, fmt_age};
use super::message_page;
use crate::fleet::view::FleetView;
use crate::server::ServerState;

/// How often an open fleet page reloads itself, seconds (heartbeats come
/// every third of the TTL, so a few seconds is enough to watch a takeover).
pub const REFRESH_SECONDS: u32 = 5;

/// `GET /fleet`.
pub async fn page(State(state): State<ServerState>) -> Response {
    let Some(fleet) = &state.fleet else {
        return message_page(
            StatusCode::NOT_FOUND,
            "Not in a fleet",
            "This journeyd is not in a fleet: it runs every journey itself, with no `fleet:` \
             in its configuration (see docs/scaling.md).",
        );
    };
    match crate::fleet::view::load(fleet).await {
        Ok(view) => Html(render(&view)).into_response(),
        Err(e) => message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Fleet unknown",
            &format!(
                "This replica ({} in {}) cannot read the fleet's tables: {e}. It keeps running \
                 the journeys whose leases it renewed recently (docs/scaling.md).",
                fleet.replica(),
                fleet.location()
            ),
        ),
    }
}

/// The status page's one-line card linking to `/fleet`; empty without a fleet.
pub fn status_card(state: &ServerState) -> String {
    let Some(fleet) = &state.fleet else {
        return String::new();
    };
    format!(
        "<section class=\"card\"><p class=\"small\">Replica <code>{}</code> in location \
         <code>{}</code>, running {} of this location's journeys. \
         <a href=\"/fleet\">Fleet: replicas, locations and who runs what</a></p></section>",
        Esc(fleet.replica()),
        Esc(fleet.location()),
        fleet.owned().len()
    )
}

/// The whole page for `view`.
pub fn render(view: &FleetView) -> String {
    let mut body = String::new();
    let _ = write_body(&mut body, view);
    document("Fleet", Some(REFRESH_SECONDS), &body)
}

fn write_body(out: &mut String, v: &FleetView) -> fmt::Result {
    let alive = v.replicas.iter().filter(|r| r.alive).count();
    let unowned = v.unowned().count();
    write!(
        out,
        "<section class=\"card\"><h2>This replica</h2><p><code>{}</code> in location \
         <code>{}</code>; lease TTL {}s. {alive} of {} replicas alive in {} location(s); \
         {} journey lease(s), {unowned} not running anywhere right now.</p>",
        Esc(&v.replica),
        Esc(&v.location),
        v.lease_ttl_seconds,
        v.replicas.len(),
        v.locations().len(),
        v.leases.len()
    )?;
    out.push_str(
        "<p class=\"small muted\">Alive: heartbeat younger than this replica's lease TTL, on \
         the database's clock. A journey without an owner is taken over at the next renewal \
         round of a live replica in its location.</p></section>",
    );
    write_replicas(out, v)?;
    write_leases(out, v)
}

fn write_replicas(out: &mut String, v: &FleetView) -> fmt::Result {
    out.push_str(
        "<section class=\"card\"><h2>Replicas</h2><div class=\"scroll\"><table>\
         <tr><th>location</th><th>replica</th><th>state</th><th>last heartbeat</th>\
         <th>journeys</th></tr>",
    );
    for r in &v.replicas {
        let (class, state) = if r.alive {
            ("passing", "alive")
        } else {
            ("failing", "silent")
        };
        write!(
            out,
            "<tr><td>{}</td><td><code>{}</code>{}</td><td><span class=\"badge b-{class}\">{state}</span></td>\
             <td>{} ago</td><td>{}</td></tr>",
            Esc(&r.location),
            Esc(&r.id),
            if r.this_replica { " (this one)" } else { "" },
            fmt_age(r.heartbeat_age_seconds.round() as i64),
            r.journeys_owned
        )?;
    }
    if v.replicas.is_empty() {
        out.push_str("<tr><td colspan=\"5\">No replica has a heartbeat yet.</td></tr>");
    }
    out.push_str("</table></div></section>");
    Ok(())
}

fn write_leases(out: &mut String, v: &FleetView) -> fmt::Result {
    out.push_str(
        "<section class=\"card\"><h2>Who runs what</h2><div class=\"scroll\"><table>\
         <tr><th>location</th><th>journey</th><th>owner</th><th>term</th><th>lease</th></tr>",
    );
    for l in &v.leases {
        let owner = match &l.owner {
            Some(o) => format!("<code>{}</code>", Esc(o)),
            None => "<span class=\"badge b-unknown\">nobody</span>".to_string(),
        };
        let lease = if l.expires_in_seconds > 0.0 {
            format!(
                "expires in {}",
                fmt_age(l.expires_in_seconds.round() as i64)
            )
        } else {
            format!(
                "free or expired {} ago",
                fmt_age((-l.expires_in_seconds).round() as i64)
            )
        };
        write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{owner}</td>\
             <td>{}</td><td class=\"small\">{lease}</td></tr>",
            Esc(&l.location),
            Esc(&l.journey),
            l.term
        )?;
    }
    if v.leases.is_empty() {
        out.push_str("<tr><td colspan=\"5\">No journey leases yet.</td></tr>");
    }
    out.push_str("</table></div></section>");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::view::{LeaseView, ReplicaView};

    fn replica(location: &str, id: &str, age: f64, alive: bool, owned: usize) -> ReplicaView {
        ReplicaView {
            location: location.into(),
            id: id.into(),
            heartbeat_age_seconds: age,
            alive,
            journeys_owned: owned,
            this_replica: id == "eu-a",
        }
    }

    fn lease(journey: &str, owner: Option<&str>, term: i64, expires: f64) -> LeaseView {
        LeaseView {
            location: "eu".into(),
            journey: journey.into(),
            owner: owner.map(str::to_string),
            term,
            expires_in_seconds: expires,
        }
    }

    #[test]
    fn shows_each_replica_alive_or_silent_and_each_journey_owner_or_nobody() {
        let view = FleetView {
            replica: "eu-a".into(),
            location: "eu".into(),
            lease_ttl_seconds: 30.0,
            database_time: chrono::DateTime::UNIX_EPOCH,
            replicas: vec![
                replica("eu", "eu-a", 3.2, true, 1),
                replica("eu", "eu-b", 95.0, false, 0),
                replica("us", "us-a", 1.0, true, 1),
            ],
            leases: vec![
                lease("purchase", Some("eu-a"), 4, 27.0),
                lease("<contract>", None, 3, -12.0),
            ],
        };
        let page = render(&view);
        assert!(page.contains("<code>eu-a</code> in location <code>eu</code>"));
        assert!(
            page.contains("2 of 3 replicas alive in 2 location(s)"),
            "{page}"
        );
        assert!(page.contains("1 not running anywhere right now"), "{page}");
        assert!(page.contains("<code>eu-a</code> (this one)"), "{page}");
        assert!(page.contains("<td><code>eu-b</code></td><td><span class=\"badge b-failing\">silent</span></td><td>1m ago</td>"), "{page}");
        assert!(page.contains("<td>purchase</td><td><code>eu-a</code></td><td>4</td><td class=\"small\">expires in 27s</td>"), "{page}");
        assert!(page.contains("<td>&lt;contract&gt;</td><td><span class=\"badge b-unknown\">nobody</span></td><td>3</td><td class=\"small\">free or expired 12s ago</td>"), "{page}");
        assert!(!page.contains("<script"));
        assert!(page.contains("http-equiv=\"refresh\" content=\"5\""));
    }
}
