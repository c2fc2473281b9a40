//! The fleet's statements on PostgreSQL. Every time is the database's
//! (`now()`); a replica's own clock only measures how long ago it asked.

use std::time::Duration;

use tokio_postgres::Client;

/// `ttl` as a PostgreSQL interval parameter (seconds, fractional).
fn secs(ttl: Duration) -> f64 {
    ttl.as_secs_f64()
}

/// Marks `replica` alive and returns the database clock, Unix milliseconds.
pub(super) async fn heartbeat(
    c: &Client,
    location: &str,
    replica: &str,
) -> Result<i64, tokio_postgres::Error> {
    let row = c
        .query_one(
            "INSERT INTO replicas (location, id, heartbeat_at) VALUES ($1, $2, now())
             ON CONFLICT (location, id) DO UPDATE SET heartbeat_at = now()
             RETURNING (extract(epoch FROM heartbeat_at) * 1000)::bigint",
            &[&location, &replica],
        )
        .await?;
    row.try_get(0)
}

/// Replicas of `location` whose heartbeat is younger than `ttl` (at least 1:
/// the caller has just sent its own). Forgets replicas silent for 10 TTLs.
pub(super) async fn live_members(
    c: &Client,
    location: &str,
    ttl: Duration,
) -> Result<usize, tokio_postgres::Error> {
    c.execute(
        "DELETE FROM replicas WHERE location = $1
         AND heartbeat_at < now() - make_interval(secs => $2::float8 * 10)",
        &[&location, &secs(ttl)],
    )
    .await?;
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM replicas WHERE location = $1
             AND heartbeat_at > now() - make_interval(secs => $2::float8)",
            &[&location, &secs(ttl)],
        )
        .await?
        .try_get(0)?;
    Ok(usize::try_from(n).unwrap_or(1).max(1))
}

/// Creates a free lease for every journey that has none yet.
pub(super) async fn ensure(
    c: &Client,
    location: &str,
    journeys: &[String],
) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "INSERT INTO journey_leases (location, journey, owner, term, expires_at)
         SELECT $1, j, NULL, 0, now() FROM unnest($2::text[]) AS j
         ON CONFLICT (location, journey) DO NOTHING",
        &[&location, &journeys],
    )
    .await?;
    Ok(())
}

/// Extends every unexpired lease `replica` holds on `journeys`; returns
/// `(journey, term)` of those it still holds. Leases of journeys no longer
/// configured here are released.
pub(super) async fn renew(
    c: &Client,
    location: &str,
    replica: &str,
    journeys: &[String],
    ttl: Duration,
) -> Result<Vec<(String, i64)>, tokio_postgres::Error> {
    c.execute(
        "UPDATE journey_leases SET owner = NULL, expires_at = now()
         WHERE location = $1 AND owner = $2 AND NOT (journey = ANY($3))",
        &[&location, &replica, &journeys],
    )
    .await?;
    let rows = c
        .query(
            "UPDATE journey_leases SET expires_at = now() + make_interval(secs => $4::float8)
             WHERE location = $1 AND owner = $2 AND journey = ANY($3) AND expires_at > now()
             RETURNING journey, term",
            &[&location, &replica, &journeys, &secs(ttl)],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Takes up to `n` free or expired leases among `journeys` (random ones, so
/// replicas starting together do not fight over the same rows), each with a
/// new fencing term; returns `(journey, term)`.
pub(super) async fn acquire(
    c: &Client,
    location: &str,
    replica: &str,
    journeys: &[String],
    n: usize,
    ttl: Duration,
) -> Result<Vec<(String, i64)>, tokio_postgres::Error> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let rows = c
        .query(
            "UPDATE journey_leases l
             SET owner = $2, term = l.term + 1, expires_at = now() + make_interval(secs => $5::float8)
             FROM (SELECT journey FROM journey_leases
                   WHERE location = $1 AND journey = ANY($3)
                     AND (owner IS NULL OR expires_at <= now())
                   ORDER BY random() LIMIT $4
                   FOR UPDATE SKIP LOCKED) free
             WHERE l.location = $1 AND l.journey = free.journey
             RETURNING l.journey, l.term",
            &[&location, &replica, &journeys, &n, &secs(ttl)],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// Gives up `journeys` (all of them when `None`) at once: free for the others now.
pub(super) async fn release(
    c: &Client,
    location: &str,
    replica: &str,
    journeys: Option<&[String]>,
) -> Result<u64, tokio_postgres::Error> {
    match journeys {
        Some(js) => {
            c.execute(
                "UPDATE journey_leases SET owner = NULL, expires_at = now()
                 WHERE location = $1 AND owner = $2 AND journey = ANY($3)",
                &[&location, &replica, &js],
            )
            .await
        }
        None => {
            let n = c
                .execute(
                    "UPDATE journey_leases SET owner = NULL, expires_at = now()
                     WHERE location = $1 AND owner = $2",
                    &[&location, &replica],
                )
                .await?;
            c.execute(
                "DELETE FROM replicas WHERE location = $1 AND id = $2",
                &[&location, &replica],
            )
            .await?;
            Ok(n)
        }
    }
}

/// Claims `slot` of `journey` under lease `term`: true only while the lease is
/// still ours and unexpired and no owner ran this slot or a later one.
pub(super) async fn claim_slot(
    c: &Client,
    location: &str,
    replica: &str,
    journey: &str,
    term: i64,
    slot: i64,
) -> Result<bool, tokio_postgres::Error> {
    let n = c
        .execute(
            "UPDATE journey_leases SET last_slot = $5
             WHERE location = $1 AND journey = $2 AND owner = $3 AND term = $4
               AND expires_at > now() AND (last_slot IS NULL OR last_slot < $5)",
            &[&location, &journey, &replica, &term, &slot],
        )
        .await?;
    Ok(n == 1)
}
