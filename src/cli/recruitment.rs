//! `samling recruitment …`: a regional office's everyday recruitment work
//! over gRPC — cases and their stages, overdue first responses, campaigns,
//! courses and the funnel. Intake itself comes through the public form or
//! the REST API: personal data never goes on a command line (shell history).

use super::{Connection, enum_value};
use samling_kit::client::ServiceClient;
use samling_kit::config::Config;
use samling_kit::dates;
use samling_proto::common::v1::{Date, PageRequest};
use samling_proto::recruitment::v1::recruitment_service_client::RecruitmentServiceClient;
use samling_proto::recruitment::v1::*;
use tonic::transport::Channel as GrpcChannel;

type Client = ServiceClient<RecruitmentServiceClient<GrpcChannel>>;

#[derive(clap::Subcommand, Debug)]
pub enum RecruitmentCommand {
    /// Cases (reference, track, stage, status, deadlines; no personal data).
    Cases {
        /// A municipality code (default: the whole region).
        #[arg(long = "in")]
        municipality: Option<String>,
        /// e.g. inquiry, info-meeting, training, investigation, recommendation.
        #[arg(long)]
        stage: Option<String>,
        /// Only cases past a deadline.
        #[arg(long)]
        overdue: bool,
        #[arg(long)]
        campaign: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// One case as the office sees it.
    Show { case_id: String },
    /// Inquiries whose first response is overdue (Swedish working days).
    Overdue {
        /// YYYY-MM-DD (default today).
        #[arg(long)]
        as_of: Option<String>,
        /// A municipality code (default: the whole region).
        #[arg(long = "in")]
        municipality: Option<String>,
    },
    /// Record the first response to an inquiry.
    Respond {
        case_id: String,
        /// YYYY-MM-DD (default today).
        #[arg(long)]
        on: Option<String>,
    },
    /// Move a case to its next stage (refused, naming what is missing,
    /// until the stage's requirements are met).
    Advance {
        case_id: String,
        /// info-meeting, training, investigation or recommendation.
        #[arg(long)]
        to: String,
    },
    /// A case drops out, with a reason code.
    DropOut {
        case_id: String,
        /// e.g. changed-mind, life-circumstances, housing, no-contact, chose-agency.
        #[arg(long)]
        reason: String,
        /// applicant or authority.
        #[arg(long, default_value = "applicant")]
        initiated_by: String,
    },
    /// Recruitment campaigns.
    Campaigns {
        #[command(subcommand)]
        command: CampaignCommand,
    },
    /// Courses (e.g. "Ett hem att växa i"), their sessions and attendance.
    Courses {
        /// basic, npf, trauma-informed, network-homes, foster-fathers, …
        #[arg(long)]
        kind: Option<String>,
        /// A municipality code (default: the whole region).
        #[arg(long = "in")]
        municipality: Option<String>,
    },
    /// The funnel: inquiries → met → trained → investigated → approved.
    Funnel {
        /// The cohort: inquiries received from (YYYY-MM-DD) …
        #[arg(long)]
        from: String,
        /// … to (YYYY-MM-DD, inclusive).
        #[arg(long)]
        to: String,
        /// A municipality code (default: the whole region).
        #[arg(long = "in")]
        municipality: Option<String>,
        /// standard or network-home (default both).
        #[arg(long)]
        track: Option<String>,
    },
}

#[derive(clap::Subcommand, Debug)]
pub enum CampaignCommand {
    /// List campaigns.
    List {
        #[arg(long)]
        active: bool,
    },
    /// Create a campaign (its code is what the public form's link carries).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        code: String,
        /// website, social-media, print-or-outdoor, radio-or-tv, event, …
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// Municipality codes (default: the whole region).
        #[arg(long = "in")]
        municipalities: Vec<String>,
        /// YYYY-MM-DD (default today).
        #[arg(long)]
        starts_on: Option<String>,
        #[arg(long)]
        ends_on: Option<String>,
    },
}

impl Connection {
    /// A recruitment client acting as the caller, at the region's service.
    pub async fn recruitment(&self, cfg: &Config) -> anyhow::Result<Client> {
        let (signer, _) = crate::serve::context_keys(cfg, false)?;
        let tls = samling_kit::tls::Tls::from_config(&cfg.tls)?;
        Ok(ServiceClient::connect(
            samling_recruitment::client::STUB,
            &self.endpoint(cfg, &samling_recruitment::module())?,
            tls.as_ref(),
            signer,
            self.context(cfg)?,
        )
        .await?)
    }
}

fn date_arg(field: &str, s: Option<&str>) -> anyhow::Result<Option<Date>> {
    Ok(s.map(|s| dates::parse_iso(field, s))
        .transpose()?
        .map(dates::to_proto))
}

fn show_date(d: Option<&Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

fn short(name: &str, prefix: &str) -> String {
    name.trim_start_matches(prefix)
        .to_lowercase()
        .replace('_', "-")
}

fn print_cases(cases: &[Case]) {
    println!(
        "{:<36}  {:<10}  {:<12}  {:<14}  {:<12}  {:>4}  {:<10}  overdue",
        "id", "reference", "track", "stage", "status", "muni", "stage due"
    );
    for c in cases {
        let overdue = c.first_response_overdue || c.stage_overdue;
        println!(
            "{:<36}  {:<10}  {:<12}  {:<14}  {:<12}  {:>4}  {:<10}  {}",
            c.id,
            c.reference,
            short(c.track().as_str_name(), "TRACK_"),
            short(c.stage().as_str_name(), "STAGE_"),
            short(c.status().as_str_name(), "CASE_STATUS_"),
            c.municipality_code,
            show_date(c.stage_due_on.as_ref()),
            if overdue { "yes" } else { "" }
        );
    }
}

fn summary(what: &str, c: &Case) {
    println!(
        "case {} ({}): {what}; stage {}, status {} (version {})",
        c.id,
        c.reference,
        short(c.stage().as_str_name(), "STAGE_"),
        short(c.status().as_str_name(), "CASE_STATUS_"),
        c.version
    );
}

pub async fn run(cfg: &Config, conn: &Connection, cmd: RecruitmentCommand) -> anyhow::Result<()> {
    let mut client = conn.recruitment(cfg).await?;
    macro_rules! call {
        ($method:ident, $msg:expr) => {{
            let request = client.request($msg);
            client.raw().$method(request).await?.into_inner()
        }};
    }
    match cmd {
        RecruitmentCommand::Cases {
            municipality,
            stage,
            overdue,
            campaign,
            limit,
        } => {
            let stage = stage
                .map(|s| {
                    enum_value("--stage", &s, "STAGE_", |n| {
                        Stage::from_str_name(n).map(|v| v as i32)
                    })
                })
                .transpose()?
                .unwrap_or_default();
            let resp = call!(
                list_cases,
                ListCasesRequest {
                    municipality_code: municipality.unwrap_or_default(),
                    stage,
                    overdue_only: overdue,
                    campaign_id: campaign.unwrap_or_default(),
                    page: Some(PageRequest {
                        page_size: limit,
                        page_token: String::new(),
                    }),
                    ..Default::default()
                }
            );
            print_cases(&resp.cases);
        }
        RecruitmentCommand::Show { case_id } => {
            let c = call!(get_case, GetCaseRequest { case_id });
            println!("{c:#?}");
        }
        RecruitmentCommand::Overdue {
            as_of,
            municipality,
        } => {
            let as_of = date_arg("--as-of", as_of.as_deref())?;
            let mut token = String::new();
            let mut all = Vec::new();
            loop {
                let resp = call!(
                    list_overdue_inquiries,
                    ListOverdueInquiriesRequest {
                        as_of,
                        municipality_code: municipality.clone().unwrap_or_default(),
                        page: Some(PageRequest {
                            page_size: 500,
                            page_token: token,
                        }),
                    }
                );
                all.extend(resp.cases);
                token = resp.page.map(|p| p.next_page_token).unwrap_or_default();
                if token.is_empty() {
                    break;
                }
            }
            print_cases(&all);
            println!("{} inquiry(ies) overdue for a first response", all.len());
        }
        RecruitmentCommand::Respond { case_id, on } => {
            let c = call!(
                record_first_response,
                RecordFirstResponseRequest {
                    request_id: samling_kit::ids::new_id_string(),
                    case_id,
                    responded_on: date_arg("--on", on.as_deref())?,
                    ..Default::default()
                }
            );
            summary("first response recorded", &c);
        }
        RecruitmentCommand::Advance { case_id, to } => {
            let to = enum_value("--to", &to, "STAGE_", |n| {
                Stage::from_str_name(n).map(|v| v as i32)
            })?;
            let c = call!(
                advance_case,
                AdvanceCaseRequest {
                    request_id: samling_kit::ids::new_id_string(),
                    case_id,
                    to_stage: to,
                    ..Default::default()
                }
            );
            summary("advanced", &c);
        }
        RecruitmentCommand::DropOut {
            case_id,
            reason,
            initiated_by,
        } => {
            let reason = enum_value("--reason", &reason, "DROP_OUT_REASON_", |n| {
                DropOutReason::from_str_name(n).map(|v| v as i32)
            })?;
            let by = enum_value(
                "--initiated-by",
                &initiated_by,
                "DROP_OUT_INITIATOR_",
                |n| DropOutInitiator::from_str_name(n).map(|v| v as i32),
            )?;
            let c = call!(
                drop_out,
                DropOutRequest {
                    request_id: samling_kit::ids::new_id_string(),
                    case_id,
                    reason,
                    initiated_by: by,
                    on: None,
                }
            );
            summary("dropped out", &c);
        }
        RecruitmentCommand::Campaigns {
            command: CampaignCommand::List { active },
        } => {
            let resp = call!(
                list_campaigns,
                ListCampaignsRequest {
                    active_only: active,
                    page: None,
                }
            );
            println!(
                "{:<36}  {:<12}  {:<10}  {:<10}  name",
                "id", "code", "starts", "ends"
            );
            for c in &resp.campaigns {
                println!(
                    "{:<36}  {:<12}  {:<10}  {:<10}  {}",
                    c.id,
                    c.code,
                    show_date(c.starts_on.as_ref()),
                    show_date(c.ends_on.as_ref()),
                    c.name
                );
            }
        }
        RecruitmentCommand::Campaigns {
            command:
                CampaignCommand::Create {
                    name,
                    code,
                    channels,
                    municipalities,
                    starts_on,
                    ends_on,
                },
        } => {
            let mut chans = Vec::new();
            for c in &channels {
                chans.push(enum_value("--channel", c, "CHANNEL_", |n| {
                    Channel::from_str_name(n).map(|v| v as i32)
                })?);
            }
            let starts = date_arg("--starts-on", starts_on.as_deref())?
                .unwrap_or_else(|| dates::to_proto(dates::today()));
            let c = call!(
                create_campaign,
                CreateCampaignRequest {
                    request_id: samling_kit::ids::new_id_string(),
                    name,
                    code,
                    channels: chans,
                    municipality_codes: municipalities,
                    starts_on: Some(starts),
                    ends_on: date_arg("--ends-on", ends_on.as_deref())?,
                }
            );
            println!("campaign {} created with code {}", c.id, c.code);
        }
        RecruitmentCommand::Courses { kind, municipality } => {
            let kind = kind
                .map(|k| {
                    enum_value("--kind", &k, "COURSE_KIND_", |n| {
                        CourseKind::from_str_name(n).map(|v| v as i32)
                    })
                })
                .transpose()?
                .unwrap_or_default();
            let resp = call!(
                list_courses,
                ListCoursesRequest {
                    kind,
                    municipality_code: municipality.unwrap_or_default(),
                    page: None,
                }
            );
            println!(
                "{:<36}  {:<18}  {:>4}  {:>8}  {:>12}  name",
                "id", "kind", "muni", "sessions", "participants"
            );
            for c in &resp.courses {
                println!(
                    "{:<36}  {:<18}  {:>4}  {:>8}  {:>12}  {}",
                    c.id,
                    short(c.kind().as_str_name(), "COURSE_KIND_"),
                    c.municipality_code,
                    c.sessions.len(),
                    c.participants.len(),
                    c.name
                );
            }
        }
        RecruitmentCommand::Funnel {
            from,
            to,
            municipality,
            track,
        } => {
            let track = track
                .map(|t| {
                    enum_value("--track", &t, "TRACK_", |n| {
                        Track::from_str_name(n).map(|v| v as i32)
                    })
                })
                .transpose()?
                .unwrap_or_default();
            let f = call!(
                get_funnel_statistics,
                GetFunnelStatisticsRequest {
                    municipality_code: municipality.unwrap_or_default(),
                    from: date_arg("--from", Some(&from))?,
                    to: date_arg("--to", Some(&to))?,
                    track,
                }
            );
            println!(
                "funnel {} {} {}..{}",
                f.region_id,
                f.municipality_code,
                show_date(f.from.as_ref()),
                show_date(f.to.as_ref())
            );
            println!("{:<14}  {:>6}  median days", "step", "count");
            for s in &f.steps {
                println!(
                    "{:<14}  {:>6}  {}",
                    short(s.step().as_str_name(), "FUNNEL_STEP_"),
                    s.count_display,
                    s.median_days_display
                );
            }
            println!("drop-outs: {}", f.total_drop_outs_display);
            for d in &f.drop_outs {
                println!(
                    "  {:<28}  {:>6}",
                    short(d.reason().as_str_name(), "DROP_OUT_REASON_"),
                    d.count_display
                );
            }
            for c in &f.campaigns {
                println!(
                    "campaign {:<24}  inquiries {:>6}  approved {:>6}",
                    if c.campaign_name.is_empty() {
                        "(none)"
                    } else {
                        &c.campaign_name
                    },
                    c.inquiries_display,
                    c.approved_display
                );
            }
        }
    }
    Ok(())
}
