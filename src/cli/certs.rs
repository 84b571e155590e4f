//! `samling certs dev`: a throwaway CA and mTLS certificates for local
//! testing of the distributed mode. Production certificates come from the
//! organisation's CA (or cert-manager) as Kubernetes Secrets.

use samling_kit::config::Config;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum CertsCommand {
    /// Create a dev CA, one certificate for every service (server and client,
    /// all names as subject alternative names) and a client certificate for
    /// the CLI, as PEM files.
    Dev {
        /// Directory to write into, created if missing (default: <data_dir>/tls).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Host names and IP addresses the service certificate is valid for.
        #[arg(
            long,
            value_delimiter = ',',
            default_values = samling_tools::certs::DEV_NAMES
        )]
        names: Vec<String>,
        /// Replace an existing CA in --out (certificates it signed stop working).
        #[arg(long)]
        force: bool,
    },
}

pub fn run(cfg: &Config, cmd: CertsCommand) -> anyhow::Result<()> {
    match cmd {
        CertsCommand::Dev { out, names, force } => {
            let out = out.unwrap_or_else(|| cfg.data_dir.join("tls"));
            let ca = out.join("ca.crt");
            anyhow::ensure!(
                force || !ca.exists(),
                "{} exists; pass --force to make a new CA (certificates signed by the old one stop working)",
                ca.display()
            );
            let certs = samling_tools::certs::dev_certs(&out, &names)?;
            println!("dev CA and certificates (names: {}):", names.join(", "));
            for f in certs.files() {
                println!("  wrote {}", f.display());
            }
            println!("services (each server also uses tls.crt as its client certificate):");
            println!("  SAMLING_TLS_CA_FILE={}", certs.ca_cert.display());
            println!("  SAMLING_TLS_CERT_FILE={}", certs.cert.display());
            println!("  SAMLING_TLS_KEY_FILE={}", certs.key.display());
            println!(
                "CLI: the same CA with SAMLING_TLS_CERT_FILE={} SAMLING_TLS_KEY_FILE={}",
                certs.client_cert.display(),
                certs.client_key.display()
            );
            Ok(())
        }
    }
}
