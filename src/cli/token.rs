//! `samling token …`: dev JWTs for the gateway, signed with the dev key
//! (`gateway.jwt.signing_key_file`, default `<data_dir>/keys/jwt-signing.pem`,
//! created if missing). A gateway with no JWT keys configured trusts this key.

use samling_gateway::auth::{IssueClaims, TokenIssuer};
use samling_kit::auth::Role;
use samling_kit::config::Config;
use samling_kit::reference::MunicipalityCode;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum TokenCommand {
    /// Print a signed dev token (EdDSA) for the gateway to stdout.
    Issue {
        /// The Samling role.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(Role::ALL.map(Role::as_str)))]
        role: String,
        /// SCB municipality code (required for municipal roles), e.g. 0180.
        #[arg(long)]
        municipality: Option<String>,
        /// The user id (default: $USER, else "dev-user").
        #[arg(long)]
        sub: Option<String>,
        /// The home id (family_home) or child id (child).
        #[arg(long)]
        party: Option<String>,
        /// The region id (required for regional_officer: an officer works
        /// in its own region's register).
        #[arg(long)]
        region: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Print the dev public key as a JWKS (a `gateway.jwt.jwks_file` elsewhere).
    Jwks,
}

pub async fn run(cfg: &Config, cmd: TokenCommand) -> anyhow::Result<()> {
    let issuer = TokenIssuer::load_or_create(&cfg.gateway.jwt, &cfg.data_dir)?;
    match cmd {
        TokenCommand::Issue {
            role,
            municipality,
            sub,
            party,
            region,
            ttl,
        } => {
            let role = Role::parse(&role)?;
            let municipality = municipality
                .as_deref()
                .map(MunicipalityCode::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--municipality: {e}"))?;
            let region = match region {
                Some(r) => Some(
                    crate::serve::region_map(cfg)?
                        .parse_region(&r)
                        .map_err(|e| anyhow::anyhow!("--region: {e}"))?
                        .as_str()
                        .to_string(),
                ),
                None if role == Role::RegionalOfficer => {
                    anyhow::bail!("--region is required for the regional_officer role")
                }
                None => None,
            };
            let sub = sub
                .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
                .unwrap_or_else(|| "dev-user".into());
            let token = issuer.issue(IssueClaims {
                sub,
                role,
                municipality,
                party,
                region,
                ttl: Duration::from_secs(ttl),
            })?;
            println!("{token}");
        }
        TokenCommand::Jwks => println!("{}", serde_json::to_string_pretty(&issuer.jwks())?),
    }
    Ok(())
}
