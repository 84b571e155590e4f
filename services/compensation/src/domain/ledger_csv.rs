//! The state grant ledger's CSV files (`samling import state-grants`): two
//! shapes, told apart by the header —
//! `year,municipality,granted_kr` and
//! `from_year,to_year,municipality,unused_kr` — with `municipality` a code
//! or a printed name (resolved by `names`, rules N1/N2). Amounts are whole
//! kronor; spaces as thousands separators are allowed ("556 745") and "-"
//! is 0 (as printed in seed 002's appendix 1). Pure: bytes in, rows and
//! errors (naming line and column) out.

use super::ledger::MAX_KR;
use super::names::{Resolved, resolve};
use samling_kit::reference::MunicipalityCode;
use samling_proto::compensation::v1::{GrantedRow, UnusedRow};

/// Which table a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Granted,
    Unused,
}

/// A bad cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub line: u32,
    pub column: String,
    pub message: String,
}

/// A municipality that did not resolve, with the closest suggestions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub line: u32,
    pub text: String,
    pub suggestions: Vec<MunicipalityCode>,
}

#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub shape: Option<Shape>,
    pub granted: Vec<GrantedRow>,
    pub unused: Vec<UnusedRow>,
    pub errors: Vec<CellError>,
    pub unresolved: Vec<Unresolved>,
    /// Data rows read (excluding blank lines).
    pub records: u32,
}

const GRANTED: [&str; 3] = ["year", "municipality", "granted_kr"];
const UNUSED: [&str; 4] = ["from_year", "to_year", "municipality", "unused_kr"];

/// Parse one file. A row whose municipality does not resolve is left out
/// and listed in `unresolved`; bad cells are listed in `errors`.
pub fn parse(bytes: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(e) => {
            out.errors.push(CellError {
                line: 1,
                column: "-".into(),
                message: format!("not readable as CSV: {e}"),
            });
            return out;
        }
    };
    let shape = if header == GRANTED {
        Shape::Granted
    } else if header == UNUSED {
        Shape::Unused
    } else {
        out.errors.push(CellError {
            line: 1,
            column: "-".into(),
            message: format!(
                "the header must be `{}` or `{}`",
                GRANTED.join(","),
                UNUSED.join(",")
            ),
        });
        return out;
    };
    out.shape = Some(shape);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as u32).unwrap_or(0);
                out.errors.push(CellError {
                    line,
                    column: "-".into(),
                    message: format!("not readable as CSV: {e}"),
                });
                continue;
            }
        };
        // The file's own line (blank lines counted), from the byte offset.
        let line = record
            .position()
            .map(|p| line_at(bytes, p.byte()))
            .unwrap_or(0);
        if record.iter().all(|c| c.is_empty()) {
            continue;
        }
        out.records += 1;
        if record.len() != header.len() {
            out.errors.push(CellError {
                line,
                column: "-".into(),
                message: format!("has {} fields, the header {}", record.len(), header.len()),
            });
            continue;
        }
        let mut bad = |column: &str, message: String| {
            out.errors.push(CellError {
                line,
                column: column.into(),
                message,
            });
        };
        let cell = |name: &str| {
            let i = header.iter().position(|h| h == name).unwrap_or(0);
            record.get(i).unwrap_or("").to_string()
        };
        let year = |name: &str, bad: &mut dyn FnMut(&str, String)| -> Option<i32> {
            match cell(name).parse::<i32>() {
                Ok(y) if (2000..=2200).contains(&y) => Some(y),
                _ => {
                    bad(name, format!("`{}` is not a year 2000–2200", cell(name)));
                    None
                }
            }
        };
        let amount = |name: &str, bad: &mut dyn FnMut(&str, String)| -> Option<i64> {
            let text = cell(name);
            match kronor(&text) {
                Some(v) => Some(v),
                None => {
                    bad(
                        name,
                        format!("`{text}` is not whole kronor 0–{MAX_KR} (e.g. 556745 or 556 745)"),
                    );
                    None
                }
            }
        };
        let municipality_text = cell("municipality");
        let resolved = resolve(&municipality_text);
        match shape {
            Shape::Granted => {
                let y = year("year", &mut bad);
                let a = amount("granted_kr", &mut bad);
                if let (Some(year), Some(granted_kr)) = (y, a) {
                    match resolved {
                        Resolved::Found(m) => out.granted.push(GrantedRow {
                            line,
                            year,
                            municipality_code: m.as_str().to_string(),
                            granted_kr,
                        }),
                        Resolved::Unresolved { suggestions } => out.unresolved.push(Unresolved {
                            line,
                            text: municipality_text,
                            suggestions,
                        }),
                    }
                }
            }
            Shape::Unused => {
                let f = year("from_year", &mut bad);
                let t = year("to_year", &mut bad);
                let a = amount("unused_kr", &mut bad);
                if let (Some(from), Some(to)) = (f, t)
                    && to < from
                {
                    bad("to_year", format!("{to} is before from_year {from}"));
                    continue;
                }
                if let (Some(from_year), Some(to_year), Some(unused_kr)) = (f, t, a) {
                    match resolved {
                        Resolved::Found(m) => out.unused.push(UnusedRow {
                            line,
                            from_year,
                            to_year,
                            municipality_code: m.as_str().to_string(),
                            unused_kr,
                        }),
                        Resolved::Unresolved { suggestions } => out.unresolved.push(Unresolved {
                            line,
                            text: municipality_text,
                            suggestions,
                        }),
                    }
                }
            }
        }
    }
    duplicates(&mut out);
    out
}

/// The same year (or period) and municipality twice: the later line is an
/// error naming the first.
fn duplicates(out: &mut Parsed) {
    let mut seen = std::collections::HashMap::new();
    for r in &out.granted {
        if let Some(first) = seen.insert((r.year, 0, r.municipality_code.clone()), r.line) {
            out.errors.push(CellError {
                line: r.line,
                column: "municipality".into(),
                message: format!("{} {} is also on line {first}", r.municipality_code, r.year),
            });
        }
    }
    for r in &out.unused {
        if let Some(first) = seen.insert(
            (r.from_year, r.to_year, r.municipality_code.clone()),
            r.line,
        ) {
            out.errors.push(CellError {
                line: r.line,
                column: "municipality".into(),
                message: format!(
                    "{} {}–{} is also on line {first}",
                    r.municipality_code, r.from_year, r.to_year
                ),
            });
        }
    }
    out.errors.sort_by_key(|e| e.line);
}

/// The line of the record starting at `offset` (the reader's position may
/// be at the blank lines it skipped before it).
fn line_at(bytes: &[u8], offset: u64) -> u32 {
    let mut end = (offset as usize).min(bytes.len());
    while end < bytes.len() && matches!(bytes[end], b'\n' | b'\r') {
        end += 1;
    }
    1 + bytes[..end].iter().filter(|b| **b == b'\n').count() as u32
}

/// Whole kronor: digits with optional spaces (also no-break spaces) between
/// groups; "-" (as printed for none) is 0.
pub fn kronor(text: &str) -> Option<i64> {
    let t = text.trim();
    if t == "-" || t == "–" {
        return Some(0);
    }
    let digits: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 12 {
        return None;
    }
    digits.parse::<i64>().ok().filter(|v| *v <= MAX_KR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_granted_shape_with_printed_names_and_codes() {
        let p = parse(
            "year,municipality,granted_kr\n2021,Ale kommun,556 745\n2021,Bor ås stad,843303\n\n2022,0180,1\n"
                .as_bytes(),
        );
        assert_eq!(p.shape, Some(Shape::Granted));
        assert!(p.errors.is_empty() && p.unresolved.is_empty(), "{p:?}");
        let got: Vec<_> = p
            .granted
            .iter()
            .map(|r| (r.line, r.year, r.municipality_code.as_str(), r.granted_kr))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, 2021, "1440", 556_745),
                (3, 2021, "1490", 843_303),
                (5, 2022, "0180", 1)
            ]
        );
        assert_eq!(p.records, 3);
    }

    #[test]
    fn the_unused_shape_with_quotes_and_dashes() {
        let p = parse(
            "from_year,to_year,municipality,unused_kr\n2021,2023,\"Region Gotland (kommun)\",-\n2021,2023,Upplands-V äsby kommun,151 810\n"
                .as_bytes(),
        );
        assert_eq!(p.shape, Some(Shape::Unused));
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.unused.len(), 2);
        assert_eq!(p.unused[0].municipality_code, "0980");
        assert_eq!(p.unused[0].unused_kr, 0);
        assert_eq!(p.unused[1].municipality_code, "0114");
        assert_eq!(p.unused[1].unused_kr, 151_810);
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let p = parse(
            "year,municipality,granted_kr\n1999,Ale kommun,5\n2021,Ale kommun,5,5\n2021,Ale kommun,5.50\n2021,Ale kommun,-3\n2021,Ale kommun,7\n2021,Ale,8\n"
                .as_bytes(),
        );
        let got: Vec<_> = p
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "year"),
                (3, "-"),
                (4, "granted_kr"),
                (5, "granted_kr"),
                (7, "municipality")
            ]
        );
        assert!(p.errors[4].message.contains("line 6"), "{:?}", p.errors[4]);
        let p = parse("from_year,to_year,municipality,unused_kr\n2023,2021,Ale,1\n".as_bytes());
        assert_eq!(p.errors[0].column, "to_year");
        let p = parse("år,kommun,belopp\n2021,Ale,1\n".as_bytes());
        assert_eq!((p.errors[0].line, p.shape), (1, None));
    }

    #[test]
    fn unresolved_names_are_listed_with_suggestions_not_rows() {
        let p = parse(
            "year,municipality,granted_kr\n2021,Bengtstors kommun,926090\n2021,Ale kommun,1\n"
                .as_bytes(),
        );
        assert_eq!(p.granted.len(), 1);
        assert_eq!(p.unresolved.len(), 1);
        assert_eq!(p.unresolved[0].line, 2);
        assert_eq!(p.unresolved[0].text, "Bengtstors kommun");
        assert_eq!(p.unresolved[0].suggestions[0].name(), "Bengtsfors");
    }

    #[test]
    fn seed_002_appendix_1_resolves_but_for_four_misprints_and_sums_to_table_1() {
        let p = parse(include_bytes!("../../tests/data/seed002_granted.csv"));
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.records, 870);
        let names: Vec<&str> = p
            .unresolved
            .iter()
            .map(|u| u.text.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(p.unresolved.len(), 12);
        assert_eq!(
            names,
            vec![
                "Bengtstors kommun",
                "Mölnåls stad",
                "Smedjebäckens kommun",
                "Sätters kommun"
            ]
        );
        // With the four misprints corrected every municipality is there
        // once a year, and the years sum to table 1.
        let fixed =
            String::from_utf8(include_bytes!("../../tests/data/seed002_granted.csv").to_vec())
                .unwrap()
                .replace("Bengtstors", "Bengtsfors")
                .replace("Mölnåls", "Mölndals")
                .replace("Smedjebäckens", "Smedjebackens")
                .replace("Sätters", "Säters");
        let p = parse(fixed.as_bytes());
        assert!(
            p.errors.is_empty() && p.unresolved.is_empty(),
            "{:?}",
            p.unresolved
        );
        for (year, total) in [
            (2021, 248_500_000),
            (2022, 248_500_000),
            (2023, 298_500_000),
        ] {
            let rows: Vec<_> = p.granted.iter().filter(|r| r.year == year).collect();
            let codes: std::collections::BTreeSet<_> =
                rows.iter().map(|r| r.municipality_code.as_str()).collect();
            assert_eq!(codes.len(), 290, "{year}");
            assert_eq!(
                rows.iter().map(|r| r.granted_kr).sum::<i64>(),
                total,
                "{year}"
            );
        }
        let p = parse(include_bytes!("../../tests/data/seed002_unused.csv"));
        assert!(p.errors.is_empty());
        assert_eq!(p.unresolved.len(), 4);
        let unresolved_kr: i64 = [346_090, 0, 0, 0].iter().sum();
        assert_eq!(
            p.unused.iter().map(|r| r.unused_kr).sum::<i64>() + unresolved_kr,
            16_436_024
        );
    }

    #[test]
    fn kronor_cells() {
        assert_eq!(kronor("1 682 169"), Some(1_682_169));
        assert_eq!(kronor("1\u{a0}682\u{a0}169"), Some(1_682_169));
        assert_eq!(kronor("-"), Some(0));
        assert_eq!(kronor("0"), Some(0));
        assert_eq!(kronor(""), None);
        assert_eq!(kronor("2 276 733e"), None);
        assert_eq!(kronor("1,5"), None);
        assert_eq!(kronor("999999999999"), None);
    }
}
