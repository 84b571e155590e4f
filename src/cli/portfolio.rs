//! `samling portfolio …`: the regional office's portfolio administration
//! over gRPC. The children's portfolios themselves go through the REST API
//! (no child's data on a command line).
//!
//! Other portfolio subcommands belong in their own blocks below, beside
//! the retention block (one variant and one arm each).

use super::Connection;
use samling_kit::client::ServiceClient;
use samling_kit::config::Config;
use samling_proto::portfolio::v1::portfolio_service_client::PortfolioServiceClient;
use samling_proto::portfolio::v1::*;
use tonic::transport::Channel as GrpcChannel;

type Client = ServiceClient<PortfolioServiceClient<GrpcChannel>>;

#[derive(clap::Subcommand, Debug)]
pub enum PortfolioCommand {
    // ---- retention (ADR 0043) ------------------------------------------
    /// Run the retention job for the region: ACTIVE in care, RESTRICTED
    /// after care ends, ARCHIVED (thinned, read-only) at 25. Prints each
    /// change (child id, from, to) and the portfolios per stage.
    Retention {
        /// List what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// The day to run as (YYYY-MM-DD; default: today). A run (not a dry
        /// run) may not be for a later day.
        #[arg(long)]
        today: Option<String>,
    },
    // ---- end of retention -----------------------------------------------
}

impl Connection {
    /// A portfolio client acting as the caller, at the region's service.
    pub async fn portfolio(&self, cfg: &Config) -> anyhow::Result<Client> {
        let (signer, _) = crate::serve::context_keys(cfg, false)?;
        let tls = samling_kit::tls::Tls::from_config(&cfg.tls)?;
        Ok(ServiceClient::connect(
            samling_portfolio::client::STUB,
            &self.endpoint(cfg, &samling_portfolio::module())?,
            tls.as_ref(),
            signer,
            self.context(cfg)?,
        )
        .await?)
    }
}

pub async fn run(cfg: &Config, conn: &Connection, cmd: PortfolioCommand) -> anyhow::Result<()> {
    match cmd {
        // ---- retention (ADR 0043) --------------------------------------
        PortfolioCommand::Retention { dry_run, today } => {
            let today = today
                .map(|t| {
                    samling_kit::dates::parse_iso("--today", &t)
                        .map(samling_kit::dates::to_proto)
                        .map_err(|_| anyhow::anyhow!("--today: must be a date YYYY-MM-DD"))
                })
                .transpose()?;
            let mut client = conn.portfolio(cfg).await?;
            let request = client.request(RunRetentionRequest {
                request_id: samling_kit::ids::new_id_string(),
                today,
                dry_run,
            });
            let r = client.raw().run_retention(request).await?.into_inner();
            print!("{}", retention_report(&r));
        } // ---- end of retention -------------------------------------------
    }
    Ok(())
}

fn stage_name(s: i32) -> &'static str {
    match RetentionStage::try_from(s) {
        Ok(RetentionStage::Active) => "active",
        Ok(RetentionStage::Restricted) => "restricted",
        Ok(RetentionStage::Archived) => "archived",
        _ => "unspecified",
    }
}

/// The run as the office reads it: child ids and stages only.
pub fn retention_report(r: &RetentionRun) -> String {
    use std::fmt::Write;
    let day = r
        .today
        .as_ref()
        .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "retention {} for {day}: {} changes",
        if r.dry_run { "dry run" } else { "run" },
        r.changes.len()
    );
    for c in &r.changes {
        let _ = writeln!(
            out,
            "child {} {} -> {}",
            c.child_id,
            stage_name(c.from),
            stage_name(c.to)
        );
    }
    for c in &r.counts {
        let _ = writeln!(out, "{} {}", stage_name(c.stage), c.portfolios);
    }
    let _ = writeln!(
        out,
        "credentials revoked {} deleted {}",
        r.credentials_revoked, r.credentials_deleted
    );
    for id in &r.undetermined_child_ids {
        let _ = writeln!(out, "no birth date (never archived by age): child {id}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_child_ids_and_stages_only() {
        let r = RetentionRun {
            today: Some(samling_proto::common::v1::Date {
                year: 2026,
                month: 12,
                day: 10,
            }),
            dry_run: true,
            changes: vec![RetentionChange {
                child_id: "c1".into(),
                from: RetentionStage::Restricted as i32,
                to: RetentionStage::Archived as i32,
            }],
            counts: vec![RetentionStageCount {
                stage: RetentionStage::Archived as i32,
                portfolios: 3,
            }],
            credentials_revoked: 0,
            credentials_deleted: 1,
            undetermined_child_ids: vec!["c2".into()],
        };
        assert_eq!(
            retention_report(&r),
            "retention dry run for 2026-12-10: 1 changes\nchild c1 restricted -> archived\narchived 3\ncredentials revoked 0 deleted 1\nno birth date (never archived by age): child c2\n"
        );
    }
}
