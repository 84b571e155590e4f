//! `samling ombud …`: the regional office's ombud roster over gRPC —
//! register the region's ombuds, list them with their workload, list the
//! placed children waiting for an ombud; run the rights follow-up and show
//! its counts; and the user surveys: open a round (the office), print a
//! round's suppressed results (the office, a council member, an analyst).
//! Cases go through the REST API (no child's words on a command line); a
//! survey is answered on the public REST route.

use super::Connection;
use samling_kit::client::ServiceClient;
use samling_kit::config::Config;
use samling_proto::common::v1::PageRequest;
use samling_proto::ombud::v1::ombud_service_client::OmbudServiceClient;
use samling_proto::ombud::v1::*;
use tonic::transport::Channel as GrpcChannel;

type Client = ServiceClient<OmbudServiceClient<GrpcChannel>>;

#[derive(clap::Subcommand, Debug)]
pub enum OmbudCommand {
    /// Register an ombud of the region (the subject of its token); children
    /// waiting for an ombud are assigned at once.
    Register { subject: String },
    /// The region's ombuds and their active children.
    List,
    /// Placed children waiting for an ombud.
    Unassigned,
    /// Open a survey round of the region: every child placed now is
    /// invited (ADR 0044).
    SurveyOpen {
        /// The round's first day (YYYY-MM-DD).
        #[arg(long)]
        from: String,
        /// The round's last day (YYYY-MM-DD).
        #[arg(long)]
        to: String,
        /// The questionnaire's version.
        #[arg(long, default_value_t = 1)]
        questionnaire: i32,
    },
    /// A survey round's results as suppressed aggregates (1–4 as "<5",
    /// complementary cells as "..").
    SurveyResults {
        /// The round's id.
        #[arg(long)]
        round: String,
    },
    /// The rights follow-up (ADR 0046): evaluate the talks rule as of a day
    /// (alerting what became overdue), then the region's counts per item
    /// (1–4 shown as "<5").
    FollowUp {
        /// The day to evaluate as of (YYYY-MM-DD; default today).
        #[arg(long)]
        as_of: Option<String>,
    },
}

/// A date option (YYYY-MM-DD); the error names the option.
fn date_arg(option: &str, s: &str) -> anyhow::Result<samling_proto::common::v1::Date> {
    let d = samling_kit::dates::parse_iso(option, s.trim())
        .map_err(|_| anyhow::anyhow!("--{option}: must be a date, YYYY-MM-DD"))?;
    Ok(samling_kit::dates::to_proto(d))
}

fn form_name(v: i32) -> &'static str {
    match SurveyPlacementForm::try_from(v).unwrap_or_default() {
        SurveyPlacementForm::Unspecified => "all",
        SurveyPlacementForm::FamilyHome => "family home",
        SurveyPlacementForm::Hvb => "HVB",
        SurveyPlacementForm::SupportedHousing => "supported housing",
        SurveyPlacementForm::Other => "other",
    }
}

fn count(c: &Option<SurveyCount>) -> &str {
    c.as_ref().map(|c| c.value.as_str()).unwrap_or("")
}

/// The results as printed: the respondents per placement form, then per
/// question one line per form with the counts per answer (0 = vet inte).
pub fn format_results(r: &SurveyResults) -> String {
    let mut out = format!(
        "round {} ({}), questionnaire {}: {} invited\nrespondents:",
        r.round_id,
        r.region,
        r.questionnaire_version,
        count(&r.invited)
    );
    for row in &r.respondents {
        out.push_str(&format!(
            " {} {};",
            form_name(row.placement_form),
            count(&row.total)
        ));
    }
    out.push('\n');
    for q in &r.questions {
        out.push_str(&format!("{} — {}\n", q.question_id, q.text));
        for row in &q.rows {
            let options: Vec<&str> = row.options.iter().map(|c| c.value.as_str()).collect();
            out.push_str(&format!(
                "  {:<18} [{}] total {}{}\n",
                form_name(row.placement_form),
                options.join(" "),
                count(&row.total),
                if row.mean.is_empty() {
                    String::new()
                } else {
                    format!(" mean {}", row.mean)
                }
            ));
        }
    }
    out
}

impl Connection {
    /// An ombud client acting as the caller, at the region's service.
    pub async fn ombud(&self, cfg: &Config) -> anyhow::Result<Client> {
        let (signer, _) = crate::serve::context_keys(cfg, false)?;
        let tls = samling_kit::tls::Tls::from_config(&cfg.tls)?;
        Ok(ServiceClient::connect(
            samling_ombud::client::STUB,
            &self.endpoint(cfg, &samling_ombud::module())?,
            tls.as_ref(),
            signer,
            self.context(cfg)?,
        )
        .await?)
    }
}

fn page() -> Option<PageRequest> {
    Some(PageRequest {
        page_size: 500,
        page_token: String::new(),
    })
}

pub async fn run(cfg: &Config, conn: &Connection, cmd: OmbudCommand) -> anyhow::Result<()> {
    let mut client = conn.ombud(cfg).await?;
    macro_rules! call {
        ($method:ident, $msg:expr) => {{
            let request = client.request($msg);
            client.raw().$method(request).await?.into_inner()
        }};
    }
    match cmd {
        OmbudCommand::Register { subject } => {
            let o = call!(
                register_ombud,
                RegisterOmbudRequest {
                    request_id: samling_kit::ids::new_id_string(),
                    subject,
                }
            );
            println!(
                "ombud {} registered {}; {} active children",
                o.subject, o.registered_at, o.active_children
            );
        }
        OmbudCommand::List => {
            let resp = call!(list_ombuds, ListOmbudsRequest { page: page() });
            for o in &resp.ombuds {
                println!("{} {} children", o.subject, o.active_children);
            }
        }
        OmbudCommand::Unassigned => {
            let resp = call!(list_unassigned, ListUnassignedRequest { page: page() });
            for a in &resp.children {
                println!(
                    "child {} placed {} (placement {})",
                    a.child_id, a.placed_at, a.placement_id
                );
            }
        }
        OmbudCommand::SurveyOpen {
            from,
            to,
            questionnaire,
        } => {
            let r = call!(
                open_survey_round,
                OpenSurveyRoundRequest {
                    request_id: samling_kit::ids::new_id_string(),
                    period_start: Some(date_arg("from", &from)?),
                    period_end: Some(date_arg("to", &to)?),
                    questionnaire_version: questionnaire,
                }
            );
            println!(
                "survey round {} opened in {}: {} children invited",
                r.id, r.region, r.invited
            );
        }
        OmbudCommand::SurveyResults { round } => {
            let r = call!(
                get_survey_results,
                GetSurveyResultsRequest { round_id: round }
            );
            print!("{}", format_results(&r));
        }
        OmbudCommand::FollowUp { as_of } => {
            let as_of = match as_of {
                Some(d) => Some(samling_kit::dates::to_proto(samling_kit::dates::parse_iso(
                    "--as-of", &d,
                )?)),
                None => None,
            };
            let r = call!(
                run_follow_up,
                RunFollowUpRequest {
                    request_id: samling_kit::ids::new_id_string(),
                    as_of,
                }
            );
            let day = r
                .as_of
                .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                .unwrap_or_default();
            println!(
                "follow-up as of {day}: {} children evaluated, {} alerts raised",
                r.children, r.alerts_raised
            );
            let counts = call!(follow_up_counts, FollowUpCountsRequest {});
            println!("item overdue due met upcoming unknown children");
            for c in &counts.items {
                println!(
                    "{} {} {} {} {} {} {}",
                    c.item, c.overdue, c.due, c.met, c.upcoming, c.unknown, c.children
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(clap::Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        command: OmbudCommand,
    }

    #[test]
    fn survey_commands_parse_and_bad_dates_name_the_option() {
        let c = Cli::try_parse_from([
            "ombud",
            "survey-open",
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-31",
        ])
        .unwrap();
        match c.command {
            OmbudCommand::SurveyOpen {
                from,
                to,
                questionnaire,
            } => {
                assert_eq!(
                    (from.as_str(), to.as_str(), questionnaire),
                    ("2026-12-01", "2026-12-31", 1)
                );
            }
            other => panic!("{other:?}"),
        }
        let c = Cli::try_parse_from(["ombud", "survey-results", "--round", "r1"]).unwrap();
        assert!(matches!(c.command, OmbudCommand::SurveyResults { round } if round == "r1"));
        assert!(Cli::try_parse_from(["ombud", "survey-results"]).is_err());
        let e = date_arg("from", "2026-13-01").unwrap_err().to_string();
        assert!(e.starts_with("--from"), "{e}");
        assert_eq!(date_arg("to", "2026-12-31").unwrap().day, 31);
    }

    #[test]
    fn survey_results_print_every_count_as_published() {
        let c = |v: &str| {
            Some(SurveyCount {
                value: v.into(),
                suppressed: v == "<5" || v == "..",
            })
        };
        let r = SurveyResults {
            round_id: "r1".into(),
            region: "stockholm-gotland".into(),
            questionnaire_version: 1,
            invited: c("19"),
            respondents: vec![
                SurveyResultRow {
                    placement_form: 0,
                    total: c("19"),
                    ..Default::default()
                },
                SurveyResultRow {
                    placement_form: SurveyPlacementForm::Hvb as i32,
                    total: c("<5"),
                    ..Default::default()
                },
            ],
            questions: vec![SurveyQuestionResult {
                question_id: "safe_where_i_live".into(),
                text: "Jag känner mig trygg där jag bor.".into(),
                rows: vec![SurveyResultRow {
                    placement_form: SurveyPlacementForm::FamilyHome as i32,
                    options: vec![
                        c("0").unwrap(),
                        c("<5").unwrap(),
                        c("..").unwrap(),
                        c("6").unwrap(),
                    ],
                    total: c("10"),
                    mean: String::new(),
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let out = format_results(&r);
        assert!(out.contains("19 invited"), "{out}");
        assert!(out.contains("respondents: all 19; HVB <5;"), "{out}");
        assert!(
            out.contains("family home        [0 <5 .. 6] total 10\n"),
            "{out}"
        );
        assert!(!out.contains("mean"), "{out}");
    }
}
