//! Operator and officer subcommands. Client commands talk gRPC to a running
//! `samling serve`, signing the caller's auth context with the context key.

pub mod bench;
mod bench_dashboard;
pub mod certs;
pub mod compensation;
pub mod data;
pub mod grants;
mod httpc;
pub mod ombud;
pub mod portfolio;
pub mod recruitment;
pub mod registry;
pub mod token;

use crate::serve;
use samling_kit::auth::{AuthContext, Role};
use samling_kit::config::Config;
use samling_kit::module::Module;
use samling_kit::reference::MunicipalityCode;

/// Who the client acts as, and where it connects.
#[derive(clap::Args, Debug, Clone)]
pub struct Connection {
    /// The region to talk to (default: the first region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Explicit gRPC endpoint, e.g. http://127.0.0.1:7051 (overrides --region).
    #[arg(long, global = true)]
    pub endpoint: Option<String>,
    /// The role to act as.
    #[arg(long = "as", global = true, default_value = "regional_officer")]
    pub role: String,
    /// The acting user's id (default: $USER).
    #[arg(long, global = true)]
    pub subject: Option<String>,
    /// The acting user's municipality (municipal roles).
    #[arg(long, global = true)]
    pub municipality: Option<String>,
    /// Why the data is accessed (recorded in the audit log).
    #[arg(long, global = true, default_value = "")]
    pub purpose: String,
}

impl Connection {
    /// The region acted in: `--region`, else the first region of the map.
    pub fn region(&self, cfg: &Config) -> anyhow::Result<String> {
        let map = serve::region_map(cfg)?;
        match &self.region {
            Some(r) => Ok(map
                .parse_region(r)
                .map_err(|e| anyhow::anyhow!("--region {r}: {e}"))?
                .as_str()
                .to_string()),
            None => map
                .regions()
                .first()
                .map(|r| r.id.as_str().to_string())
                .ok_or_else(|| anyhow::anyhow!("the region map is empty")),
        }
    }

    /// The caller's context. A regional officer is the office of the region
    /// acted in (the register refuses an officer without one, ADR 0017).
    pub fn context(&self, cfg: &Config) -> anyhow::Result<AuthContext> {
        let role = Role::parse(&self.role)?;
        let sub = self
            .subject
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "cli".into());
        let mut ctx = AuthContext::new(sub, role).with_purpose(self.purpose.clone());
        if let Some(m) = &self.municipality {
            ctx = ctx.with_municipality(
                MunicipalityCode::parse(m).map_err(|e| anyhow::anyhow!("--municipality: {e}"))?,
            );
        }
        if role == Role::RegionalOfficer {
            ctx = ctx.with_region(self.region(cfg)?);
        }
        Ok(ctx)
    }

    /// Where `service` is reached: `--endpoint`, else the region's.
    pub fn endpoint(&self, cfg: &Config, service: &Module) -> anyhow::Result<String> {
        if let Some(e) = &self.endpoint {
            return Ok(e.clone());
        }
        let map = serve::region_map(cfg)?;
        serve::endpoint(cfg, &map, service, &self.region(cfg)?)
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute every hash chain with the chain key, check it reaches its
    /// latest signed checkpoint and that the record index matches it; exits
    /// non-zero if anything is broken.
    Verify {
        #[arg(long, default_value = "all")]
        regions: String,
    },
}

pub async fn audit(cfg: &Config, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify { regions } => {
            let map = serve::region_map(cfg)?;
            // The key must exist already: a new one could verify nothing.
            let key = samling_kit::audit::ChainKey::load(&cfg.audit_chain_key_file())
                .map_err(|e| anyhow::anyhow!("{e} (`samling serve` creates it)"))?;
            let mut broken = 0;
            for (_, region) in serve::select_regions(&map, &regions)? {
                for module in crate::modules::all() {
                    if !verify_one(cfg, &map, &key, &module, &region).await? {
                        broken += 1;
                    }
                }
            }
            anyhow::ensure!(broken == 0, "{broken} audit chain(s) broken");
            Ok(())
        }
    }
}

/// Verify one service's chain in one region, printing the outcome; false
/// when its checkpoint or its chain is broken.
async fn verify_one(
    cfg: &Config,
    map: &std::sync::Arc<samling_kit::reference::RegionMap>,
    key: &samling_kit::audit::ChainKey,
    module: &Module,
    region: &str,
) -> anyhow::Result<bool> {
    let name = module.name;
    let mut intact = true;
    let file = samling_kit::audit::CheckpointFile::for_service(cfg, name, region);
    let checkpoint = match file.read(key) {
        Ok(c) => c,
        Err(e) => {
            intact = false;
            println!("region {region} {name}: checkpoint REFUSED: {e}");
            None
        }
    };
    let service = (module.open)(cfg, region, map.clone()).await?;
    let report = samling_kit::audit::verify_against(service.store(), checkpoint.as_ref()).await?;
    let against = match &checkpoint {
        Some(c) => format!("reaches its checkpoint at entry {}", c.seq),
        None => format!(
            "no checkpoint at {} (a cut tail cannot be seen)",
            file.path.display()
        ),
    };
    match report.first_broken_seq {
        None => println!(
            "region {region} {name}: {} entries, chain intact, {against}, record index matches",
            report.entries
        ),
        Some(seq) => {
            intact = false;
            println!(
                "region {region} {name}: TAMPERING at entry {seq}: {} ({} entries verified before it)",
                report.problem.as_deref().unwrap_or("chain broken"),
                report.entries
            );
        }
    }
    service.store().close().await;
    Ok(intact)
}

#[derive(clap::Subcommand, Debug)]
pub enum StoreCommand {
    /// Check every selected region's stores: a full integrity check
    /// (SQLite `PRAGMA integrity_check`) and a committed probe write.
    /// Exits non-zero if any store fails; run it with the service stopped or
    /// running (it reads; its one write is the probe row).
    Check {
        #[arg(long, default_value = "all")]
        regions: String,
    },
}

pub async fn store(cfg: &Config, cmd: StoreCommand) -> anyhow::Result<()> {
    match cmd {
        StoreCommand::Check { regions } => {
            let map = serve::region_map(cfg)?;
            let mut failed = 0;
            for (_, region) in serve::select_regions(&map, &regions)? {
                for module in crate::modules::all() {
                    if !check_one(cfg, &module, &region).await {
                        failed += 1;
                    }
                }
            }
            anyhow::ensure!(failed == 0, "{failed} store(s) failed their check");
            Ok(())
        }
    }
}

/// Check one service's store in one region, printing the outcome; false
/// when it fails (a store not created yet passes).
async fn check_one(cfg: &Config, module: &Module, region: &str) -> bool {
    let name = module.name;
    let target = samling_kit::db::DbTarget::for_service(cfg, name, region);
    if let samling_kit::db::DbTarget::SqliteFile(path) = &target
        && !path.exists()
    {
        println!("region {region} {name}: no store yet ({})", path.display());
        return true;
    }
    let options = samling_kit::db::StoreOptions {
        // The thorough check below replaces the quick one.
        check_on_start: false,
        ..samling_kit::db::StoreOptions::from(&cfg.database)
    };
    let store =
        match samling_kit::db::Store::open_with(&target, &options, &[module.migrations]).await {
            Ok(s) => s,
            Err(e) => {
                println!("region {region} {name}: FAILED: {e}");
                return false;
            }
        };
    let ok = match store.integrity(true).await {
        Ok(p) if p.is_empty() => {
            println!("region {region} {name}: ok (integrity, probe write)");
            true
        }
        Ok(p) => {
            println!(
                "region {region} {name}: FAILED integrity check: {}",
                p.join("; ")
            );
            false
        }
        Err(e) => {
            println!("region {region} {name}: FAILED: {e}");
            false
        }
    };
    store.close().await;
    ok
}

/// A proto enum value from its short name on the command line
/// (`--to training` → `STAGE_TRAINING`), or an error naming the option and
/// the accepted values.
pub fn enum_value(
    field: &str,
    name: &str,
    prefix: &str,
    parse: impl Fn(&str) -> Option<i32>,
) -> anyhow::Result<i32> {
    let full = format!("{prefix}{}", name.trim().to_uppercase().replace('-', "_"));
    parse(&full).ok_or_else(|| anyhow::anyhow!("{field}: unknown value {name:?}"))
}
