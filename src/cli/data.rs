//! `samling import homes`, `samling export homes` and `samling seed-demo`
//! (`samling import state-grants` is in `grants.rs`):
//! bulk data in and out of a region's register, over gRPC.

use super::Connection;
use crate::serve;
use anyhow::Context;
use samling_kit::config::Config;
use samling_proto::registry::v1::{
    DuplicateKind, ExportHomesRequest, Home, HomeStatus, HomeType, ImportHomesRequest, RowError,
};
use samling_registry::import::{self, HomesCsvWriter};
use samling_tools::demo::{self, DemoOptions};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most rows the registry takes in one ImportHomes call.
const MAX_BATCH: usize = 5000;

#[derive(clap::Subcommand, Debug)]
pub enum ImportCommand {
    /// Import homes from a CSV file (UTF-8, header row; columns: home_type, provider,
    /// agency_id, municipality_code, street, postal_code, city, protected_identity,
    /// carer1_given_name, carer1_family_name, carer1_personnummer, carer2_…, languages,
    /// competences, target_groups, pets, allergies, capacity, willingness).
    ///
    /// Valid rows are imported even when others are rejected; the command then
    /// exits non-zero. Re-running the same file with the same --batch is answered
    /// from the first run and does not import it twice.
    Homes {
        /// The CSV file.
        file: PathBuf,
        /// Validate on the server and report, without writing.
        #[arg(long)]
        dry_run: bool,
        /// Rows per ImportHomes call (1–5000).
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Import a historical state grant ledger (CSV, header
    /// `year,municipality,granted_kr` or `from_year,to_year,municipality,unused_kr`;
    /// a municipality by code or by name as printed, e.g. "Borås stad").
    ///
    /// Nothing is imported unless every row is good and every name resolves
    /// (unresolved names are listed with the closest municipalities). Values
    /// are set, not added: importing the same file again changes nothing.
    StateGrants {
        /// The CSV file.
        file: PathBuf,
        /// Import the rows that resolve and leave out those that do not.
        #[arg(long)]
        skip_unresolved: bool,
        /// The grants are decisions (e.g. a distribution's result) the
        /// municipalities still requisition; without it a historical
        /// table's amounts count as requisitioned and paid.
        #[arg(long)]
        decisions_only: bool,
        /// A year's available sum, YEAR=KRONOR (repeatable), reconciled
        /// against the year's grants.
        #[arg(long, value_parser = super::grants::parse_available)]
        available: Vec<samling_proto::compensation::v1::GrantAvailable>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The import format, with household members and personnummer (needs --out).
    Csv,
    /// One JSON object per home: the summary fields, no personal data.
    Jsonl,
}

#[derive(clap::Subcommand, Debug)]
pub enum ExportCommand {
    /// Export homes (protected homes without their address).
    Homes {
        /// Only homes in this municipality (SCB code).
        #[arg(long)]
        municipality: Option<String>,
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Output file (required for CSV, which holds personnummer; JSONL defaults to stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args, Debug)]
pub struct SeedArgs {
    /// Family homes to create.
    #[arg(long, default_value_t = 300)]
    pub homes: usize,
    /// Children to register (about 70 % are placed).
    #[arg(long, default_value_t = 400)]
    pub children: usize,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

// ------------------------------------------------------------------ import

/// FNV-1a, 64 bits: a stable content hash for idempotent request ids.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The request id of one batch: the same file cut the same way gives the
/// same ids, so a retried import is answered from the first one.
fn batch_request_id(content_hash: u64, batch_size: usize, index: usize) -> String {
    format!("import-homes-{content_hash:016x}-{batch_size}-{index}")
}

fn print_errors(errors: &[RowError]) {
    for e in errors {
        let field = if e.field.is_empty() {
            "-"
        } else {
            e.field.as_str()
        };
        // Messages from the parser and the server never carry a personnummer;
        // scrub anyway before anything reaches the terminal.
        println!(
            "line {}: {}: {}",
            e.line,
            import::scrub(field),
            import::scrub(&e.message)
        );
    }
}

pub async fn import(cfg: &Config, conn: &Connection, cmd: ImportCommand) -> anyhow::Result<()> {
    match cmd {
        ImportCommand::Homes {
            file,
            dry_run,
            batch,
        } => import_homes(cfg, conn, &file, dry_run, batch).await,
        ImportCommand::StateGrants {
            file,
            skip_unresolved,
            decisions_only,
            available,
        } => {
            super::grants::import_state_grants(
                cfg,
                conn,
                &file,
                skip_unresolved,
                decisions_only,
                available,
            )
            .await
        }
    }
}

async fn import_homes(
    cfg: &Config,
    conn: &Connection,
    file: &Path,
    dry_run: bool,
    batch: usize,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=MAX_BATCH).contains(&batch),
        "--batch must be 1–{MAX_BATCH}"
    );
    let started = Instant::now();
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let hash = fnv1a64(&bytes);
    let parsed = import::parse_homes_csv(bytes.as_slice());
    let mut errors = parsed.errors.clone();
    if parsed.header_rejected() {
        print_errors(&errors);
        anyhow::bail!(
            "{}: the header is not usable; nothing was imported",
            file.display()
        );
    }

    let mut client = conn
        .registry(cfg)
        .await?
        .with_timeout(Duration::from_secs(300));
    let mut created: u64 = 0;
    let mut duplicates = Vec::new();
    for (index, rows) in parsed.rows.chunks(batch).enumerate() {
        let req = client.request(ImportHomesRequest {
            request_id: batch_request_id(hash, batch, index),
            rows: rows.to_vec(),
            dry_run,
        });
        let resp = client
            .raw()
            .import_homes(req)
            .await
            .with_context(|| {
                format!(
                    "importing batch {} (lines {}–{})",
                    index + 1,
                    first_line(rows),
                    last_line(rows)
                )
            })?
            .into_inner();
        created += u64::from(resp.created);
        errors.extend(resp.errors.into_iter().map(server_row_error));
        duplicates.extend(resp.duplicates);
    }

    errors.sort_by_key(|e| e.line);
    let rejected: BTreeSet<u32> = errors.iter().map(|e| e.line).collect();
    println!("{}: {} row(s) read", file.display(), parsed.records);
    if dry_run {
        let ok = parsed
            .records
            .saturating_sub(u32::try_from(rejected.len()).unwrap_or(u32::MAX));
        println!(
            "dry run: {ok} row(s) would be imported (agency ids are checked on import); nothing was written"
        );
    } else {
        println!("created:  {created}");
    }
    println!("rejected: {}", rejected.len());
    print_errors(&errors);
    if !duplicates.is_empty() {
        println!(
            "possible duplicates flagged for review: {}",
            duplicates.len()
        );
        const SHOWN: usize = 50;
        for d in duplicates.iter().take(SHOWN) {
            let kind = DuplicateKind::try_from(d.kind)
                .unwrap_or_default()
                .as_str_name();
            println!(
                "  {} home {} ~ {} (flag {})",
                kind.trim_start_matches("DUPLICATE_KIND_"),
                d.record_id,
                d.other_record_id,
                d.id
            );
        }
        if duplicates.len() > SHOWN {
            println!(
                "  … and {} more (ListDuplicateFlags shows them all)",
                duplicates.len() - SHOWN
            );
        }
    }
    println!("elapsed: {:.2} s", started.elapsed().as_secs_f64());
    anyhow::ensure!(rejected.is_empty(), "{} row(s) rejected", rejected.len());
    Ok(())
}

/// A row error from the server with the CSV column named. Errors the server
/// reports without a field but as "draft.x: message" are split first.
fn server_row_error(mut e: RowError) -> RowError {
    if e.field.is_empty()
        && let Some((field, message)) = e.message.split_once(": ")
        && field.starts_with("draft.")
        && !field.contains(' ')
    {
        e.field = field.to_string();
        e.message = message.to_string();
    }
    e.field = import::column_for_field(&e.field);
    e
}

fn first_line(rows: &[samling_proto::registry::v1::ImportRow]) -> u32 {
    rows.first().map(|r| r.line).unwrap_or(0)
}

fn last_line(rows: &[samling_proto::registry::v1::ImportRow]) -> u32 {
    rows.last().map(|r| r.line).unwrap_or(0)
}

// ------------------------------------------------------------------ export

/// One JSON line of a home's summary fields (no personal data), in a fixed
/// field order.
fn home_json(h: &Home) -> String {
    let text = |s: &str| serde_json::Value::from(s).to_string();
    let list = |xs: &[String]| serde_json::Value::from(xs.to_vec()).to_string();
    let name = |s: &'static str, prefix: &str| s.strip_prefix(prefix).unwrap_or(s);
    format!(
        "{{\"id\":{},\"type\":{},\"status\":{},\"municipality_code\":{},\"capacity\":{},\"placed_count\":{},\"languages\":{},\"competences\":{}}}",
        text(&h.id),
        text(name(
            HomeType::try_from(h.home_type)
                .unwrap_or_default()
                .as_str_name(),
            "HOME_TYPE_"
        )),
        text(name(
            HomeStatus::try_from(h.status)
                .unwrap_or_default()
                .as_str_name(),
            "HOME_STATUS_"
        )),
        text(&h.municipality_code),
        h.capacity,
        h.placed_count,
        list(&h.languages),
        list(&h.competences),
    )
}

/// A file written as `<name>.partial` and renamed into place when complete,
/// readable by the owner only (it may hold personal data).
struct OutFile {
    tmp: PathBuf,
    dest: PathBuf,
}

impl OutFile {
    fn create(dest: &Path) -> anyhow::Result<(Self, std::fs::File)> {
        let mut name = dest
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".partial");
        let tmp = dest.with_file_name(name);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let f = opts
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        Ok((
            OutFile {
                tmp,
                dest: dest.to_path_buf(),
            },
            f,
        ))
    }

    fn commit(self) -> anyhow::Result<()> {
        std::fs::rename(&self.tmp, &self.dest)
            .with_context(|| format!("renaming to {}", self.dest.display()))
    }

    fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

pub async fn export(cfg: &Config, conn: &Connection, cmd: ExportCommand) -> anyhow::Result<()> {
    let ExportCommand::Homes {
        municipality,
        format,
        out,
    } = cmd;
    if format == ExportFormat::Csv && out.is_none() {
        anyhow::bail!(
            "a CSV export holds personnummer: name the file with --out FILE (or use --format jsonl)"
        );
    }
    let started = Instant::now();
    // The stream's deadline covers the whole export.
    let mut client = conn
        .registry(cfg)
        .await?
        .with_timeout(Duration::from_secs(3600));
    let req = client.request(ExportHomesRequest {
        municipality_code: municipality.unwrap_or_default(),
    });
    let mut stream = client
        .raw()
        .export_homes(req)
        .await
        .context("starting the export")?
        .into_inner();

    let (file, sink): (Option<OutFile>, Box<dyn Write>) = match &out {
        Some(path) => {
            let (f, file) = OutFile::create(path)?;
            (Some(f), Box::new(std::io::BufWriter::new(file)))
        }
        None => (
            None,
            Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        ),
    };
    let result = write_export(&mut stream, format, sink).await;
    match (result, file) {
        (Ok(stats), Some(f)) => {
            f.commit()?;
            eprintln!(
                "exported {} home(s) ({} without address: protected identity) to {} in {:.2} s",
                stats.0,
                stats.1,
                out.as_deref()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        (Ok(stats), None) => {
            eprintln!(
                "exported {} home(s) in {:.2} s",
                stats.0,
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        (Err(e), f) => {
            if let Some(f) = f {
                f.abandon();
            }
            Err(e)
        }
    }
}

/// Write the stream; returns (homes, homes without an address).
async fn write_export(
    stream: &mut tonic::Streaming<Home>,
    format: ExportFormat,
    mut sink: Box<dyn Write>,
) -> anyhow::Result<(u64, u64)> {
    let mut count = 0u64;
    let mut withheld = 0u64;
    match format {
        ExportFormat::Csv => {
            let mut w = HomesCsvWriter::new(sink)?;
            while let Some(h) = stream
                .message()
                .await
                .context("reading the export stream")?
            {
                count += 1;
                withheld += u64::from(h.address.is_none());
                w.write(&h)?;
            }
            w.finish()?.flush()?;
        }
        ExportFormat::Jsonl => {
            while let Some(h) = stream
                .message()
                .await
                .context("reading the export stream")?
            {
                count += 1;
                withheld += u64::from(h.address.is_none());
                writeln!(sink, "{}", home_json(&h))?;
            }
            sink.flush()?;
        }
    }
    Ok((count, withheld))
}

// --------------------------------------------------------------- seed-demo

pub async fn seed_demo(cfg: &Config, conn: &Connection, args: SeedArgs) -> anyhow::Result<()> {
    const MAX: usize = 1_000_000;
    anyhow::ensure!(
        args.homes <= MAX && args.children <= MAX,
        "--homes and --children are at most {MAX}"
    );
    let map = serve::region_map(cfg)?;
    let region = match &conn.region {
        Some(r) => map
            .parse_region(r)
            .with_context(|| format!("--region {r}"))?,
        None => map
            .regions()
            .first()
            .map(|r| r.id.clone())
            .ok_or_else(|| anyhow::anyhow!("the region map is empty"))?,
    };
    let mut client = conn.registry(cfg).await?;
    let opts = DemoOptions {
        region: region.clone(),
        homes: args.homes,
        children: args.children,
        seed: args.seed,
    };
    println!(
        "loading demo data into region {region}: {} homes, {} children, seed {} (synthetic people only)",
        opts.homes, opts.children, opts.seed
    );
    let started = Instant::now();
    let summary = demo::load(&mut client, &opts).await?;
    println!("{summary}");
    println!("elapsed: {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn batch_ids_are_stable_and_distinct() {
        let h = fnv1a64(b"home_type,provider\n");
        assert_eq!(batch_request_id(h, 1000, 0), batch_request_id(h, 1000, 0));
        assert_ne!(batch_request_id(h, 1000, 0), batch_request_id(h, 1000, 1));
        assert_ne!(batch_request_id(h, 1000, 0), batch_request_id(h, 500, 0));
        assert!(batch_request_id(h, 5000, 99999).len() <= 128);
    }

    #[test]
    fn server_errors_name_the_csv_column() {
        let e = server_row_error(RowError {
            line: 7,
            field: String::new(),
            message: "draft.agency_id: is not a valid id (UUID)".into(),
        });
        assert_eq!(
            (e.field.as_str(), e.message.as_str()),
            ("agency_id", "is not a valid id (UUID)")
        );
        let e = server_row_error(RowError {
            line: 7,
            field: "draft.members[1].personnummer".into(),
            message: "appears twice in the household".into(),
        });
        assert_eq!(e.field, "carer2_personnummer");
    }

    #[test]
    fn the_json_line_has_the_summary_fields_and_no_personal_data() {
        let h = Home {
            id: "h1".into(),
            home_type: HomeType::FamilyHome as i32,
            status: HomeStatus::Approved as i32,
            municipality_code: "0180".into(),
            capacity: 2,
            languages: vec!["svenska".into(), "\"quoted\"".into()],
            members: vec![samling_proto::registry::v1::HouseholdMember {
                personnummer: "198005171239".into(),
                given_name: "Anna".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let line = home_json(&h);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["type"], "FAMILY_HOME");
        assert_eq!(v["status"], "APPROVED");
        assert_eq!(v["languages"][1], "\"quoted\"");
        assert!(!line.contains("1980") && !line.contains("Anna"));
    }
}
