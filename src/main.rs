//! `samling`: the one binary of the Samling platform.
//!
//! `serve` runs services (all of them by default, for every region, on
//! embedded SQLite); the other subcommands are operators' and regional
//! officers' tools. See README.md and docs/.
#![forbid(unsafe_code)]

mod cli;
mod modules;
mod serve;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "samling",
    version,
    about = "The national family-home authority's system"
)]
struct Cli {
    /// TOML configuration file (env: SAMLING_CONFIG). Environment variables override it.
    #[arg(long, global = true, env = "SAMLING_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory for SQLite files and dev keys (overrides config).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run services: `--target all` (default) is every service plus the
    /// gateway; else a comma list of services and `gateway`.
    Serve {
        #[arg(long, default_value = "all", value_parser = serve::Target::parse)]
        target: serve::Target,
        /// `all` or a comma-separated list of region ids.
        #[arg(long, default_value = "all")]
        regions: String,
    },
    /// Create or upgrade every selected region's stores, then exit.
    Migrate {
        #[arg(long, default_value = "all")]
        regions: String,
    },
    /// The hash-chained audit logs.
    Audit {
        #[command(subcommand)]
        command: cli::AuditCommand,
    },
    /// The services' stores (integrity, writability).
    Store {
        #[command(subcommand)]
        command: cli::StoreCommand,
    },
    /// Regional officers' everyday register work, over gRPC.
    Homes {
        #[command(flatten)]
        conn: cli::Connection,
        #[command(subcommand)]
        command: cli::registry::HomesCommand,
    },
    /// A regional office's recruitment work (cases, campaigns, courses,
    /// the funnel), over gRPC.
    Recruitment {
        #[command(flatten)]
        conn: cli::Connection,
        #[command(subcommand)]
        command: cli::recruitment::RecruitmentCommand,
    },
    /// Regional finance's compensation work (fee schedules, payment runs,
    /// approval, files, statements), over gRPC.
    Compensation {
        #[command(flatten)]
        conn: cli::Connection,
        #[command(subcommand)]
        command: cli::compensation::CompensationCommand,
    },
    /// The regional office's ombud roster (register ombuds, workloads,
    /// children waiting for an ombud), over gRPC.
    Ombud {
        #[command(flatten)]
        conn: cli::Connection,
        #[command(subcommand)]
        command: cli::ombud::OmbudCommand,
    },
    /// The child's portfolio: the deadline worklist and the exit
    /// coordinator's aftercare worklist, over gRPC.
    Portfolio {
        #[command(flatten)]
        conn: cli::Connection,
        #[command(subcommand)]
        command: cli::portfolio::PortfolioCommand,
    },
    /// Bulk import into the register, over gRPC.
    Import {
        #[command(flatten)]
        conn: cli::Connection,
        #[command(subcommand)]
        command: cli::data::ImportCommand,
    },
    /// Bulk export from the register, over gRPC.
    Export {
        #[command(flatten)]
        conn: cli::Connection,
        #[command(subcommand)]
        command: cli::data::ExportCommand,
    },
    /// Load a realistic, generated demo region (no real persons) into a running system.
    SeedDemo {
        #[command(flatten)]
        conn: cli::Connection,
        #[command(flatten)]
        args: cli::data::SeedArgs,
    },
    /// Benchmarks that print figures (text and JSON).
    Bench {
        #[command(subcommand)]
        command: cli::bench::BenchCommand,
    },
    /// Dev JWTs for the gateway, signed with the dev key.
    Token {
        #[command(subcommand)]
        command: cli::token::TokenCommand,
    },
    /// mTLS certificates for local testing (`certs dev`).
    Certs {
        #[command(subcommand)]
        command: cli::certs::CertsCommand,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut cfg = samling_kit::config::Config::load(cli.config.as_deref())?;
    if let Some(dir) = cli.data_dir {
        cfg.data_dir = dir;
    }
    // Every service's section parses, and none names a service not here.
    cfg.check_services(&modules::names())?;
    for m in modules::all() {
        (m.check_config)(&cfg)?;
    }
    let _telemetry = samling_kit::telemetry::init(&cfg.telemetry, "samling");
    match cli.command {
        Command::Serve { target, regions } => {
            let running = serve::start(&cfg, &target, &regions).await?;
            for (region, addr) in &running.addrs {
                if region == "gateway" {
                    println!("gateway: REST on http://{addr}/v1 (docs: http://{addr}/docs)");
                } else {
                    println!("region {region}: gRPC on {addr}");
                }
            }
            running.until_signal().await
        }
        Command::Migrate { regions } => {
            let map = serve::region_map(&cfg)?;
            for (_, region) in serve::select_regions(&map, &regions)? {
                for m in modules::all() {
                    let service = (m.open)(&cfg, &region, map.clone())
                        .await
                        .with_context(|| format!("migrating the {} of region {region}", m.name))?;
                    service.store().close().await;
                    println!("region {region}: {} migrated", m.name);
                }
            }
            Ok(())
        }
        Command::Audit { command } => cli::audit(&cfg, command).await,
        Command::Store { command } => cli::store(&cfg, command).await,
        Command::Homes { conn, command } => cli::registry::run(&cfg, &conn, command).await,
        Command::Recruitment { conn, command } => cli::recruitment::run(&cfg, &conn, command).await,
        Command::Compensation { conn, command } => {
            cli::compensation::run(&cfg, &conn, command).await
        }
        Command::Ombud { conn, command } => cli::ombud::run(&cfg, &conn, command).await,
        Command::Portfolio { conn, command } => cli::portfolio::run(&cfg, &conn, command).await,
        Command::Import { conn, command } => cli::data::import(&cfg, &conn, command).await,
        Command::Export { conn, command } => cli::data::export(&cfg, &conn, command).await,
        Command::SeedDemo { conn, args } => cli::data::seed_demo(&cfg, &conn, args).await,
        Command::Bench { command } => cli::bench::run(&cfg, command).await,
        Command::Token { command } => cli::token::run(&cfg, command).await,
        Command::Certs { command } => cli::certs::run(&cfg, command),
    }
}

#[cfg(test)]
mod tests {
    /// Every subcommand's options are well formed (unique names, no clash
    /// with the global connection options), checked without running them.
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
