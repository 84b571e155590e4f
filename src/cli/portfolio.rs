//! `samling portfolio …`: the portfolio's interop over gRPC (issue 22 §7,
//! ADR 0041) — the health section exported as an HL7 FHIR R4 IPS-style
//! document Bundle, and school data imported from an SS 12000-style JSON
//! file. The caller is the signed context of the connection (`--as`,
//! `--municipality`), so the service applies its access rules and logs the
//! real person. Only ids and file names go on the command line.

use super::Connection;
use anyhow::Context as _;
use samling_kit::client::ServiceClient;
use samling_kit::config::Config;
use samling_proto::portfolio::v1::portfolio_service_client::PortfolioServiceClient;
use samling_proto::portfolio::v1::*;
use std::path::PathBuf;
use tonic::transport::Channel as GrpcChannel;

type Client = ServiceClient<PortfolioServiceClient<GrpcChannel>>;

#[derive(clap::Subcommand, Debug)]
pub enum PortfolioCommand {
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
