//! `samling ombud …`: the regional office's ombud roster over gRPC —
//! register the region's ombuds, list them with their workload, list the
//! placed children waiting for an ombud; run the rights follow-up and show
//! its counts. Cases go through the REST API (no child's words on a
//! command line).

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
    /// The rights follow-up (ADR 0046): evaluate the talks rule as of a day
    /// (alerting what became overdue), then the region's counts per item
    /// (1–4 shown as "<5").
    FollowUp {
        /// The day to evaluate as of (YYYY-MM-DD; default today).
        #[arg(long)]
        as_of: Option<String>,
    },
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
