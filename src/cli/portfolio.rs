//! `samling portfolio …`: the child's portfolio service over gRPC.
//!
//! Other portfolio subcommands may be added beside these; each group keeps
//! to its own block (enum variants and `run` arms) so branches merge.

use super::Connection;
use samling_kit::client::ServiceClient;
use samling_kit::config::Config;
use samling_proto::common::v1::{Date, PageRequest};
use samling_proto::portfolio::v1::portfolio_service_client::PortfolioServiceClient;
use samling_proto::portfolio::v1::*;
use tonic::transport::Channel as GrpcChannel;

type Client = ServiceClient<PortfolioServiceClient<GrpcChannel>>;

#[derive(clap::Subcommand, Debug)]
pub enum PortfolioCommand {
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
        // ---- deadlines and aftercare ----
        PortfolioCommand::Deadlines {
            today,
            item,
            state,
            run,
        } => {
            let today = today_arg(today.as_deref())?;
            let mut client = conn.portfolio(cfg).await?;
            deadlines(&mut client, today, item, state, run).await
        }
        PortfolioCommand::Aftercare { today } => {
            let today = today_arg(today.as_deref())?;
            let mut client = conn.portfolio(cfg).await?;
            aftercare(&mut client, today).await
        } // ---- end of deadlines and aftercare ----
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
