//! The funnel's cohort: cases by the day their inquiry was received.

use crate::domain::RecruitmentError;
use crate::domain::pipeline::track_name;
use samling_proto::recruitment::v1::{Case, Track};
use sqlx::{Any, Executor};

type R<T> = Result<T, RecruitmentError>;

/// The cases received `from ..= to` (ISO dates) in `municipality` ("" for
/// all) on `track` (unspecified for both), in id order.
pub async fn cohort<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: &str,
    from: &str,
    to: &str,
    track: Track,
) -> R<Vec<Case>> {
    let track = if track == Track::Unspecified {
        ""
    } else {
        track_name(track)
    };
    let rows = sqlx::query(
        "SELECT doc FROM cases WHERE received_on >= $1 AND received_on <= $2 \
         AND ($3 = '' OR municipality_code = $3) AND ($4 = '' OR track = $4) ORDER BY id",
    )
    .bind(from)
    .bind(to)
    .bind(municipality)
    .bind(track)
    .fetch_all(e)
    .await?;
    Ok(super::cases::DOCS.from_rows(&rows)?)
}
