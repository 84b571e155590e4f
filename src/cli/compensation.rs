//! `samling compensation …`: regional finance's compensation work over
//! gRPC — fee schedules, the month's payment run, its approval by a second
//! person, its pain.001 file and its statements, and the state grant ledger's
//! report, history and redistribution. Accounts, agreements and
//! claims go through the REST API (no IBAN or note on a command line).

use super::Connection;
use samling_kit::client::ServiceClient;
use samling_kit::config::Config;
use samling_kit::dates;
use samling_proto::common::v1::PageRequest;
use samling_proto::compensation::v1::compensation_service_client::CompensationServiceClient;
use samling_proto::compensation::v1::*;
use tonic::transport::Channel as GrpcChannel;

type Client = ServiceClient<CompensationServiceClient<GrpcChannel>>;

#[derive(clap::Subcommand, Debug)]
pub enum CompensationCommand {
    /// Fee schedule versions (arvode and omkostnad, kronor a month).
    Schedules {
        /// One schedule's code (default: every code).
        #[arg(long)]
        code: Option<String>,
    },
    /// The yearly indexation of a schedule as a new version.
    Index {
        code: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        effective_from: String,
        /// Hundredths of a percent (350 = 3.50 %; default: the configured).
        #[arg(long)]
        basis_points: Option<i32>,
    },
    /// Payment runs.
    Runs {
        #[command(subcommand)]
        command: RunCommand,
    },
    /// Approve a run (a second person: not the one who started it).
    Approve { run_id: String },
    /// A run's statements (one line per home), or one home's in full.
    Statements {
        run_id: String,
        #[arg(long)]
        home: Option<String>,
    },
    /// The state grant ledger (ADR 0048; the import is `samling import state-grants`).
    Grants {
        #[command(subcommand)]
        command: GrantCommand,
    },
    /// A cost calculation (seed 004; nothing stored): kronor a day × days a
    /// month × months × persons for prevented and shortened placements, the
    /// team's cost, the savings, and alternatives compared.
    Calculate(CalculateArgs),
}

#[derive(clap::Subcommand, Debug)]
pub enum GrantCommand {
    /// Yearly totals reconciled against the available sums (finance,
    /// analysts, council members).
    Report {
        /// One year (default: every year).
        #[arg(long)]
        year: Option<i32>,
        /// One county's municipalities (SCB code, e.g. 14).
        #[arg(long)]
        county: Option<String>,
        /// Every municipality's row too.
        #[arg(long)]
        municipalities: bool,
    },
    /// One municipality's grant history (`--as municipality_manager
    /// --municipality CODE` for its own).
    History {
        /// The municipality's code.
        code: String,
    },
    /// Share a year's leftovers among the municipalities that opted in.
    Redistribute {
        #[arg(long)]
        year: i32,
    },
}

/// `samling compensation calculate --prevented 3749:6:9 --shortened 3749:3:4
/// --team Omsorgsnämnden=2000000 --team Socialförvaltningen=2500000
/// --alternative hvb:3749:12:1 --alternative family-home:1200:12:1`
#[derive(clap::Args, Debug)]
pub struct CalculateArgs {
    /// Prevented placements: KR_PER_DAY:MONTHS:PERSONS[:LABEL] (repeatable).
    #[arg(long)]
    pub prevented: Vec<String>,
    /// Shortened placements (the months saved): KR_PER_DAY:MONTHS:PERSONS[:LABEL].
    #[arg(long)]
    pub shortened: Vec<String>,
    /// A part of the team's cost over the period: LABEL=KR (repeatable).
    #[arg(long)]
    pub team: Vec<String>,
    /// An alternative: KIND:KR_PER_DAY:MONTHS:PERSONS[:LABEL], KIND one of
    /// family-home, hvb, support-team, other (repeatable).
    #[arg(long)]
    pub alternative: Vec<String>,
    /// Days a month (default 30.5, seed 004).
    #[arg(long, default_value = "30.5")]
    pub days_per_month: String,
}

/// Kronor with at most two decimals ("3749", "3749.5", "3 749,50") as öre.
fn parse_kr(flag: &str, s: &str) -> anyhow::Result<i64> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.replace(',', ".");
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    let bad = || anyhow::anyhow!("{flag}: {s:?} is not an amount in kronor (at most two decimals)");
    if whole.is_empty()
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let kr: i64 = whole.parse().map_err(|_| bad())?;
    let ore: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    kr.checked_mul(100)
        .and_then(|k| k.checked_add(ore))
        .ok_or_else(bad)
}

/// KR_PER_DAY:MONTHS:PERSONS[:LABEL] → (öre a day, months, persons, label).
fn parse_scenario(
    flag: &str,
    s: &str,
    default_label: &str,
) -> anyhow::Result<(i64, u32, u32, String)> {
    let parts: Vec<&str> = s.splitn(4, ':').collect();
    if parts.len() < 3 {
        anyhow::bail!("{flag}: {s:?} is not KR_PER_DAY:MONTHS:PERSONS[:LABEL]");
    }
    let months = parts[1]
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{flag}: months {:?} is not a whole number", parts[1]))?;
    let persons = parts[2]
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("{flag}: persons {:?} is not a whole number", parts[2]))?;
    let label = parts
        .get(3)
        .map(|l| l.trim().to_string())
        .unwrap_or_else(|| default_label.to_string());
    Ok((parse_kr(flag, parts[0])?, months, persons, label))
}

/// The calculation's request from the command line.
pub fn calculate_request(a: &CalculateArgs) -> anyhow::Result<CalculateCostsRequest> {
    let tenths = {
        let ore = parse_kr("--days-per-month", &a.days_per_month)?;
        if ore % 10 != 0 {
            anyhow::bail!("--days-per-month: at most one decimal");
        }
        u32::try_from(ore / 10).map_err(|_| anyhow::anyhow!("--days-per-month: too large"))?
    };
    let mut req = CalculateCostsRequest {
        days_per_month_tenths: tenths,
        ..Default::default()
    };
    for (flag, list, kind, name) in [
        (
            "--prevented",
            &a.prevented,
            ScenarioKind::Prevented,
            "prevented",
        ),
        (
            "--shortened",
            &a.shortened,
            ScenarioKind::Shortened,
            "shortened",
        ),
    ] {
        for s in list {
            let (cost, months, persons, label) = parse_scenario(flag, s, name)?;
            req.scenarios.push(CostScenario {
                label,
                kind: kind as i32,
                cost_per_day_ore: cost,
                months,
                persons,
            });
        }
    }
    for t in &a.team {
        let (label, kr) = t
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--team: {t:?} is not LABEL=KR"))?;
        req.team_costs.push(TeamCost {
            label: label.trim().to_string(),
            amount_ore: parse_kr("--team", kr)?,
        });
    }
    for s in &a.alternative {
        let (kind, rest) = s.split_once(':').ok_or_else(|| {
            anyhow::anyhow!("--alternative: {s:?} is not KIND:KR_PER_DAY:MONTHS:PERSONS[:LABEL]")
        })?;
        let k = match kind.trim() {
            "family-home" => AlternativeKind::FamilyHome,
            "hvb" => AlternativeKind::Hvb,
            "support-team" => AlternativeKind::SupportTeam,
            "other" => AlternativeKind::Other,
            other => anyhow::bail!(
                "--alternative: kind {other:?} is not family-home, hvb, support-team or other"
            ),
        };
        let (cost, months, persons, label) = parse_scenario("--alternative", rest, kind.trim())?;
        req.alternatives.push(CostAlternative {
            label,
            kind: k as i32,
            cost_per_day_ore: cost,
            months,
            persons,
        });
    }
    Ok(req)
}

fn print_calculation(c: &CostCalculation) {
    println!(
        "days a month: {}.{}",
        c.days_per_month_tenths / 10,
        c.days_per_month_tenths % 10
    );
    for s in &c.scenarios {
        println!(
            "  {:<10} {:<40} {:>18} kr",
            if s.kind() == ScenarioKind::Prevented {
                "prevented"
            } else {
                "shortened"
            },
            s.label,
            kr(s.amount_ore)
        );
    }
    if !c.scenarios.is_empty() {
        println!(
            "placement costs {} kr (prevented {} kr, shortened {} kr)",
            kr(c.placement_costs_ore),
            kr(c.prevented_ore),
            kr(c.shortened_ore)
        );
        println!("team cost {} kr", kr(c.team_cost_ore));
        println!("savings {} kr", kr(c.savings_ore));
    }
    for a in &c.alternatives {
        println!(
            "  #{} {:<40} {:>18} kr ({} kr a person and month; {} kr above the cheapest)",
            a.rank,
            a.label,
            kr(a.total_ore),
            kr(a.per_person_month_ore),
            kr(a.above_cheapest_ore)
        );
    }
}

#[derive(clap::Subcommand, Debug)]
pub enum RunCommand {
    /// Start (or, when it exists, show) the run of a month.
    Start {
        #[arg(long)]
        year: i32,
        #[arg(long)]
        month: i32,
        /// The day the bank pays, YYYY-MM-DD.
        #[arg(long)]
        execution_date: String,
    },
    /// A run's totals.
    Show { run_id: String },
    /// Write an approved run's pain.001 file.
    File {
        run_id: String,
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

impl Connection {
    /// A compensation client acting as the caller, at the region's service.
    pub async fn compensation(&self, cfg: &Config) -> anyhow::Result<Client> {
        let (signer, _) = crate::serve::context_keys(cfg, false)?;
        let tls = samling_kit::tls::Tls::from_config(&cfg.tls)?;
        Ok(ServiceClient::connect(
            samling_compensation::client::STUB,
            &self.endpoint(cfg, &samling_compensation::module())?,
            tls.as_ref(),
            signer,
            self.context(cfg)?,
        )
        .await?)
    }
}

/// Öre as kronor with two decimals.
fn kr(ore: i64) -> String {
    let sign = if ore < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", ore.abs() / 100, ore.abs() % 100)
}

fn print_run(r: &PaymentRun) {
    println!(
        "run {} {:04}-{:02}: {}; {} statements, {} transfers, {} claims paid, {} corrections; gross {} kr, tax {} kr, net {} kr",
        r.id,
        r.year,
        r.month,
        r.status().as_str_name(),
        r.statements,
        r.transfers,
        r.claims_paid,
        r.corrections,
        kr(r.gross_ore),
        kr(r.tax_ore),
        kr(r.net_ore)
    );
    if !r.homes_without_account.is_empty() {
        println!(
            "  homes without an account: {}",
            r.homes_without_account.join(", ")
        );
    }
    if !r.agreements_without_placement.is_empty() {
        println!(
            "  agreements whose placement the registry has not shown: {}",
            r.agreements_without_placement.join(", ")
        );
    }
    if !r.homes_with_nothing_to_pay.is_empty() {
        println!(
            "  homes with nothing to pay after corrections: {}",
            r.homes_with_nothing_to_pay.join(", ")
        );
    }
}

pub async fn run(cfg: &Config, conn: &Connection, cmd: CompensationCommand) -> anyhow::Result<()> {
    if let CompensationCommand::Calculate(args) = &cmd {
        let req = calculate_request(args)?;
        let (signer, _) = crate::serve::context_keys(cfg, false)?;
        let tls = samling_kit::tls::Tls::from_config(&cfg.tls)?;
        let mut costs = ServiceClient::connect(
            samling_compensation::client::COSTS_STUB,
            &conn.endpoint(cfg, &samling_compensation::module())?,
            tls.as_ref(),
            signer,
            conn.context(cfg)?,
        )
        .await?;
        let request = costs.request(req);
        let c = costs.raw().calculate_costs(request).await?.into_inner();
        print_calculation(&c);
        return Ok(());
    }
    let mut client = conn.compensation(cfg).await?;
    let request_id = samling_kit::ids::new_id_string;
    macro_rules! call {
        ($method:ident, $msg:expr) => {{
            let request = client.request($msg);
            client.raw().$method(request).await?.into_inner()
        }};
    }
    match cmd {
        CompensationCommand::Calculate(_) => unreachable!("answered above"),
        CompensationCommand::Schedules { code } => {
            let resp = call!(
                list_fee_schedules,
                ListFeeSchedulesRequest {
                    code: code.unwrap_or_default(),
                    page: Some(PageRequest {
                        page_size: 500,
                        page_token: String::new(),
                    }),
                }
            );
            for s in &resp.schedules {
                let from = s
                    .effective_from
                    .map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
                    .unwrap_or_default();
                println!(
                    "{} v{} from {from}{}",
                    s.code,
                    s.version,
                    if s.indexed_from_version > 0 {
                        format!(
                            " (indexed from v{} by {} bp)",
                            s.indexed_from_version, s.index_basis_points
                        )
                    } else {
                        String::new()
                    }
                );
                for a in &s.arvode {
                    println!(
                        "  arvode {:<22} {:<28} {:>12} kr",
                        a.level().as_str_name(),
                        a.household().as_str_name(),
                        kr(a.monthly_ore)
                    );
                }
                for o in &s.omkostnad {
                    println!(
                        "  omkostnad {:<24} {:<26} {:>12} kr",
                        o.age_band().as_str_name(),
                        o.zone().as_str_name(),
                        kr(o.monthly_ore)
                    );
                }
            }
        }
        CompensationCommand::Index {
            code,
            effective_from,
            basis_points,
        } => {
            let from = dates::parse_iso("--effective-from", &effective_from)?;
            let s = call!(
                index_fee_schedule,
                IndexFeeScheduleRequest {
                    request_id: request_id(),
                    code,
                    effective_from: Some(dates::to_proto(from)),
                    basis_points,
                }
            );
            println!(
                "{} v{} (indexed by {} bp)",
                s.code, s.version, s.index_basis_points
            );
        }
        CompensationCommand::Runs { command } => match command {
            RunCommand::Start {
                year,
                month,
                execution_date,
            } => {
                let day = dates::parse_iso("--execution-date", &execution_date)?;
                let r = call!(
                    start_payment_run,
                    StartPaymentRunRequest {
                        request_id: request_id(),
                        year,
                        month,
                        execution_date: Some(dates::to_proto(day)),
                    }
                );
                print_run(&r);
            }
            RunCommand::Show { run_id } => {
                let r = call!(get_payment_run, GetPaymentRunRequest { run_id });
                print_run(&r);
            }
            RunCommand::File { run_id, out } => {
                let f = call!(get_payment_file, GetPaymentFileRequest { run_id });
                std::fs::write(&out, f.xml.as_bytes())?;
                println!(
                    "wrote {} ({} bytes, sha256 {}, message id {})",
                    out.display(),
                    f.xml.len(),
                    f.sha256,
                    f.message_id
                );
            }
        },
        CompensationCommand::Approve { run_id } => {
            let r = call!(
                approve_payment_run,
                ApprovePaymentRunRequest {
                    request_id: request_id(),
                    run_id,
                }
            );
            print_run(&r);
        }
        CompensationCommand::Statements { run_id, home } => {
            if let Some(home_id) = home {
                let s = call!(get_statement, GetStatementRequest { run_id, home_id });
                for l in &s.lines {
                    println!(
                        "  {:<36}  {:<22} {:>3} days {:>12} kr{}{}",
                        l.agreement_id,
                        l.component().as_str_name(),
                        l.paid_days,
                        kr(l.amount_ore),
                        if l.taxable { " taxable" } else { "" },
                        if l.corrects_period.is_empty() {
                            String::new()
                        } else {
                            format!(" (corrects {})", l.corrects_period)
                        }
                    );
                }
                println!(
                    "gross {} kr, taxable {} kr, tax {} kr, net {} kr{}",
                    kr(s.gross_ore),
                    kr(s.taxable_ore),
                    kr(s.tax_ore),
                    kr(s.net_ore),
                    if s.paid_by_transfer {
                        format!(", transfer {}", s.end_to_end_id)
                    } else {
                        ", no transfer".into()
                    }
                );
                return Ok(());
            }
            let mut token = String::new();
            println!(
                "{:<36}  {:>12}  {:>12}  {:>12}  transfer",
                "home", "gross kr", "tax kr", "net kr"
            );
            loop {
                let resp = call!(
                    list_statements,
                    ListStatementsRequest {
                        run_id: run_id.clone(),
                        page: Some(PageRequest {
                            page_size: 500,
                            page_token: token,
                        }),
                    }
                );
                for s in &resp.statements {
                    println!(
                        "{:<36}  {:>12}  {:>12}  {:>12}  {}",
                        s.home_id,
                        kr(s.gross_ore),
                        kr(s.tax_ore),
                        kr(s.net_ore),
                        if s.paid_by_transfer {
                            &s.end_to_end_id
                        } else {
                            "-"
                        }
                    );
                }
                token = resp.page.map(|p| p.next_page_token).unwrap_or_default();
                if token.is_empty() {
                    break;
                }
            }
        }
        CompensationCommand::Grants { command } => match command {
            GrantCommand::Report {
                year,
                county,
                municipalities,
            } => {
                let r = call!(
                    get_grant_report,
                    GetGrantReportRequest {
                        year: year.unwrap_or(0),
                        county_code: county.unwrap_or_default(),
                        municipalities,
                    }
                );
                print_grant_report(&r);
            }
            GrantCommand::History { code } => {
                let h = call!(
                    get_grant_history,
                    GetGrantHistoryRequest {
                        municipality_code: code,
                    }
                );
                println!("{} {}", h.municipality_code, h.municipality_name);
                for e in &h.years {
                    print_grant_entry(e);
                }
                for p in &h.unused_periods {
                    println!("  unused {}–{}: {} kr", p.from_year, p.to_year, p.unused_kr);
                }
            }
            GrantCommand::Redistribute { year } => {
                let r = call!(
                    redistribute_leftovers,
                    RedistributeLeftoversRequest {
                        request_id: format!("redistribute-{year}"),
                        year,
                    }
                );
                println!(
                    "{}: {} kr left over of {} kr available shared among {} municipalities: {} or {} kr each",
                    r.year, r.leftover_kr, r.available_kr, r.municipalities, r.low_kr, r.high_kr
                );
            }
        },
    }
    Ok(())
}

fn print_grant_entry(e: &GrantLedgerEntry) {
    println!(
        "  {} {:<5} granted {:>11} kr, {} {:>11} kr{}, paid {:>11} kr{}{}{}",
        e.year,
        e.municipality_code,
        e.granted_kr,
        e.requisition_status()
            .as_str_name()
            .trim_start_matches("REQUISITION_STATUS_")
            .to_lowercase(),
        e.requisitioned_kr,
        if e.redistributed_kr > 0 {
            format!(" + {} kr leftovers", e.redistributed_kr)
        } else {
            String::new()
        },
        e.paid_kr,
        if e.usage_reported {
            format!(", used {} kr, unused {} kr", e.used_kr, e.unused_kr)
        } else {
            String::new()
        },
        if e.reclaimed_kr > 0 {
            format!(", reclaimed {} kr", e.reclaimed_kr)
        } else {
            String::new()
        },
        if e.flags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", e.flags.join(", "))
        }
    );
}

fn print_grant_report(r: &GrantReport) {
    println!(
        "{:<6} {:>13} {:>13} {:>13} {:>13} {:>11} {:>11} {:>6}  flags",
        "year",
        "available kr",
        "granted kr",
        "paid kr",
        "difference",
        "unused kr",
        "reclaimed",
        "munic"
    );
    for y in &r.years {
        println!(
            "{:<6} {:>13} {:>13} {:>13} {:>13} {:>11} {:>11} {:>6}  {}",
            y.year,
            y.available_kr,
            y.granted_kr,
            y.paid_kr,
            y.difference_kr,
            y.unused_kr,
            y.reclaimed_kr,
            y.municipalities,
            y.flags.join(", ")
        );
    }
    for p in &r.periods {
        println!(
            "unused {}–{}: {} kr in {} municipalities",
            p.from_year, p.to_year, p.unused_kr, p.municipalities
        );
    }
    for e in &r.municipalities {
        print_grant_entry(e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calculate_flags_make_seed_004s_request() {
        let a = CalculateArgs {
            prevented: vec!["3749:6:9".into()],
            shortened: vec!["3749:3:4:förkortade".into()],
            team: vec![
                "Omsorgsnämnden=2000000".into(),
                "Socialförvaltningen=2 500 000".into(),
            ],
            alternative: vec!["hvb:3749,50:12:1".into()],
            days_per_month: "30.5".into(),
        };
        let r = calculate_request(&a).unwrap();
        assert_eq!(r.days_per_month_tenths, 305);
        assert_eq!(r.scenarios.len(), 2);
        assert_eq!(
            (
                r.scenarios[0].cost_per_day_ore,
                r.scenarios[0].months,
                r.scenarios[0].persons
            ),
            (374_900, 6, 9)
        );
        assert_eq!(r.scenarios[1].label, "förkortade");
        assert_eq!(r.scenarios[1].kind, ScenarioKind::Shortened as i32);
        assert_eq!(r.team_costs[1].amount_ore, 250_000_000);
        assert_eq!(r.alternatives[0].cost_per_day_ore, 374_950);
        assert_eq!(r.alternatives[0].kind, AlternativeKind::Hvb as i32);
        // The calculation of the request reproduces the seed's 7 546 737 kr.
        let c = samling_compensation::domain::costs::calculate(&r).unwrap();
        assert_eq!(c.placement_costs_ore, 754_673_700);
        let bad = CalculateArgs {
            alternative: vec!["boat:1:1:1".into()],
            ..a
        };
        assert!(
            calculate_request(&bad)
                .unwrap_err()
                .to_string()
                .contains("--alternative")
        );
        assert!(parse_kr("--team", "1.234").is_err());
        assert!(parse_kr("--team", "-5").is_err());
    }
}
