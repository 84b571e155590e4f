//! `samling import state-grants FILE` (issue 21 §4c, ADR 0048): a
//! historical state grant ledger as CSV — `year,municipality,granted_kr` or
//! `from_year,to_year,municipality,unused_kr` — with municipalities by code
//! or by name as printed, resolved against the 290 reference
//! municipalities. Nothing is imported unless every row is good and every
//! name resolves (or `--skip-unresolved`); the ledger's values are set, not
//! added, so a re-import changes nothing. Prints the stored per-year totals.

use super::Connection;
use anyhow::Context;
use samling_compensation::domain::ledger_csv::{self, Shape};
use samling_kit::config::Config;
use samling_proto::compensation::v1::{GrantAvailable, ImportStateGrantsRequest};
use std::path::Path;

/// `YEAR=KRONOR`, e.g. `2021=248500000`.
pub fn parse_available(text: &str) -> Result<GrantAvailable, String> {
    let (y, kr) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected YEAR=KRONOR"))?;
    let year = y
        .trim()
        .parse::<i32>()
        .map_err(|_| format!("`{text}`: the year is not a number"))?;
    let available_kr = ledger_csv::kronor(kr)
        .ok_or_else(|| format!("`{text}`: the amount is not whole kronor"))?;
    Ok(GrantAvailable { year, available_kr })
}

/// The FNV-1a content hash (as `import homes`): the same file and options
/// give the same request id, so a retried import is answered from the first.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub async fn import_state_grants(
    cfg: &Config,
    conn: &Connection,
    file: &Path,
    skip_unresolved: bool,
    decisions_only: bool,
    available: Vec<GrantAvailable>,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let parsed = ledger_csv::parse(&bytes);
    for e in &parsed.errors {
        println!("line {}: {}: {}", e.line, e.column, e.message);
    }
    for u in &parsed.unresolved {
        let suggestions: Vec<String> = u
            .suggestions
            .iter()
            .map(|m| format!("{} {}", m.as_str(), m.name()))
            .collect();
        println!(
            "line {}: municipality: `{}` is not a municipality; closest: {}",
            u.line,
            u.text,
            suggestions.join(", ")
        );
    }
    anyhow::ensure!(
        parsed.errors.is_empty(),
        "{}: {} bad row(s); nothing was imported",
        file.display(),
        parsed.errors.len()
    );
    anyhow::ensure!(
        parsed.unresolved.is_empty() || skip_unresolved,
        "{}: {} municipality name(s) did not resolve; nothing was imported (correct them, or --skip-unresolved)",
        file.display(),
        parsed.unresolved.len()
    );
    let shape = parsed.shape.context("no shape")?;
    let mut hash_input = bytes.clone();
    hash_input.extend(format!("{skip_unresolved}{decisions_only}{available:?}").as_bytes());
    let req = ImportStateGrantsRequest {
        request_id: format!("import-state-grants-{:016x}", fnv1a64(&hash_input)),
        available,
        granted: parsed.granted,
        unused: parsed.unused,
        decisions_only,
    };
    let mut client = conn.compensation(cfg).await?;
    let request = client.request(req);
    let resp = client
        .raw()
        .import_state_grants(request)
        .await
        .map_err(|s| anyhow::anyhow!("import refused: {}", s.message()))?
        .into_inner();
    println!(
        "{}: {} row(s) read, {} skipped (unresolved); {} changed, {} unchanged",
        file.display(),
        parsed.records,
        parsed.unresolved.len(),
        resp.changed,
        resp.unchanged
    );
    for y in &resp.years {
        let available = if y.available_kr > 0 {
            format!(
                ", available {} kr, difference {} kr",
                y.available_kr,
                y.granted_kr - y.available_kr
            )
        } else {
            String::new()
        };
        println!(
            "year {}: granted {} kr to {} municipalities{available}",
            y.year, y.granted_kr, y.municipalities
        );
    }
    if shape == Shape::Unused {
        for p in &resp.periods {
            println!(
                "period {}–{}: unused {} kr in {} municipalities",
                p.from_year, p.to_year, p.unused_kr, p.municipalities
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_arguments() {
        let a = parse_available("2021=248 500 000").unwrap();
        assert_eq!((a.year, a.available_kr), (2021, 248_500_000));
        assert!(parse_available("2021").is_err());
        assert!(parse_available("x=1").is_err());
        assert!(parse_available("2021=1.5").is_err());
    }
}
