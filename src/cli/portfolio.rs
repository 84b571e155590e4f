//! `samling portfolio …`: the portfolio over gRPC — its interop (issue 22
//! §7, ADR 0041: the health section exported as an HL7 FHIR R4 IPS-style
//! document Bundle, school data imported from an SS 12000-style JSON file)
//! and the regional office's administration (the retention job, ADR 0043).
//! The caller is the signed context of the connection (`--as`,
//! `--municipality`), so the service applies its access rules and logs the
//! real person. Only ids, days and file names go on the command line.
//!
//! Each subcommand has its own block (one variant and one arm each).

use super::Connection;
use anyhow::Context as _;
use samling_kit::client::ServiceClient;
use samling_kit::config::Config;
use samling_proto::common::v1::{Date, PageRequest};
use samling_proto::portfolio::v1::portfolio_service_client::PortfolioServiceClient;
use samling_proto::portfolio::v1::*;
use std::path::PathBuf;
use tonic::transport::Channel as GrpcChannel;

type Client = ServiceClient<PortfolioServiceClient<GrpcChannel>>;

#[derive(clap::Subcommand, Debug)]
pub enum PortfolioCommand {
    // ---- interop (ADR 0041) ---------------------------------------------
    /// The child's health section as a FHIR R4 document Bundle (JSON).
    ExportFhir {
        child_id: String,
        /// Write the Bundle to this file (made 0600) instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// School data from an SS 12000-style JSON file (organisations, persons,
    /// groups, placements) into the children's school sections, all or
    /// nothing.
    ImportSchool { file: PathBuf },
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
    // ---- deadlines and aftercare (issue 22 §6, ADR 0042) -------------------
    /// The deadline worklist: the region's children with due or overdue
    /// items (health examination, six-monthly review, custody
    /// consideration, care end, aftercare).
    Deadlines {
        /// The day to compute for (YYYY-MM-DD; default: today).
        #[arg(long)]
        today: Option<String>,
        /// Only this item (e.g. six_month_review).
        #[arg(long)]
        item: Option<String>,
        /// Only this state: due or overdue.
        #[arg(long)]
        state: Option<String>,
        /// Run the deadlines first (emits the changed items' events).
        #[arg(long)]
        run: bool,
    },
    /// The exit coordinator's worklist: young people in aftercare until 25.
    Aftercare {
        /// The day to compute for (YYYY-MM-DD; default: today).
        #[arg(long)]
        today: Option<String>,
    },
    // ---- end of deadlines and aftercare ------------------------------------
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

// ---- deadlines and aftercare (issue 22 §6, ADR 0042) -----------------------

/// `--today YYYY-MM-DD` as a date, or an error naming the option.
pub fn today_arg(s: Option<&str>) -> anyhow::Result<Option<Date>> {
    s.map(|s| {
        samling_kit::dates::parse_iso("--today", s)
            .map(samling_kit::dates::to_proto)
            .map_err(|_| anyhow::anyhow!("--today: {s:?} is not a date (YYYY-MM-DD)"))
    })
    .transpose()
}

fn day(d: Option<&Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_else(|| "-".into())
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

async fn deadlines(
    client: &mut Client,
    today: Option<Date>,
    item: Option<String>,
    state: Option<String>,
    run: bool,
) -> anyhow::Result<()> {
    if run {
        let request = client.request(RunDeadlinesRequest { today });
        let r = client.raw().run_deadlines(request).await?.into_inner();
        println!(
            "run: {} children, {} items, {} events emitted",
            r.children, r.items, r.emitted
        );
    }
    println!("child municipality home care_start item state due_on");
    let mut token = String::new();
    loop {
        let request = client.request(ListDeadlinesRequest {
            item: item.clone().unwrap_or_default(),
            state: state.clone().unwrap_or_default(),
            today,
            page: Some(PageRequest {
                page_size: 500,
                page_token: token,
            }),
        });
        let resp = client.raw().list_deadlines(request).await?.into_inner();
        for r in &resp.rows {
            for i in &r.items {
                println!(
                    "{} {} {} {} {} {} {}",
                    r.child_id,
                    or_dash(&r.placing_municipality_code),
                    if r.redacted {
                        "(protected)"
                    } else {
                        or_dash(&r.home_id)
                    },
                    day(r.care_start.as_ref()),
                    i.item,
                    i.state,
                    day(i.due_on.as_ref())
                );
            }
        }
        token = resp.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return Ok(());
        }
    }
}

async fn aftercare(client: &mut Client, today: Option<Date>) -> anyhow::Result<()> {
    println!("child municipality care_ended_on aftercare_until years_left contact");
    let mut token = String::new();
    loop {
        let request = client.request(ListAftercareRequest {
            today,
            page: Some(PageRequest {
                page_size: 500,
                page_token: token,
            }),
        });
        let resp = client.raw().list_aftercare(request).await?.into_inner();
        for r in &resp.rows {
            println!(
                "{} {} {} {} {} {}",
                r.child_id,
                if r.redacted {
                    "(protected)"
                } else {
                    or_dash(&r.placing_municipality_code)
                },
                day(r.care_ended_on.as_ref()),
                day(r.aftercare_until.as_ref()),
                r.years_left,
                r.contact_status
            );
        }
        token = resp.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return Ok(());
        }
    }
}

// ---- end of deadlines and aftercare ----------------------------------------

pub async fn run(cfg: &Config, conn: &Connection, cmd: PortfolioCommand) -> anyhow::Result<()> {
    match cmd {
        PortfolioCommand::ExportFhir { child_id, out } => {
            let mut client = conn.portfolio(cfg).await?;
            let request = client.request(ExportHealthFhirRequest { child_id });
            let doc = client.raw().export_health_fhir(request).await?.into_inner();
            let bundle: serde_json::Value = serde_json::from_str(&doc.bundle_json)?;
            let text = serde_json::to_string_pretty(&bundle)? + "\n";
            match out {
                None => print!("{text}"),
                Some(path) => {
                    write_private(&path, &text)?;
                    eprintln!(
                        "child {}: FHIR Bundle ({}) written to {}{}",
                        doc.child_id,
                        doc.media_type,
                        path.display(),
                        if doc.location_redacted {
                            " (location withheld)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        PortfolioCommand::ImportSchool { file } => {
            let document_json = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let mut client = conn.portfolio(cfg).await?;
            let request = client.request(ImportSchoolDataRequest {
                request_id: samling_kit::ids::new_id_string(),
                document_json,
            });
            let resp = client.raw().import_school_data(request).await?.into_inner();
            for c in &resp.children {
                println!(
                    "child {}: school section version {} (placement {})",
                    c.child_id, c.school_version, c.placement_id
                );
            }
            println!("{} school sections written", resp.children.len());
        }
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
        // ---- deadlines and aftercare ----
        PortfolioCommand::Deadlines {
            today,
            item,
            state,
            run,
        } => {
            let today = today_arg(today.as_deref())?;
            let mut client = conn.portfolio(cfg).await?;
            deadlines(&mut client, today, item, state, run).await?;
        }
        PortfolioCommand::Aftercare { today } => {
            let today = today_arg(today.as_deref())?;
            let mut client = conn.portfolio(cfg).await?;
            aftercare(&mut client, today).await?;
        } // ---- end of deadlines and aftercare ----
    }
    Ok(())
}

/// Health data to a file only its owner reads.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())?;
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

    #[test]
    fn today_is_an_iso_date_or_an_error_naming_the_option() {
        assert_eq!(
            today_arg(Some("2026-12-01")).unwrap(),
            Some(Date {
                year: 2026,
                month: 12,
                day: 1
            })
        );
        assert_eq!(today_arg(None).unwrap(), None);
        let e = today_arg(Some("2026-13-01")).unwrap_err().to_string();
        assert!(e.starts_with("--today"), "{e}");
    }

    #[test]
    fn the_subcommands_parse() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct T {
            #[command(subcommand)]
            c: PortfolioCommand,
        }
        let t = T::try_parse_from([
            "t",
            "deadlines",
            "--today",
            "2026-12-01",
            "--state",
            "overdue",
            "--run",
        ])
        .unwrap();
        match t.c {
            PortfolioCommand::Deadlines {
                today, state, run, ..
            } => {
                assert_eq!(today.as_deref(), Some("2026-12-01"));
                assert_eq!(state.as_deref(), Some("overdue"));
                assert!(run);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            T::try_parse_from(["t", "aftercare"]).unwrap().c,
            PortfolioCommand::Aftercare { today: None }
        ));
    }
}
