//! The auth context services receive in gRPC metadata.
//!
//! The gateway (after checking the user's JWT) and internal clients (after
//! mTLS) forward who is calling — subject, role, municipality, region, the
//! party they act as (their home or their own child record) and the purpose —
//! as a compact token `base64url(json).base64url(ed25519 signature)` in the
//! `x-samling-auth` metadata key. Services verify the signature with the
//! configured public keys, so a caller cannot claim a role the gateway did not
//! grant, and then authorize again themselves (defence in depth).

use crate::error::KitError;
use crate::reference::MunicipalityCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;
use tonic::metadata::{Ascii, MetadataValue};

pub const AUTH_METADATA_KEY: &str = "x-samling-auth";

/// Roles of DESIGN.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    MunicipalityCaseworker,
    MunicipalityManager,
    RegionalOfficer,
    NationalAnalyst,
    Ombud,
    FamilyHome,
    Child,
    CouncilMember,
    /// Another Samling service or a batch job.
    Service,
    /// The national body that decides family homes' appeals and second
    /// opinions, independent of the regional offices that keep the
    /// registers (ADR 0026). National: no region, no municipality.
    NationalReviewer,
    /// Inspektionen för vård och omsorg: the national supervisory authority.
    /// Reads what it must know (homes above the IVO limit, permits,
    /// inspections) and records its inspections. National: no region, no
    /// municipality.
    Ivo,
    /// Health care staff of a care unit (`party` = the unit's id): write
    /// the health section of the children whose portfolio names the unit.
    HealthStaff,
    /// School staff of a school unit (`party` = the unit's id): write the
    /// school section of the children whose portfolio names the unit.
    SchoolStaff,
    /// A birth parent or guardian (`party` = the child's id): reads the
    /// child's portfolio but its sealed sections.
    Guardian,
    /// The staff of an HVB or other unit (`party` = the unit's id): report
    /// their own unit's vacancies in the register (issue 24 §8).
    UnitStaff,
}

impl Role {
    pub const ALL: [Role; 15] = [
        Role::MunicipalityCaseworker,
        Role::MunicipalityManager,
        Role::RegionalOfficer,
        Role::NationalAnalyst,
        Role::Ombud,
        Role::FamilyHome,
        Role::Child,
        Role::CouncilMember,
        Role::Service,
        Role::NationalReviewer,
        Role::Ivo,
        Role::HealthStaff,
        Role::SchoolStaff,
        Role::Guardian,
        Role::UnitStaff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::MunicipalityCaseworker => "municipality_caseworker",
            Role::MunicipalityManager => "municipality_manager",
            Role::RegionalOfficer => "regional_officer",
            Role::NationalAnalyst => "national_analyst",
            Role::Ombud => "ombud",
            Role::FamilyHome => "family_home",
            Role::Child => "child",
            Role::CouncilMember => "council_member",
            Role::Service => "service",
            Role::NationalReviewer => "national_reviewer",
            Role::Ivo => "ivo",
            Role::HealthStaff => "health_staff",
            Role::SchoolStaff => "school_staff",
            Role::Guardian => "guardian",
            Role::UnitStaff => "unit_staff",
        }
    }

    pub fn parse(s: &str) -> Result<Role, KitError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| KitError::invalid("role", "is not a known role"))
    }

    /// Roles bound to one municipality.
    pub fn is_municipal(self) -> bool {
        matches!(
            self,
            Role::MunicipalityCaseworker | Role::MunicipalityManager
        )
    }

    /// Roles that act for one party (a home, a child, a unit): their
    /// tokens must name it.
    pub fn needs_party(self) -> bool {
        matches!(
            self,
            Role::FamilyHome
                | Role::Child
                | Role::Guardian
                | Role::HealthStaff
                | Role::SchoolStaff
                | Role::UnitStaff
        )
    }

    /// Roles that only ever see aggregates.
    pub fn aggregates_only(self) -> bool {
        matches!(self, Role::NationalAnalyst | Role::CouncilMember)
    }
}

/// The caller the gateway acts as on its public routes (no login): a
/// `service` context with this subject. Services admit it only to what they
/// publish for the public (recruitment's inquiry form) and treat it as no
/// service otherwise (see [`AuthContext::is_public`]).
pub const PUBLIC_SUBJECT: &str = "gateway:public-form";

/// Who is calling, as verified from metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthContext {
    /// Stable user or client id (never a personnummer).
    pub sub: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<MunicipalityCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// For `family_home`: the home id; for `child` and `guardian`: the child
    /// id; for `health_staff`, `school_staff` and `unit_staff`: their unit's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<String>,
    /// Why the data is being accessed (the token's purpose); recorded in the audit log.
    #[serde(default)]
    pub purpose: String,
    /// A reason the request itself stated (`X-Purpose`), recorded beside the
    /// purpose in the audit log; it never replaces the purpose.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Expiry, unix seconds.
    pub exp: i64,
}

impl AuthContext {
    /// A digest naming this caller — sub, role, municipality, party, region
    /// — and `more`, for keys that must never be shared by two callers (the
    /// gateway's and the services' idempotency records). Each field is
    /// length-prefixed: a `sub` may hold any character, so no separator
    /// could keep two callers' fields from running together.
    pub fn caller_digest(&self, more: &[&str]) -> String {
        use sha2::{Digest, Sha256};
        let mut digest = Sha256::new();
        let fields = [
            self.sub.as_str(),
            self.role.as_str(),
            self.municipality.as_ref().map(|m| m.as_str()).unwrap_or(""),
            self.party.as_deref().unwrap_or(""),
            self.region.as_deref().unwrap_or(""),
        ];
        for part in fields.iter().chain(more) {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        hex::encode(digest.finalize())
    }

    pub fn new(sub: impl Into<String>, role: Role) -> Self {
        AuthContext {
            sub: sub.into(),
            role,
            municipality: None,
            region: None,
            party: None,
            purpose: String::new(),
            reason: String::new(),
            exp: 0,
        }
    }

    pub fn with_municipality(mut self, m: MunicipalityCode) -> Self {
        self.municipality = Some(m);
        self
    }

    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    pub fn with_party(mut self, party: impl Into<String>) -> Self {
        self.party = Some(party.into());
        self
    }

    pub fn with_purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = purpose.into();
        self
    }

    /// Is the caller bound to exactly this municipality?
    pub fn is_municipality(&self, m: &MunicipalityCode) -> bool {
        self.municipality.as_ref() == Some(m)
    }

    /// The gateway's public (not logged-in) caller, [`PUBLIC_SUBJECT`].
    pub fn is_public(&self) -> bool {
        self.role == Role::Service && self.sub == PUBLIC_SUBJECT
    }

    pub fn is_party(&self, id: &str) -> bool {
        self.party.as_deref() == Some(id)
    }

    pub fn audit(
        &self,
        action: &str,
        record_type: &str,
        record_id: &str,
    ) -> crate::audit::AuditRecord {
        crate::audit::AuditRecord {
            subject: self.sub.clone(),
            role: self.role.as_str().into(),
            municipality: self
                .municipality
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            party: self.party.clone().unwrap_or_default(),
            action: action.into(),
            record_type: record_type.into(),
            record_id: record_id.into(),
            purpose: self.purpose.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// Signs auth contexts (the gateway; internal clients in dev).
#[derive(Clone)]
pub struct ContextSigner {
    key: Arc<SigningKey>,
}

impl std::fmt::Debug for ContextSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContextSigner(<key>)")
    }
}

/// Lifetime of a signed context: long enough for one call chain.
pub const CONTEXT_TTL_SECS: i64 = 300;

/// Clock difference between signer and verifier tolerated on a context's
/// expiry: one expiring further ahead than its lifetime plus this was not
/// made by [`ContextSigner::sign`] and is refused.
pub const CONTEXT_LEEWAY_SECS: i64 = 30;

impl ContextSigner {
    pub fn from_seed(seed: [u8; 32]) -> Self {
        ContextSigner {
            key: Arc::new(SigningKey::from_bytes(&seed)),
        }
    }

    pub fn generate() -> Result<Self, KitError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KitError::Internal(format!("randomness: {e}")))?;
        Ok(Self::from_seed(seed))
    }

    /// Load the hex seed from `path`, creating it (mode 0600) if missing.
    pub fn load_or_create(path: &Path) -> Result<Self, KitError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_hex(text.trim()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let signer = Self::generate()?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        KitError::Internal(format!("create {}: {e}", dir.display()))
                    })?;
                }
                write_private(path, &hex::encode(signer.key.to_bytes()))?;
                Ok(signer)
            }
            Err(e) => Err(KitError::Internal(format!("read {}: {e}", path.display()))),
        }
    }

    pub fn load(path: &Path) -> Result<Self, KitError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            KitError::Internal(format!("cannot read context key {}: {e}", path.display()))
        })?;
        Self::from_hex(text.trim())
    }

    pub fn from_hex(hex_seed: &str) -> Result<Self, KitError> {
        let bytes = hex::decode(hex_seed)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| KitError::invalid("auth.context_key", "must be 32 bytes of hex"))?;
        Ok(Self::from_seed(bytes))
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().to_bytes())
    }

    pub fn verifier(&self) -> ContextVerifier {
        ContextVerifier {
            keys: Arc::new(vec![self.key.verifying_key()]),
            seen: Arc::default(),
        }
    }

    /// Sign `ctx` with an expiry `CONTEXT_TTL_SECS` from now.
    pub fn sign(&self, ctx: &AuthContext) -> String {
        let mut ctx = ctx.clone();
        ctx.exp = chrono::Utc::now().timestamp() + CONTEXT_TTL_SECS;
        self.sign_exact(&ctx)
    }

    /// Sign with the context's own `exp` (tests use this for expired contexts).
    pub fn sign_exact(&self, ctx: &AuthContext) -> String {
        let body = serde_json::to_vec(ctx).unwrap_or_default();
        let body = URL_SAFE_NO_PAD.encode(body);
        let sig = self.key.sign(body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), KitError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| KitError::Internal(format!("write {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| KitError::Internal(format!("write {}: {e}", path.display())))
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), KitError> {
    std::fs::write(path, text)
        .map_err(|e| KitError::Internal(format!("write {}: {e}", path.display())))
}

/// Verifies signed contexts against one or more public keys (rotation).
///
/// Verified tokens are remembered (bounded) so a client re-using its token
/// for the token's lifetime costs one signature check, not one per call;
/// expiry is still checked on every call.
#[derive(Clone, Debug)]
pub struct ContextVerifier {
    keys: Arc<Vec<VerifyingKey>>,
    seen: Arc<std::sync::Mutex<std::collections::HashMap<String, AuthContext>>>,
}

const VERIFIED_CACHE_MAX: usize = 10_000;

/// Signs once and re-uses the token until shortly before it expires. The
/// token is kept as ready metadata: attaching it to a call copies no bytes.
#[derive(Clone, Debug)]
pub struct CachedToken {
    signer: ContextSigner,
    ctx: AuthContext,
    current: Arc<std::sync::Mutex<Option<Signed>>>,
}

impl CachedToken {
    pub fn new(signer: ContextSigner, ctx: AuthContext) -> Self {
        CachedToken {
            signer,
            ctx,
            current: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    pub fn context(&self) -> &AuthContext {
        &self.ctx
    }

    /// The signed context, signed anew a minute before it expires.
    pub fn value(&self) -> Result<MetadataValue<Ascii>, KitError> {
        let now = chrono::Utc::now().timestamp();
        let mut cur = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((v, exp)) = &*cur
            && exp - 60 > now
        {
            return Ok(v.clone());
        }
        let mut ctx = self.ctx.clone();
        ctx.exp = now + CONTEXT_TTL_SECS;
        let v = metadata_value(self.signer.sign_exact(&ctx))?;
        *cur = Some((v.clone(), ctx.exp));
        Ok(v)
    }

    /// Attach the signed context to an outgoing request.
    pub fn attach<T>(&self, req: &mut tonic::Request<T>) -> Result<(), KitError> {
        req.metadata_mut().insert(AUTH_METADATA_KEY, self.value()?);
        Ok(())
    }
}

/// A signed context as metadata, and when it expires.
type Signed = (MetadataValue<Ascii>, i64);

fn metadata_value(token: String) -> Result<MetadataValue<Ascii>, KitError> {
    MetadataValue::try_from(token)
        .map_err(|_| KitError::Internal("auth context is not valid metadata".into()))
}

impl ContextVerifier {
    pub fn with_extra_keys(&self, hex_keys: &[String]) -> Result<Self, KitError> {
        let mut keys = (*self.keys).clone();
        for k in hex_keys {
            let bytes = hex::decode(k.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    KitError::invalid("auth.context_public_keys", "must be 32 bytes of hex")
                })?;
            keys.push(VerifyingKey::from_bytes(&bytes).map_err(|_| {
                KitError::invalid("auth.context_public_keys", "is not an Ed25519 key")
            })?);
        }
        Ok(ContextVerifier {
            keys: Arc::new(keys),
            seen: Arc::default(),
        })
    }

    pub fn verify(&self, token: &str) -> Result<AuthContext, KitError> {
        let cached = self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned();
        let ctx = match cached {
            Some(ctx) => ctx,
            None => {
                let ctx = self.verify_signature(token)?;
                let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
                if seen.len() >= VERIFIED_CACHE_MAX {
                    seen.clear();
                }
                seen.insert(token.to_string(), ctx.clone());
                ctx
            }
        };
        let now = chrono::Utc::now().timestamp();
        if ctx.exp < now {
            return Err(KitError::Unauthenticated("auth context expired".into()));
        }
        if ctx.exp > now.saturating_add(CONTEXT_TTL_SECS + CONTEXT_LEEWAY_SECS) {
            return Err(KitError::Unauthenticated(
                "auth context expires further ahead than a context lives".into(),
            ));
        }
        Ok(ctx)
    }

    fn verify_signature(&self, token: &str) -> Result<AuthContext, KitError> {
        let bad = || KitError::Unauthenticated("invalid auth context".into());
        let (body, sig) = token.split_once('.').ok_or_else(bad)?;
        let sig = URL_SAFE_NO_PAD.decode(sig).map_err(|_| bad())?;
        let sig = Signature::from_slice(&sig).map_err(|_| bad())?;
        if !self
            .keys
            .iter()
            .any(|k| k.verify(body.as_bytes(), &sig).is_ok())
        {
            return Err(bad());
        }
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
        serde_json::from_slice(&json).map_err(|_| bad())
    }

    /// Read and verify the context of a gRPC request.
    pub fn from_metadata(
        &self,
        md: &tonic::metadata::MetadataMap,
    ) -> Result<AuthContext, KitError> {
        let token = md
            .get(AUTH_METADATA_KEY)
            .ok_or_else(|| KitError::Unauthenticated("missing auth context".into()))?
            .to_str()
            .map_err(|_| KitError::Unauthenticated("invalid auth context".into()))?;
        self.verify(token)
    }
}

/// A tonic interceptor: verifies the context and puts it in the request's
/// extensions, or refuses the call with `UNAUTHENTICATED`.
pub fn interceptor(
    verifier: ContextVerifier,
) -> impl FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Clone {
    move |mut req: tonic::Request<()>| {
        let ctx = verifier.from_metadata(req.metadata())?;
        req.extensions_mut().insert(ctx);
        Ok(req)
    }
}

/// The verified context of a request that passed [`interceptor`].
pub fn context<T>(req: &tonic::Request<T>) -> Result<AuthContext, tonic::Status> {
    req.extensions()
        .get::<AuthContext>()
        .cloned()
        .ok_or_else(|| {
            crate::error::refusal_status(
                crate::error::Reason::Unauthenticated,
                "missing auth context",
            )
        })
}

/// Attach a signed context to an outgoing request.
pub fn attach<T>(req: &mut tonic::Request<T>, token: &str) -> Result<(), KitError> {
    let v = metadata_value(token.to_string())?;
    req.metadata_mut().insert(AUTH_METADATA_KEY, v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> AuthContext {
        AuthContext::new("user-1", Role::MunicipalityCaseworker)
            .with_municipality(MunicipalityCode::parse("0180").unwrap())
    }

    #[test]
    fn a_signed_context_verifies_and_round_trips() {
        let s = ContextSigner::generate().unwrap();
        let got = s.verifier().verify(&s.sign(&ctx())).unwrap();
        assert_eq!(got.role, Role::MunicipalityCaseworker);
        assert_eq!(got.municipality.unwrap().as_str(), "0180");
    }

    #[test]
    fn a_context_signed_by_another_key_is_refused() {
        let gateway = ContextSigner::generate().unwrap();
        let forger = ContextSigner::generate().unwrap();
        let e = gateway.verifier().verify(&forger.sign(&ctx())).unwrap_err();
        assert!(matches!(e, KitError::Unauthenticated(_)));
    }

    #[test]
    fn a_tampered_role_is_refused() {
        let s = ContextSigner::generate().unwrap();
        let token = s.sign(&ctx());
        let (_, sig) = token.split_once('.').unwrap();
        let mut forged = ctx();
        forged.role = Role::RegionalOfficer;
        forged.exp = chrono::Utc::now().timestamp() + 60;
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(s.verifier().verify(&format!("{body}.{sig}")).is_err());
    }

    #[test]
    fn an_expired_context_is_refused() {
        let s = ContextSigner::generate().unwrap();
        let mut c = ctx();
        c.exp = chrono::Utc::now().timestamp() - 1;
        assert!(s.verifier().verify(&s.sign_exact(&c)).is_err());
    }

    #[test]
    fn a_context_expiring_beyond_its_lifetime_is_refused() {
        let s = ContextSigner::generate().unwrap();
        let now = chrono::Utc::now().timestamp();
        let mut c = ctx();
        // Three years ahead (the finding), and just past lifetime + leeway.
        for exp in [
            now + 3 * 365 * 86_400,
            now + CONTEXT_TTL_SECS + CONTEXT_LEEWAY_SECS + 5,
        ] {
            c.exp = exp;
            let e = s.verifier().verify(&s.sign_exact(&c)).unwrap_err();
            assert!(matches!(e, KitError::Unauthenticated(_)), "{exp}: {e:?}");
        }
        // Within the leeway (the signer's clock a little ahead) it passes.
        c.exp = now + CONTEXT_TTL_SECS + 10;
        assert!(s.verifier().verify(&s.sign_exact(&c)).is_ok());
    }

    #[test]
    fn audit_records_carry_municipality_party_and_the_reason_apart() {
        let mut c = ctx().with_party("home-1").with_purpose("uppföljning");
        c.reason = "stated".into();
        let r = c.audit("read", "home", "home-1");
        assert_eq!(r.municipality, "0180");
        assert_eq!(r.party, "home-1");
        assert_eq!(r.purpose, "uppföljning");
        assert_eq!(r.reason, "stated");
    }

    #[test]
    fn a_rotated_key_is_accepted_when_listed() {
        let old = ContextSigner::generate().unwrap();
        let new = ContextSigner::generate().unwrap();
        let v = new
            .verifier()
            .with_extra_keys(&[old.public_key_hex()])
            .unwrap();
        assert!(v.verify(&old.sign(&ctx())).is_ok());
    }
}
