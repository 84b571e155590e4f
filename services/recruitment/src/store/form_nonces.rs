//! The public form's token nonces: each token is taken once. A nonce is
//! kept until its token expires, then swept (an expired token is refused
//! by its own time, so forgetting it then reopens nothing).

use crate::domain::RecruitmentError;
use sqlx::{AnyConnection, Row};

type R<T> = Result<T, RecruitmentError>;

/// Take `nonce` (until `expires_at`, RFC 3339 text): `false` when it was
/// taken before.
pub async fn take(conn: &mut AnyConnection, nonce: &str, expires_at: &str) -> R<bool> {
    let seen = sqlx::query("SELECT COUNT(*) FROM form_nonces WHERE nonce = $1")
        .bind(nonce)
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>(0)?;
    if seen > 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO form_nonces (nonce, expires_at) VALUES ($1, $2)")
        .bind(nonce)
        .bind(expires_at)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// Forget the nonces of tokens expired before `now` (RFC 3339 text); the
/// number forgotten.
pub async fn sweep(conn: &mut AnyConnection, now: &str) -> R<u64> {
    let done = sqlx::query("DELETE FROM form_nonces WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Nonces held (tests, operations).
pub async fn count(conn: &mut AnyConnection) -> R<i64> {
    Ok(sqlx::query("SELECT COUNT(*) FROM form_nonces")
        .fetch_one(&mut *conn)
        .await?
        .try_get::<i64, _>(0)?)
}
