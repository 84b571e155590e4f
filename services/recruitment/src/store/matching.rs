//! The matching standard's records: needs profiles, proposals (with their
//! choices and outcomes), children's and homes' stories.

use super::{Docs, Filter, Value};
use crate::domain::RecruitmentError;
use samling_kit::paging::Page;
use samling_proto::recruitment::v1::{ChildStory, HomeStory, MatchProposal, NeedsProfile};
use sqlx::{Any, AnyConnection, Executor};

type R<T> = Result<T, RecruitmentError>;

pub const PROFILES: Docs<NeedsProfile> = Docs::new("match_profiles", "needs profile");
pub const PROPOSALS: Docs<MatchProposal> = Docs::new("match_proposals", "proposal");
pub const CHILD_STORIES: Docs<ChildStory> = Docs::new("match_child_stories", "child story");
pub const HOME_STORIES: Docs<HomeStory> = Docs::new("match_home_stories", "home story");

pub async fn get_profile<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
) -> R<Option<NeedsProfile>> {
    Ok(PROFILES.get(e, id).await?)
}

pub async fn save_profile(conn: &mut AnyConnection, p: &NeedsProfile, is_new: bool) -> R<()> {
    let columns = [
        (
            "municipality_code",
            Value::from(p.placing_municipality_code.as_str()),
        ),
        ("updated_at", Value::from(p.updated_at.as_str())),
    ];
    Ok(PROFILES.save(conn, &p.id, p, &columns, is_new).await?)
}

/// One page of profiles, in id order; `municipality` narrows to one.
pub async fn list_profiles<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: Option<&str>,
    page: &Page,
) -> R<Vec<NeedsProfile>> {
    let mut q = Filter::new("SELECT doc FROM match_profiles WHERE 1 = 1");
    if let Some(m) = municipality {
        q.and("municipality_code = ?", m);
    }
    if let Some(after) = &page.after {
        q.and("id > ?", after);
    }
    q.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(PROFILES.from_rows(&q.fetch_all(e).await?)?)
}

pub async fn get_proposal<'e, E: Executor<'e, Database = Any>>(
    e: E,
    id: &str,
) -> R<Option<MatchProposal>> {
    Ok(PROPOSALS.get(e, id).await?)
}

pub async fn save_proposal(conn: &mut AnyConnection, p: &MatchProposal, is_new: bool) -> R<()> {
    let columns = [
        ("profile_id", Value::from(p.profile_id.as_str())),
        (
            "municipality_code",
            Value::from(p.placing_municipality_code.as_str()),
        ),
        ("created_at", Value::from(p.created_at.as_str())),
    ];
    Ok(PROPOSALS.save(conn, &p.id, p, &columns, is_new).await?)
}

/// One page of proposals in id order (ids are time-ordered UUIDv7).
pub async fn list_proposals<'e, E: Executor<'e, Database = Any>>(
    e: E,
    profile_id: Option<&str>,
    municipality: Option<&str>,
    page: &Page,
) -> R<Vec<MatchProposal>> {
    let mut q = Filter::new("SELECT doc FROM match_proposals WHERE 1 = 1");
    if let Some(p) = profile_id {
        q.and("profile_id = ?", p);
    }
    if let Some(m) = municipality {
        q.and("municipality_code = ?", m);
    }
    if let Some(after) = &page.after {
        q.and("id > ?", after);
    }
    q.raw(&format!(" ORDER BY id LIMIT {}", page.limit()));
    Ok(PROPOSALS.from_rows(&q.fetch_all(e).await?)?)
}

/// Every proposal made in [from, to] (created_at text, RFC 3339), of one
/// municipality or all: for the outcome-by-rank report.
pub async fn proposals_between<'e, E: Executor<'e, Database = Any>>(
    e: E,
    municipality: Option<&str>,
    from: &str,
    to: &str,
) -> R<Vec<MatchProposal>> {
    let mut q = Filter::new("SELECT doc FROM match_proposals WHERE 1 = 1");
    if let Some(m) = municipality {
        q.and("municipality_code = ?", m);
    }
    q.and("created_at >= ?", from);
    q.and("created_at < ?", to);
    q.raw(" ORDER BY id");
    Ok(PROPOSALS.from_rows(&q.fetch_all(e).await?)?)
}

pub fn child_story_id(profile_id: &str, child_key: &str) -> String {
    format!("{profile_id}/{child_key}")
}

pub async fn child_stories<'e, E: Executor<'e, Database = Any>>(
    e: E,
    profile_id: &str,
) -> R<Vec<ChildStory>> {
    let mut q = Filter::new("SELECT doc FROM match_child_stories WHERE 1 = 1");
    q.and("profile_id = ?", profile_id);
    q.raw(" ORDER BY id");
    Ok(CHILD_STORIES.from_rows(&q.fetch_all(e).await?)?)
}

pub async fn save_child_story(conn: &mut AnyConnection, s: &ChildStory) -> R<()> {
    let id = child_story_id(&s.profile_id, &s.child_key);
    let is_new = CHILD_STORIES.get(&mut *conn, &id).await?.is_none();
    let columns = [("profile_id", Value::from(s.profile_id.as_str()))];
    Ok(CHILD_STORIES.save(conn, &id, s, &columns, is_new).await?)
}

pub async fn get_home_story<'e, E: Executor<'e, Database = Any>>(
    e: E,
    home_id: &str,
) -> R<Option<HomeStory>> {
    Ok(HOME_STORIES.get(e, home_id).await?)
}

pub async fn save_home_story(conn: &mut AnyConnection, s: &HomeStory, is_new: bool) -> R<()> {
    Ok(HOME_STORIES.save(conn, &s.home_id, s, &[], is_new).await?)
}
