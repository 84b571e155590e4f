//! Spam protection for the public form with no third-party service:
//!
//! * a **signed form token** issued by the form's GET: `v1.<issued>.<nonce>.<mac>`,
//!   the MAC an HMAC-SHA-256 under a key only the service holds. A form sent
//!   sooner than `form_min_fill_seconds` after the token was issued is
//!   refused (robots post at once), so is one older than
//!   `form_max_age_seconds`. The nonce lets the store accept each token once.
//! * a **honeypot** field (`website`) hidden from people: filled in, the form
//!   is refused naming it (a person whose browser filled it in sees why).
//! * the per-address budget is the gateway's.
//!
//! Then the form's fields are checked like any inquiry.
use super::inquiry::{self, ValidInquiry};
use super::text::line;
use super::{RecruitmentError, Rules};
use chrono::{DateTime, Duration, Utc};
use samling_kit::audit::hmac_sha256;
use samling_proto::recruitment::v1::{Channel, IntakeRoute, SubmitPublicInquiryRequest};

const TOKEN_VERSION: &str = "v1";
/// Domain separation: this key signs form tokens and nothing else.
const MAC_LABEL: &[u8] = b"samling recruitment inquiry form token v1\n";
/// Tolerated clock difference between instances issuing and checking.
const CLOCK_SKEW_SECONDS: i64 = 60;
const MIN_KEY_BYTES: usize = 32;

/// Equal without an early exit, so the time taken tells nothing of where a
/// forged MAC first differs.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A token as issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub min_fill_seconds: u32,
}

/// A token that passed: its nonce is what the store remembers (until
/// `expires_at`) to take each token once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub nonce: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Issues and checks form tokens. Holds the current key and, during a key
/// change, the previous ones (tokens they signed stay good until they expire).
#[derive(Clone)]
pub struct FormTokens {
    keys: Vec<Vec<u8>>,
    min_fill: Duration,
    max_age: Duration,
    min_fill_seconds: u32,
}

impl std::fmt::Debug for FormTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormTokens")
            .field("keys", &self.keys.len())
            .field("min_fill", &self.min_fill)
            .field("max_age", &self.max_age)
            .finish()
    }
}

impl FormTokens {
    /// `current` signs; `previous` only verify. Keys are at least 32 bytes.
    pub fn new(
        current: &[u8],
        previous: &[&[u8]],
        rules: &Rules,
    ) -> Result<Self, RecruitmentError> {
        if std::iter::once(current)
            .chain(previous.iter().copied())
            .any(|k| k.len() < MIN_KEY_BYTES)
        {
            return Err(RecruitmentError::invalid(
                "form_token_key",
                format!("must be at least {MIN_KEY_BYTES} bytes"),
            ));
        }
        if rules.form_max_age_seconds <= rules.form_min_fill_seconds {
            return Err(RecruitmentError::invalid(
                "form_max_age_seconds",
                "must be more than form_min_fill_seconds",
            ));
        }
        Ok(FormTokens {
            keys: std::iter::once(current.to_vec())
                .chain(previous.iter().map(|k| k.to_vec()))
                .collect(),
            min_fill: Duration::seconds(i64::from(rules.form_min_fill_seconds)),
            max_age: Duration::seconds(i64::from(rules.form_max_age_seconds)),
            min_fill_seconds: rules.form_min_fill_seconds,
        })
    }

    fn mac(key: &[u8], issued: i64, nonce: &str) -> String {
        let mut data = MAC_LABEL.to_vec();
        data.extend_from_slice(format!("{issued}.{nonce}").as_bytes());
        hex::encode(hmac_sha256(key, &data))
    }

    /// A token issued `now`, with 16 random bytes from the caller.
    pub fn issue(&self, now: DateTime<Utc>, nonce: [u8; 16]) -> IssuedToken {
        let issued = now.timestamp();
        let nonce = hex::encode(nonce);
        let mac = Self::mac(&self.keys[0], issued, &nonce);
        let issued_at = DateTime::from_timestamp(issued, 0).unwrap_or(now);
        IssuedToken {
            token: format!("{TOKEN_VERSION}.{issued}.{nonce}.{mac}"),
            issued_at,
            expires_at: issued_at + self.max_age,
            min_fill_seconds: self.min_fill_seconds,
        }
    }

    /// Checks a token sent `now`; every refusal names `form_token`.
    pub fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifiedToken, RecruitmentError> {
        let invalid = || {
            RecruitmentError::invalid("form_token", "is not a valid form token; reload the form")
        };
        let parts: Vec<&str> = token.trim().split('.').collect();
        let [version, issued, nonce, mac] = parts[..] else {
            return Err(invalid());
        };
        if version != TOKEN_VERSION
            || nonce.len() != 32
            || !nonce.chars().all(|c| c.is_ascii_hexdigit())
            || mac.len() != 64
        {
            return Err(invalid());
        }
        let issued_secs: i64 = issued.parse().map_err(|_| invalid())?;
        if !self
            .keys
            .iter()
            .any(|k| same(Self::mac(k, issued_secs, nonce).as_bytes(), mac.as_bytes()))
        {
            return Err(invalid());
        }
        let issued_at = DateTime::from_timestamp(issued_secs, 0).ok_or_else(invalid)?;
        if issued_at > now + Duration::seconds(CLOCK_SKEW_SECONDS) {
            return Err(invalid());
        }
        if now < issued_at + self.min_fill {
            return Err(RecruitmentError::invalid(
                "form_token",
                "the form was sent too soon after it was opened; wait a few seconds and send it again",
            ));
        }
        let expires_at = issued_at + self.max_age;
        if now > expires_at {
            return Err(RecruitmentError::invalid(
                "form_token",
                "has expired; reload the form and send it again",
            ));
        }
        Ok(VerifiedToken {
            nonce: nonce.to_ascii_lowercase(),
            issued_at,
            expires_at,
        })
    }
}

/// A public form that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicSubmission {
    pub inquiry: ValidInquiry,
    pub token: VerifiedToken,
    pub channel: Channel,
    /// Upper-cased; `None` when absent or not shaped like a code (an unknown
    /// code is the caller's to ignore).
    pub campaign_code: Option<String>,
    pub privacy_notice_version: String,
    pub future_contact: bool,
}

/// A campaign code: 3–20 upper-case letters and digits.
pub fn campaign_code(s: &str) -> Option<String> {
    let t = s.trim().to_ascii_uppercase();
    ((3..=20).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric())).then_some(t)
}

/// The public form's checks in order: honeypot, token, consent, notice
/// version, then the inquiry's fields. `notices` are the privacy-notice
/// versions currently accepted (the current one, and the previous one for
/// forms opened before a change).
pub fn check_public_submission(
    req: &SubmitPublicInquiryRequest,
    tokens: &FormTokens,
    now: DateTime<Utc>,
    notices: &[&str],
) -> Result<PublicSubmission, RecruitmentError> {
    if !req.website.trim().is_empty() {
        return Err(RecruitmentError::invalid("website", "must be left empty"));
    }
    if req.form_token.trim().is_empty() {
        return Err(RecruitmentError::invalid("form_token", "is required"));
    }
    let token = tokens.verify(&req.form_token, now)?;
    if !req.consent {
        return Err(RecruitmentError::invalid(
            "consent",
            "must be given to send the form",
        ));
    }
    let notice = line(
        "privacy_notice_version",
        &req.privacy_notice_version,
        true,
        40,
    )?;
    if !notices.contains(&notice.as_str()) {
        return Err(RecruitmentError::invalid(
            "privacy_notice_version",
            "is not a current privacy notice; reload the form",
        ));
    }
    let draft = req
        .inquiry
        .as_ref()
        .ok_or_else(|| RecruitmentError::invalid("inquiry", "is required"))?;
    let inquiry = inquiry::validate("inquiry", draft, IntakeRoute::PublicForm)?;
    let channel = Channel::try_from(req.channel)
        .map_err(|_| RecruitmentError::invalid("channel", "is not a known channel"))?;
    Ok(PublicSubmission {
        inquiry,
        token,
        channel,
        campaign_code: campaign_code(&req.campaign_code),
        privacy_notice_version: notice,
        future_contact: req.future_contact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::inquiry::tests::draft;

    const KEY: [u8; 32] = [7; 32];

    fn tokens() -> FormTokens {
        FormTokens::new(&KEY, &[], &Rules::default()).unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_775_000_000 + secs, 0).unwrap()
    }

    fn request(token: &str) -> SubmitPublicInquiryRequest {
        SubmitPublicInquiryRequest {
            request_id: "r1".into(),
            form_token: token.into(),
            inquiry: Some(draft()),
            channel: Channel::SocialMedia as i32,
            campaign_code: " hosten26 ".into(),
            consent: true,
            privacy_notice_version: "2026-1".into(),
            future_contact: false,
            website: String::new(),
        }
    }

    fn field_of(e: RecruitmentError) -> String {
        match e {
            RecruitmentError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_token_is_good_between_the_minimum_fill_time_and_its_expiry() {
        let t = tokens();
        let issued = t.issue(at(0), [9; 16]);
        assert_eq!(issued.min_fill_seconds, 5);
        assert_eq!(issued.expires_at, at(24 * 3600));
        let e = t.verify(&issued.token, at(2)).unwrap_err();
        assert!(e.to_string().contains("too soon"), "{e}");
        assert_eq!(field_of(e), "form_token");
        let ok = t.verify(&issued.token, at(5)).unwrap();
        assert_eq!(ok.nonce, "09".repeat(16));
        assert!(t.verify(&issued.token, at(24 * 3600)).is_ok());
        let e = t.verify(&issued.token, at(24 * 3600 + 1)).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
    }

    #[test]
    fn forged_altered_or_foreign_tokens_are_refused() {
        let t = tokens();
        let issued = t.issue(at(0), [9; 16]).token;
        let parts: Vec<&str> = issued.split('.').collect();
        // Backdated to skip the fill time: the MAC no longer matches.
        let backdated = format!("v1.{}.{}.{}", 1_775_000_000 - 60, parts[2], parts[3]);
        let other_nonce = format!("v1.{}.{}.{}", parts[1], "0a".repeat(16), parts[3]);
        let other_key = FormTokens::new(&[8; 32], &[], &Rules::default())
            .unwrap()
            .issue(at(0), [9; 16])
            .token;
        for bad in [
            backdated.as_str(),
            other_nonce.as_str(),
            other_key.as_str(),
            "",
            "v1",
            "v2.1.2.3",
            "v1.x.00000000000000000000000000000000.00",
            "v1.1775000000.zz000000000000000000000000000000.0000000000000000000000000000000000000000000000000000000000000000",
        ] {
            let e = t.verify(bad, at(60)).unwrap_err();
            assert_eq!(
                e.to_string(),
                "form_token: is not a valid form token; reload the form",
                "{bad}"
            );
        }
        // Issued in the future beyond the clock skew: refused.
        let future = t.issue(at(600), [1; 16]).token;
        assert!(t.verify(&future, at(0)).is_err());
    }

    #[test]
    fn a_previous_key_still_verifies_during_a_key_change() {
        let old = FormTokens::new(&[1; 32], &[], &Rules::default()).unwrap();
        let token = old.issue(at(0), [3; 16]).token;
        let rotated = FormTokens::new(&[2; 32], &[&[1; 32]], &Rules::default()).unwrap();
        assert!(rotated.verify(&token, at(10)).is_ok());
        // New tokens are signed with the new key only.
        let fresh = rotated.issue(at(0), [3; 16]).token;
        assert!(old.verify(&fresh, at(10)).is_err());
    }

    #[test]
    fn short_keys_and_inverted_windows_are_refused() {
        assert!(FormTokens::new(&[1; 16], &[], &Rules::default()).is_err());
        assert!(FormTokens::new(&[1; 32], &[&[2; 8]], &Rules::default()).is_err());
        let rules = Rules {
            form_min_fill_seconds: 60,
            form_max_age_seconds: 60,
            ..Rules::default()
        };
        let e = FormTokens::new(&[1; 32], &[], &rules).unwrap_err();
        assert_eq!(field_of(e), "form_max_age_seconds");
        // The key never shows in debug output.
        assert!(!format!("{:?}", tokens()).contains("7, 7"));
    }

    #[test]
    fn the_public_form_checks_honeypot_token_consent_notice_then_fields() {
        let t = tokens();
        let token = t.issue(at(0), [9; 16]).token;
        let notices = ["2026-1", "2025-2"];
        let ok = check_public_submission(&request(&token), &t, at(30), &notices).unwrap();
        assert_eq!(ok.campaign_code.as_deref(), Some("HOSTEN26"));
        assert_eq!(ok.channel, Channel::SocialMedia);
        assert_eq!(ok.inquiry.applicant.given_name, "Karin");

        let refused = |edit: fn(&mut SubmitPublicInquiryRequest), when: i64| {
            let mut r = request(&token);
            edit(&mut r);
            field_of(check_public_submission(&r, &t, at(when), &notices).unwrap_err())
        };
        // A robot filling every field, at once: the honeypot speaks first.
        assert_eq!(
            refused(|r| r.website = "http://spam.example".into(), 0),
            "website"
        );
        assert_eq!(refused(|_| {}, 1), "form_token");
        assert_eq!(refused(|r| r.form_token.clear(), 30), "form_token");
        assert_eq!(refused(|r| r.consent = false, 30), "consent");
        assert_eq!(
            refused(|r| r.privacy_notice_version = "2019-1".into(), 30),
            "privacy_notice_version"
        );
        assert_eq!(refused(|r| r.inquiry = None, 30), "inquiry");
        assert_eq!(
            refused(|r| r.inquiry.as_mut().unwrap().email = "nope".into(), 30),
            "inquiry.email"
        );
        assert_eq!(refused(|r| r.channel = 99, 30), "channel");
        // A malformed campaign code is ignored, not refused.
        let mut r = request(&token);
        r.campaign_code = "<script>".into();
        let ok = check_public_submission(&r, &t, at(30), &notices).unwrap();
        assert_eq!(ok.campaign_code, None);
    }
}
