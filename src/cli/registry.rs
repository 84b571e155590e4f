//! `samling homes …`: list, show, approve, re-confirm, overdue, assign an
//! investigating municipality, reveal a protected address.

use super::{Connection, enum_value};
use samling_kit::config::Config;
use samling_kit::dates;
use samling_proto::common::v1::PageRequest;
use samling_proto::registry::v1::*;
use samling_registry::client::RegistryClient;

#[derive(clap::Subcommand, Debug)]
pub enum HomesCommand {
    /// Search homes (summaries, no personal data).
    List {
        #[arg(long)]
        municipality: Option<String>,
        /// e.g. FAMILY_HOME, EMERGENCY_HOME.
        #[arg(long = "type")]
        home_type: Vec<String>,
        #[arg(long)]
        competence: Vec<String>,
        #[arg(long)]
        language: Vec<String>,
        #[arg(long)]
        free_capacity: bool,
        #[arg(long)]
        include_overdue: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one home as your role may see it.
    Show { home_id: String },
    /// Record a municipality's approval decision. A served registry refuses it
    /// until the home's training and an evidence-based investigation are
    /// recorded (`[registry] approval_requires_evidence`, ADR 0047).
    Approve {
        home_id: String,
        #[arg(long = "by")]
        approving_municipality: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        decision_date: String,
        #[arg(long)]
        decision_ref: String,
    },
    /// The office assigns a municipality to investigate a home (its manager
    /// may then record the approval).
    AssignInvestigation {
        home_id: String,
        /// The municipality code, e.g. 1480.
        #[arg(long = "to")]
        investigating_municipality: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// The office reveals a protected home's address (audited with the reason).
    RevealAddress {
        home_id: String,
        /// Why the address is needed (required; recorded in the audit log).
        #[arg(long)]
        reason: String,
    },
    /// Record the annual re-confirmation.
    Reconfirm {
        home_id: String,
        /// YYYY-MM-DD (default today).
        #[arg(long)]
        date: Option<String>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Homes overdue for re-confirmation.
    Overdue {
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long = "in")]
        municipality: Option<String>,
    },
}

impl Connection {
    /// A registry client acting as the caller, at the registry of the region.
    pub async fn registry(&self, cfg: &Config) -> anyhow::Result<RegistryClient> {
        let (signer, _) = crate::serve::context_keys(cfg, false)?;
        let tls = samling_kit::tls::Tls::from_config(&cfg.tls)?;
        Ok(RegistryClient::connect_with_tls(
            &self.endpoint(cfg, &samling_registry::module())?,
            tls.as_ref(),
            signer,
            self.context(cfg)?,
        )
        .await?)
    }
}

pub fn print_summaries(homes: &[HomeSummary]) {
    println!(
        "{:<36}  {:<28}  {:<22}  {:>4}  {:>5}  overdue",
        "id", "type", "status", "muni", "placed"
    );
    for h in homes {
        println!(
            "{:<36}  {:<28}  {:<22}  {:>4}  {:>2}/{:<2}  {}",
            h.id,
            HomeType::try_from(h.home_type)
                .unwrap_or_default()
                .as_str_name()
                .trim_start_matches("HOME_TYPE_"),
            HomeStatus::try_from(h.status)
                .unwrap_or_default()
                .as_str_name()
                .trim_start_matches("HOME_STATUS_"),
            h.municipality_code,
            h.placed_count,
            if h.capacity == 0 { 3 } else { h.capacity },
            if h.reconfirmation_overdue { "yes" } else { "" }
        );
    }
}

pub async fn run(cfg: &Config, conn: &Connection, cmd: HomesCommand) -> anyhow::Result<()> {
    let mut client = conn.registry(cfg).await?;
    match cmd {
        HomesCommand::List {
            municipality,
            home_type,
            competence,
            language,
            free_capacity,
            include_overdue,
            limit,
        } => {
            let mut types = Vec::new();
            for t in &home_type {
                types.push(enum_value("--type", t, "HOME_TYPE_", |s| {
                    HomeType::from_str_name(s).map(|v| v as i32)
                })?);
            }
            let resp = client
                .search_homes(SearchHomesRequest {
                    municipality_code: municipality.unwrap_or_default(),
                    home_types: types,
                    competences: competence,
                    languages: language,
                    with_free_capacity: free_capacity,
                    include_overdue,
                    page: Some(PageRequest {
                        page_size: limit,
                        page_token: String::new(),
                    }),
                    ..Default::default()
                })
                .await?;
            print_summaries(&resp.homes);
        }
        HomesCommand::Show { home_id } => {
            let h = client.get_home(&home_id).await?;
            println!("{h:#?}");
        }
        HomesCommand::Approve {
            home_id,
            approving_municipality,
            decision_date,
            decision_ref,
        } => {
            let d = dates::parse_iso("--decision-date", &decision_date)?;
            let h = client
                .record_approval(RecordApprovalRequest {
                    request_id: samling_kit::ids::new_id_string(),
                    home_id,
                    municipality_code: approving_municipality,
                    decision_date: Some(dates::to_proto(d)),
                    decision_ref,
                    evidence: None,
                })
                .await?;
            println!(
                "home {} is {} (version {})",
                h.id,
                HomeStatus::try_from(h.status)
                    .unwrap_or_default()
                    .as_str_name(),
                h.version
            );
        }
        HomesCommand::AssignInvestigation {
            home_id,
            investigating_municipality,
            reason,
        } => {
            let h = client
                .assign_investigation(AssignInvestigatingMunicipalityRequest {
                    request_id: samling_kit::ids::new_id_string(),
                    home_id,
                    municipality_code: investigating_municipality,
                    reason,
                })
                .await?;
            println!(
                "home {}: {} municipality(ies) assigned to investigate (version {})",
                h.id,
                h.investigations.len(),
                h.version
            );
        }
        HomesCommand::RevealAddress { home_id, reason } => {
            let r = client
                .reveal_protected_address(RevealProtectedAddressRequest { home_id, reason })
                .await?;
            let a = r.address.unwrap_or_default();
            println!("{}\n{} {}", a.street, a.postal_code, a.city);
        }
        HomesCommand::Reconfirm {
            home_id,
            date,
            note,
        } => {
            let on = date.map(|d| dates::parse_iso("--date", &d)).transpose()?;
            let h = client
                .reconfirm(ReconfirmHomeRequest {
                    request_id: samling_kit::ids::new_id_string(),
                    home_id,
                    confirmed_on: dates::opt_to_proto(on),
                    note,
                })
                .await?;
            let due = h
                .reconfirmation_due_on
                .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                .unwrap_or_default();
            println!("home {} re-confirmed; next due {due}", h.id);
        }
        HomesCommand::Overdue {
            as_of,
            municipality,
        } => {
            let as_of = as_of.map(|d| dates::parse_iso("--as-of", &d)).transpose()?;
            let mut token = String::new();
            let mut all = Vec::new();
            loop {
                let resp = client
                    .list_overdue(ListOverdueHomesRequest {
                        as_of: dates::opt_to_proto(as_of),
                        municipality_code: municipality.clone().unwrap_or_default(),
                        page: Some(PageRequest {
                            page_size: 500,
                            page_token: token,
                        }),
                    })
                    .await?;
                all.extend(resp.homes);
                token = resp.page.map(|p| p.next_page_token).unwrap_or_default();
                if token.is_empty() {
                    break;
                }
            }
            print_summaries(&all);
            println!("{} home(s) overdue for re-confirmation", all.len());
        }
    }
    Ok(())
}
