//! CSV import and export of homes.
//!
//! The format (UTF-8, comma separated, RFC 4180 quoting, header row
//! required; column order free; missing optional columns allowed; unknown
//! columns are an error):
//!
//! | column | content |
//! |---|---|
//! | `home_type` * | `FAMILY_HOME`, `NETWORK_HOME`, `REINFORCED_FAMILY_HOME`, `EMERGENCY_HOME`, `CONTRACTED_EMERGENCY_HOME`, `MENTOR_FAMILY`, `CONTACT_FAMILY` (any case) |
//! | `provider` * | `PUBLIC` or `AGENCY` |
//! | `agency_id` | the agency's id; required for `AGENCY`, empty for `PUBLIC` |
//! | `municipality_code` * | SCB code, 4 digits |
//! | `street` *, `postal_code` *, `city` * | the address |
//! | `protected_identity` | `true`/`false`/`yes`/`no`/`ja`/`nej`/`1`/`0`; empty = false |
//! | `carer1_given_name` *, `carer1_family_name` *, `carer1_personnummer` * | the first carer |
//! | `carer2_given_name`, `carer2_family_name`, `carer2_personnummer` | a second carer: all three or none |
//! | `languages`, `competences`, `target_groups`, `pets`, `allergies` | `;`-separated lists |
//! | `capacity` | whole number; empty or 0 = the normal maximum |
//! | `willingness` | `;`-separated `EMERGENCY`, `SHORT_TERM`, `LONG_TERM` |
//!
//! (* = required column.) Errors name the 1-based line of the file (the
//! header is line 1) and the CSV column, and never contain a personnummer.
//! [`write_homes_csv`] writes the same columns, so an export imports again;
//! a cell a spreadsheet would run as a formula (starting with `=`, `+`, `-`,
//! `@`, tab or CR) is exported with a `'` in front, which import drops
//! ([`to_csv_cell`], [`from_csv_cell`]);
//! only the first two carers of a household travel in the file, and a home
//! whose address was withheld (protected identity) is exported without it.

use crate::domain::RegistryError;
use crate::domain::home::validate_draft;
use chrono::NaiveDate;
use samling_kit::error::ServiceError;
use samling_kit::personnummer::Personnummer;
use samling_kit::reference::MunicipalityCode;
use samling_proto::registry::v1::{
    Address, Home, HomeDraft, HomeType, ImportRow, MemberDraft, MemberRole, ProviderKind, RowError,
    Willingness,
};
use std::io::{Read, Write};

/// The columns, in the order [`write_homes_csv`] writes them.
pub const COLUMNS: [&str; 21] = [
    "home_type",
    "provider",
    "agency_id",
    "municipality_code",
    "street",
    "postal_code",
    "city",
    "protected_identity",
    "carer1_given_name",
    "carer1_family_name",
    "carer1_personnummer",
    "carer2_given_name",
    "carer2_family_name",
    "carer2_personnummer",
    "languages",
    "competences",
    "target_groups",
    "pets",
    "allergies",
    "capacity",
    "willingness",
];

/// Columns a file must have.
pub const REQUIRED_COLUMNS: [&str; 9] = [
    "home_type",
    "provider",
    "municipality_code",
    "street",
    "postal_code",
    "city",
    "carer1_given_name",
    "carer1_family_name",
    "carer1_personnummer",
];

/// The `field` of errors about the row as a whole (e.g. a wrong field count).
pub const ROW_FIELD: &str = "row";
/// The `field` of errors about the header that name no single column.
pub const HEADER_FIELD: &str = "header";

/// What [`parse_homes_csv`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedHomes {
    /// Rows that parsed and passed validation, normalised, with their line.
    pub rows: Vec<ImportRow>,
    /// Every problem found, in file order; a row with an error is not in `rows`.
    pub errors: Vec<RowError>,
    /// Data records read (blank records not counted): the rows plus the
    /// rejected ones. 0 when the header was unusable.
    pub records: u32,
}

impl ParsedHomes {
    /// Whether the header was unusable (then no row was read).
    pub fn header_rejected(&self) -> bool {
        self.records == 0 && !self.errors.is_empty()
    }
}

/// One column; the discriminant is the index into [`COLUMNS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    HomeType,
    Provider,
    AgencyId,
    MunicipalityCode,
    Street,
    PostalCode,
    City,
    ProtectedIdentity,
    Carer1GivenName,
    Carer1FamilyName,
    Carer1Personnummer,
    Carer2GivenName,
    Carer2FamilyName,
    Carer2Personnummer,
    Languages,
    Competences,
    TargetGroups,
    Pets,
    Allergies,
    Capacity,
    Willingness,
}

const ALL: [Col; 21] = [
    Col::HomeType,
    Col::Provider,
    Col::AgencyId,
    Col::MunicipalityCode,
    Col::Street,
    Col::PostalCode,
    Col::City,
    Col::ProtectedIdentity,
    Col::Carer1GivenName,
    Col::Carer1FamilyName,
    Col::Carer1Personnummer,
    Col::Carer2GivenName,
    Col::Carer2FamilyName,
    Col::Carer2Personnummer,
    Col::Languages,
    Col::Competences,
    Col::TargetGroups,
    Col::Pets,
    Col::Allergies,
    Col::Capacity,
    Col::Willingness,
];

impl Col {
    fn name(self) -> &'static str {
        COLUMNS.get(self as usize).copied().unwrap_or("")
    }

    fn by_name(name: &str) -> Option<Col> {
        ALL.iter().copied().find(|c| c.name() == name)
    }
}

/// Parse a homes CSV file (see the module docs), validating every row as the
/// registry will (`validate_draft` as of today). Never panics; malformed
/// input becomes [`RowError`]s and parsing goes on with the next record.
pub fn parse_homes_csv<R: Read>(input: R) -> ParsedHomes {
    parse_homes_csv_on(input, samling_kit::dates::today())
}

/// [`parse_homes_csv`] with an explicit "today" (age and future-date checks).
pub fn parse_homes_csv_on<R: Read>(mut input: R, today: NaiveDate) -> ParsedHomes {
    let mut out = ParsedHomes::default();
    // Buffered whole: line numbers are counted on the bytes themselves (the
    // csv crate's positions count from where it started reading, which is
    // before any blank lines and half of a CRLF).
    let mut bytes = Vec::new();
    let read_failed = input.read_to_end(&mut bytes).err();
    let mut lines = LineCounter::new(&bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut record = csv::ByteRecord::new();

    // The header: the first non-blank record.
    let header = loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break None,
            Ok(true) if is_blank(&record) => continue,
            Ok(true) => break Some(lines.line_of(&record)),
            Err(_) => break None,
        }
    };
    let Some(header_line) = header else {
        out.errors.push(RowError {
            line: 1,
            field: HEADER_FIELD.into(),
            message: match read_failed {
                Some(e) => format!("cannot read the file: {}", e.kind()),
                None => "the file is empty; a header row is required".into(),
            },
        });
        return out;
    };
    let (positions, width) = match parse_header(header_line, &record) {
        Ok(positions) => (positions, record.len()),
        Err(errors) => {
            out.errors = errors;
            return out;
        }
    };

    let mut last_line = header_line;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) if is_blank(&record) => continue,
            Ok(true) => {
                let line = lines.line_of(&record);
                last_line = line;
                out.records = out.records.saturating_add(1);
                if record.len() != width {
                    out.errors.push(RowError {
                        line,
                        field: ROW_FIELD.into(),
                        message: format!("has {} fields; the header has {width}", record.len()),
                    });
                    continue;
                }
                match parse_row(line, &record, &positions, today) {
                    Ok(draft) => out.rows.push(ImportRow {
                        line,
                        draft: Some(draft),
                    }),
                    Err(errors) => out.errors.extend(errors),
                }
            }
            Err(e) => {
                // Records are read as bytes and flexibly, so this is not
                // expected; the reader is not trusted to go on after it.
                out.errors.push(read_error(last_line.saturating_add(1), &e));
                break;
            }
        }
    }
    if let Some(e) = read_failed {
        out.errors.push(RowError {
            line: last_line.saturating_add(1),
            field: ROW_FIELD.into(),
            message: format!("cannot read the rest of the file: {}", e.kind()),
        });
    }
    out
}

/// 1-based line numbers of byte offsets, counted forwards (offsets only
/// grow). `\n`, `\r\n` and a lone `\r` each end a line, as for the csv reader.
struct LineCounter<'a> {
    bytes: &'a [u8],
    at: usize,
    line: u32,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            at: 0,
            line: 1,
        }
    }

    /// The line a record starts on: its position is where the reader began,
    /// so line terminators (blank lines) from there on are skipped first.
    fn line_of(&mut self, record: &csv::ByteRecord) -> u32 {
        let mut start = record
            .position()
            .and_then(|p| usize::try_from(p.byte()).ok())
            .unwrap_or(self.at)
            .max(self.at);
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        while self.at < start {
            match self.bytes.get(self.at) {
                Some(b'\n') => self.line = self.line.saturating_add(1),
                Some(b'\r') if self.bytes.get(self.at + 1) != Some(&b'\n') => {
                    self.line = self.line.saturating_add(1)
                }
                None => break,
                _ => {}
            }
            self.at += 1;
        }
        self.line
    }
}

/// A record with nothing but whitespace in it (e.g. `,,,` from a spreadsheet).
fn is_blank(record: &csv::ByteRecord) -> bool {
    record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
}

fn read_error(line: u32, e: &csv::Error) -> RowError {
    let line = e
        .position()
        .map(|p| u32::try_from(p.line()).unwrap_or(u32::MAX))
        .unwrap_or(line);
    let message = match e.kind() {
        csv::ErrorKind::Io(io) => format!("cannot read the file: {}", io.kind()),
        _ => "the file is not valid CSV here".to_string(),
    };
    RowError {
        line,
        field: ROW_FIELD.into(),
        message,
    }
}

/// Column positions by [`Col`] index, or every header problem found.
fn parse_header(line: u32, record: &csv::ByteRecord) -> Result<Vec<Option<usize>>, Vec<RowError>> {
    let mut errors = Vec::new();
    let mut positions: Vec<Option<usize>> = vec![None; ALL.len()];
    for (i, raw) in record.iter().enumerate() {
        let n = i + 1;
        let Ok(name) = std::str::from_utf8(raw) else {
            errors.push(RowError {
                line,
                field: HEADER_FIELD.into(),
                message: format!("column {n}: the name is not valid UTF-8"),
            });
            continue;
        };
        let name = if i == 0 {
            name.trim_start_matches('\u{feff}')
        } else {
            name
        }
        .trim();
        if name.is_empty() {
            errors.push(RowError {
                line,
                field: HEADER_FIELD.into(),
                message: format!("column {n} has no name"),
            });
            continue;
        }
        match Col::by_name(name) {
            None => errors.push(RowError {
                line,
                // The name is the user's text: shorten it and keep numbers out.
                field: scrub(&name.chars().take(64).collect::<String>()),
                message: format!(
                    "unknown column (column {n}); known columns: {}",
                    COLUMNS.join(", ")
                ),
            }),
            Some(col) => {
                if let Some(slot) = positions.get_mut(col as usize) {
                    if slot.is_some() {
                        errors.push(RowError {
                            line,
                            field: col.name().into(),
                            message: format!("the column appears twice (again in column {n})"),
                        });
                    } else {
                        *slot = Some(i);
                    }
                }
            }
        }
    }
    for required in REQUIRED_COLUMNS {
        let present = Col::by_name(required)
            .and_then(|c| positions.get(c as usize).copied().flatten())
            .is_some();
        if !present {
            errors.push(RowError {
                line,
                field: required.into(),
                message: "required column is missing".into(),
            });
        }
    }
    if errors.is_empty() {
        Ok(positions)
    } else {
        Err(errors)
    }
}

/// The decoded fields of one record, by column.
struct Fields {
    values: Vec<String>,
}

impl Fields {
    fn get(&self, col: Col) -> &str {
        self.values
            .get(col as usize)
            .map(|s| s.trim())
            .unwrap_or("")
    }
}

struct RowErrors {
    line: u32,
    errors: Vec<RowError>,
}

impl RowErrors {
    /// Record an error for a column; only the first error of a column is kept.
    fn push(&mut self, col: Col, message: impl Into<String>) {
        if self.errors.iter().any(|e| e.field == col.name()) {
            return;
        }
        self.errors.push(RowError {
            line: self.line,
            field: col.name().into(),
            message: message.into(),
        });
    }
}

fn parse_row(
    line: u32,
    record: &csv::ByteRecord,
    positions: &[Option<usize>],
    today: NaiveDate,
) -> Result<HomeDraft, Vec<RowError>> {
    let mut errs = RowErrors {
        line,
        errors: Vec::new(),
    };
    let mut values = vec![String::new(); ALL.len()];
    for col in ALL {
        let Some(pos) = positions.get(col as usize).copied().flatten() else {
            continue;
        };
        let raw = record.get(pos).unwrap_or_default();
        match std::str::from_utf8(raw) {
            Ok(s) => {
                if let Some(v) = values.get_mut(col as usize) {
                    *v = from_csv_cell(s).to_string();
                }
            }
            Err(_) => errs.push(col, "is not valid UTF-8"),
        }
    }
    let f = Fields { values };

    let home_type = required(&mut errs, &f, Col::HomeType).and_then(|s| {
        let v = enum_value(s, "HOME_TYPE_", HomeType::from_str_name)
            .filter(|t| *t != HomeType::Unspecified);
        if v.is_none() {
            errs.push(
                Col::HomeType,
                "must be one of FAMILY_HOME, NETWORK_HOME, REINFORCED_FAMILY_HOME, EMERGENCY_HOME, \
                 CONTRACTED_EMERGENCY_HOME, MENTOR_FAMILY, CONTACT_FAMILY",
            );
        }
        v
    });
    let provider = required(&mut errs, &f, Col::Provider).and_then(|s| {
        let v = enum_value(s, "PROVIDER_KIND_", ProviderKind::from_str_name)
            .filter(|p| *p != ProviderKind::Unspecified);
        if v.is_none() {
            errs.push(Col::Provider, "must be PUBLIC or AGENCY");
        }
        v
    });
    let municipality = required(&mut errs, &f, Col::MunicipalityCode).and_then(|s| {
        let ok = s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit());
        match MunicipalityCode::parse(s) {
            Ok(m) => Some(m),
            Err(_) if ok => {
                errs.push(Col::MunicipalityCode, "is not a Swedish municipality code");
                None
            }
            Err(_) => {
                errs.push(
                    Col::MunicipalityCode,
                    "must be a 4-digit SCB municipality code",
                );
                None
            }
        }
    });
    for col in [Col::Street, Col::PostalCode, Col::City] {
        required(&mut errs, &f, col);
    }
    let protected_identity = match f.get(Col::ProtectedIdentity).to_lowercase().as_str() {
        "" | "false" | "no" | "nej" | "0" => false,
        "true" | "yes" | "ja" | "1" => true,
        _ => {
            errs.push(
                Col::ProtectedIdentity,
                "must be true or false (yes/no, 1/0)",
            );
            false
        }
    };

    let mut members = Vec::new();
    if let Some(m) = carer(
        &mut errs,
        &f,
        [
            Col::Carer1GivenName,
            Col::Carer1FamilyName,
            Col::Carer1Personnummer,
        ],
        true,
        today,
    ) {
        members.push(m);
    }
    if let Some(m) = carer(
        &mut errs,
        &f,
        [
            Col::Carer2GivenName,
            Col::Carer2FamilyName,
            Col::Carer2Personnummer,
        ],
        false,
        today,
    ) {
        members.push(m);
    }

    let capacity = match f.get(Col::Capacity) {
        "" => 0,
        s => s.parse::<i32>().unwrap_or_else(|_| {
            errs.push(
                Col::Capacity,
                "must be a whole number (empty or 0 = the normal maximum)",
            );
            0
        }),
    };
    let mut willingness = Vec::new();
    for item in list(f.get(Col::Willingness)) {
        match enum_value(&item, "WILLINGNESS_", Willingness::from_str_name)
            .filter(|w| *w != Willingness::Unspecified)
        {
            Some(w) => willingness.push(w as i32),
            None => {
                errs.push(
                    Col::Willingness,
                    "values must be EMERGENCY, SHORT_TERM or LONG_TERM",
                );
                break;
            }
        }
    }

    if !errs.errors.is_empty() {
        return Err(errs.errors);
    }
    let draft = HomeDraft {
        home_type: home_type.map(|t| t as i32).unwrap_or_default(),
        provider: provider.map(|p| p as i32).unwrap_or_default(),
        agency_id: f.get(Col::AgencyId).to_string(),
        municipality_code: municipality
            .map(|m| m.as_str().to_string())
            .unwrap_or_default(),
        address: Some(Address {
            street: f.get(Col::Street).to_string(),
            postal_code: f.get(Col::PostalCode).to_string(),
            city: f.get(Col::City).to_string(),
        }),
        protected_identity,
        members,
        languages: list(f.get(Col::Languages)),
        competences: list(f.get(Col::Competences)),
        target_groups: list(f.get(Col::TargetGroups)),
        capacity,
        pets: list(f.get(Col::Pets)),
        allergies: list(f.get(Col::Allergies)),
        willingness,
        description: String::new(),
    };
    match validate_draft(&draft, true, today) {
        Ok(v) => Ok(v.draft),
        Err(e) => Err(vec![row_error(line, &e)]),
    }
}

/// A required value: reports "is required" when empty.
fn required<'a>(errs: &mut RowErrors, f: &'a Fields, col: Col) -> Option<&'a str> {
    let s = f.get(col);
    if s.is_empty() {
        errs.push(col, "is required");
        None
    } else {
        Some(s)
    }
}

/// An enum value by its name without prefix (any case), or with it.
fn enum_value<T>(s: &str, prefix: &str, from: impl Fn(&str) -> Option<T>) -> Option<T> {
    let upper = s.trim().to_uppercase().replace([' ', '-'], "_");
    if upper.starts_with(prefix) {
        from(&upper)
    } else {
        from(&format!("{prefix}{upper}"))
    }
}

/// A `;`-separated list; empty items are dropped.
fn list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A carer from its three columns. The first carer is required; the second
/// is all three columns or none.
fn carer(
    errs: &mut RowErrors,
    f: &Fields,
    [given, family, pnr]: [Col; 3],
    is_required: bool,
    today: NaiveDate,
) -> Option<MemberDraft> {
    let any = [given, family, pnr].iter().any(|c| !f.get(*c).is_empty());
    if !is_required && !any {
        return None;
    }
    let mut ok = true;
    for col in [given, family, pnr] {
        if f.get(col).is_empty() {
            ok = false;
            errs.push(
                col,
                if is_required {
                    "is required"
                } else {
                    "is required when the other carer2 columns are filled in"
                },
            );
        }
    }
    let pnr_text = f.get(pnr);
    let mut canonical = String::new();
    if !pnr_text.is_empty() {
        match Personnummer::parse_on(pnr_text, today) {
            // PersonnummerError messages never contain the input.
            Err(e) => {
                ok = false;
                errs.push(pnr, e.to_string());
            }
            Ok(p) if p.age_on(today) < 18 => {
                ok = false;
                errs.push(pnr, "a carer must be 18 or older");
            }
            Ok(p) => canonical = p.canonical().to_string(),
        }
    }
    ok.then(|| MemberDraft {
        given_name: f.get(given).to_string(),
        family_name: f.get(family).to_string(),
        personnummer: canonical,
        role: MemberRole::Carer as i32,
    })
}

/// A registry validation error as a [`RowError`] naming the CSV column.
/// Digit runs that could be a personnummer are removed from the message.
pub fn row_error(line: u32, e: &RegistryError) -> RowError {
    let field = e.field().map(column_for_field).unwrap_or_default();
    let message = match e.invalid_field() {
        Some(f) => f.message.clone(),
        None => e.to_string(),
    };
    RowError {
        line,
        field,
        message: scrub(&message),
    }
}

/// The CSV column of a registry field name (`draft.members[0].personnummer`
/// → `carer1_personnummer`, `draft.address.postal_code` → `postal_code`,
/// `draft.languages[2]` → `languages`); other names are returned unchanged.
pub fn column_for_field(field: &str) -> String {
    let f = field.strip_prefix("draft.").unwrap_or(field);
    let mapped = match f {
        "address" | "address.street" => Some("street"),
        "address.postal_code" => Some("postal_code"),
        "address.city" => Some("city"),
        "members" => Some("carer1_personnummer"),
        "members[0].given_name" => Some("carer1_given_name"),
        "members[0].family_name" => Some("carer1_family_name"),
        "members[0].personnummer" | "members[0].role" | "members[0]" => Some("carer1_personnummer"),
        "members[1].given_name" => Some("carer2_given_name"),
        "members[1].family_name" => Some("carer2_family_name"),
        "members[1].personnummer" | "members[1].role" | "members[1]" => Some("carer2_personnummer"),
        _ => {
            // `languages[3]` → `languages`; plain names that are columns stay.
            let base = f.split_once('[').map_or(f, |(b, _)| b);
            COLUMNS.iter().copied().find(|c| {
                *c == base
                    && !c.starts_with("carer")
                    && !matches!(*c, "street" | "postal_code" | "city")
            })
        }
    };
    mapped.map_or_else(|| field.to_string(), str::to_string)
}

/// Replace runs of 6 or more digits (separators `-`, `+`, space allowed
/// between them) by `…`: error text must never carry a personnummer.
pub fn scrub(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars.get(i).copied().unwrap_or(' ');
        if !c.is_ascii_digit() {
            out.push(c);
            i += 1;
            continue;
        }
        // Extend over digits and single separators followed by a digit.
        let mut j = i;
        let mut digits = 0;
        while let Some(&d) = chars.get(j) {
            if d.is_ascii_digit() {
                digits += 1;
                j += 1;
            } else if matches!(d, '-' | '+' | ' ')
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            {
                j += 1;
            } else {
                break;
            }
        }
        if digits >= 6 {
            out.push('…');
        } else {
            out.extend(chars.get(i..j).unwrap_or_default());
        }
        i = j.max(i + 1);
    }
    out
}

// ------------------------------------------------------------------ export

/// An enum's name without its prefix; empty for UNSPECIFIED.
fn enum_text(name: &str, prefix: &str) -> String {
    match name.strip_prefix(prefix) {
        Some("UNSPECIFIED") | None => String::new(),
        Some(s) => s.to_string(),
    }
}

/// The first two carers of a home.
fn carers(h: &Home) -> impl Iterator<Item = &samling_proto::registry::v1::HouseholdMember> {
    h.members
        .iter()
        .filter(|m| m.role == MemberRole::Carer as i32)
        .take(2)
}

/// One CSV record of a home, in [`COLUMNS`] order.
pub fn home_record(h: &Home) -> Vec<String> {
    let address = h.address.clone().unwrap_or_default();
    let mut carer_cols: Vec<String> = Vec::with_capacity(6);
    for m in carers(h) {
        carer_cols.extend([
            m.given_name.clone(),
            m.family_name.clone(),
            m.personnummer.clone(),
        ]);
    }
    carer_cols.resize(6, String::new());
    let willingness: Vec<String> = h
        .willingness
        .iter()
        .map(|w| {
            enum_text(
                Willingness::try_from(*w).unwrap_or_default().as_str_name(),
                "WILLINGNESS_",
            )
        })
        .filter(|s| !s.is_empty())
        .collect();
    let mut rec = vec![
        enum_text(
            HomeType::try_from(h.home_type)
                .unwrap_or_default()
                .as_str_name(),
            "HOME_TYPE_",
        ),
        enum_text(
            ProviderKind::try_from(h.provider)
                .unwrap_or_default()
                .as_str_name(),
            "PROVIDER_KIND_",
        ),
        h.agency_id.clone(),
        h.municipality_code.clone(),
        address.street,
        address.postal_code,
        address.city,
        h.protected_identity.to_string(),
    ];
    rec.extend(carer_cols);
    rec.extend([
        h.languages.join(";"),
        h.competences.join(";"),
        h.target_groups.join(";"),
        h.pets.join(";"),
        h.allergies.join(";"),
        h.capacity.to_string(),
        willingness.join(";"),
    ]);
    rec
}

/// The draft a home's exported row imports as: its profile and its first two
/// carers.
pub fn draft_of(h: &Home) -> HomeDraft {
    HomeDraft {
        home_type: h.home_type,
        provider: h.provider,
        agency_id: h.agency_id.clone(),
        municipality_code: h.municipality_code.clone(),
        address: h.address.clone(),
        protected_identity: h.protected_identity,
        members: carers(h)
            .map(|m| MemberDraft {
                given_name: m.given_name.clone(),
                family_name: m.family_name.clone(),
                personnummer: m.personnummer.clone(),
                role: m.role,
            })
            .collect(),
        languages: h.languages.clone(),
        competences: h.competences.clone(),
        target_groups: h.target_groups.clone(),
        capacity: h.capacity,
        pets: h.pets.clone(),
        allergies: h.allergies.clone(),
        description: h.description.clone(),
        willingness: h.willingness.clone(),
    }
}

/// Characters that make a spreadsheet read a cell as a formula (OWASP CSV
/// injection): `=`, `+`, `-`, `@`, and tab and CR, which some programs skip
/// before looking for one.
fn starts_formula(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// A value as written to a CSV cell: one that a spreadsheet would take for a
/// formula gets a `'` in front (OWASP), and so does one that already starts
/// with `'`, so that [`from_csv_cell`] gives back exactly the value.
pub fn to_csv_cell(value: String) -> String {
    if starts_formula(&value) || value.starts_with('\'') {
        format!("'{value}")
    } else {
        value
    }
}

/// A CSV cell's value on import: one `'` in front of a formula character or
/// of another `'` is [`to_csv_cell`]'s and is dropped; any other text is kept
/// as written (`'s-Hertogenbosch` stays).
pub fn from_csv_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if starts_formula(rest) || rest.starts_with('\'') => rest,
        _ => cell,
    }
}

/// A CSV writer of homes that writes as it goes (for streamed exports).
pub struct HomesCsvWriter<W: Write> {
    inner: csv::Writer<W>,
}

impl<W: Write> HomesCsvWriter<W> {
    /// Writes the header row.
    pub fn new(out: W) -> Result<Self, csv::Error> {
        let mut inner = csv::Writer::from_writer(out);
        inner.write_record(COLUMNS)?;
        Ok(HomesCsvWriter { inner })
    }

    pub fn write(&mut self, home: &Home) -> Result<(), csv::Error> {
        self.inner
            .write_record(home_record(home).into_iter().map(to_csv_cell))
    }

    /// Flush and hand back the output.
    pub fn finish(mut self) -> Result<W, csv::Error> {
        self.inner.flush()?;
        self.inner.into_inner().map_err(|e| {
            csv::Error::from(std::io::Error::new(e.error().kind(), e.error().to_string()))
        })
    }
}

/// Write homes as CSV in the import format (header first).
pub fn write_homes_csv<W: Write>(out: W, homes: &[Home]) -> Result<(), csv::Error> {
    let mut w = HomesCsvWriter::new(out)?;
    for h in homes {
        w.write(h)?;
    }
    w.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::home::new_home;
    use proptest::prelude::*;
    use samling_kit::personnummer::luhn_check_digit;
    use samling_kit::reference::RegionMap;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn parse(s: &str) -> ParsedHomes {
        parse_homes_csv_on(s.as_bytes(), today())
    }

    /// A valid personnummer (12 digits) for a birth date and serial.
    fn pnr(y: i32, m: u32, d: u32, serial: u32) -> String {
        let ten = format!("{:02}{m:02}{d:02}{:03}", y % 100, serial % 1000);
        let digits: Vec<u8> = ten.bytes().map(|b| b - b'0').collect();
        format!(
            "{y:04}{m:02}{d:02}{:03}{}",
            serial % 1000,
            luhn_check_digit(&digits)
        )
    }

    const HEADER: &str = "home_type,provider,agency_id,municipality_code,street,postal_code,city,protected_identity,\
carer1_given_name,carer1_family_name,carer1_personnummer,carer2_given_name,carer2_family_name,carer2_personnummer,\
languages,competences,target_groups,pets,allergies,capacity,willingness";

    fn row(p1: &str, muni: &str, postal: &str) -> String {
        format!(
            "family_home,PUBLIC,,{muni},Storgatan 1,{postal},Stockholm,no,Anna,Berg,{p1},,,,svenska;Arabiska,npf;trauma,teenage,hund,,0,LONG_TERM;short_term"
        )
    }

    #[test]
    fn a_valid_file_parses_into_normalised_drafts() {
        let p1 = pnr(1980, 5, 17, 123);
        let csv = format!("{HEADER}\n{}\n", row(&p1, "0180", "11122"));
        let parsed = parse(&csv);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.records, 1);
        let r = &parsed.rows[0];
        assert_eq!(r.line, 2);
        let d = r.draft.as_ref().unwrap();
        assert_eq!(d.home_type, HomeType::FamilyHome as i32);
        assert_eq!(d.languages, vec!["arabiska", "svenska"]);
        assert_eq!(d.address.as_ref().unwrap().postal_code, "111 22");
        assert_eq!(d.members.len(), 1);
        assert_eq!(d.members[0].personnummer, p1);
        assert_eq!(
            d.willingness,
            vec![Willingness::ShortTerm as i32, Willingness::LongTerm as i32]
        );
    }

    #[test]
    fn columns_may_come_in_any_order_and_optional_ones_may_be_missing() {
        let p1 = pnr(1975, 1, 2, 456);
        let csv = format!(
            "city,carer1_personnummer,carer1_family_name,carer1_given_name,postal_code,street,municipality_code,provider,home_type\n\
             Uppsala,{p1},Lind,Per,75320,Kungsgatan 3,0380,public,EMERGENCY_HOME\n"
        );
        let parsed = parse(&csv);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(
            parsed.rows[0].draft.as_ref().unwrap().municipality_code,
            "0380"
        );
    }

    #[test]
    fn an_unknown_column_is_named_and_nothing_is_imported() {
        let p1 = pnr(1975, 1, 2, 456);
        let csv = format!("{HEADER},shoe_size\n{},42\n", row(&p1, "0180", "11122"));
        let parsed = parse(&csv);
        assert!(parsed.rows.is_empty());
        assert!(parsed.header_rejected());
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].field, "shoe_size");
        assert_eq!(parsed.errors[0].line, 1);
    }

    #[test]
    fn missing_required_columns_are_each_reported() {
        let parsed = parse("home_type,provider\nFAMILY_HOME,PUBLIC\n");
        let fields: Vec<&str> = parsed.errors.iter().map(|e| e.field.as_str()).collect();
        assert!(
            fields.contains(&"municipality_code") && fields.contains(&"carer1_personnummer"),
            "{fields:?}"
        );
        assert!(parsed.rows.is_empty());
    }

    #[test]
    fn an_empty_file_needs_a_header() {
        let parsed = parse("");
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.rows.is_empty());
    }

    #[test]
    fn a_byte_order_mark_and_blank_records_are_ignored() {
        let p1 = pnr(1980, 5, 17, 123);
        let csv = format!(
            "\u{feff}{HEADER}\n\n{}\n,,,,,,,,,,,,,,,,,,,,\n",
            row(&p1, "0180", "11122")
        );
        let parsed = parse(&csv);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].line, 3);
        assert_eq!(parsed.records, 1);
    }

    #[test]
    fn line_numbers_count_blank_lines_and_any_line_ending() {
        let p1 = pnr(1980, 5, 17, 123);
        let good = row(&p1, "0180", "11122");
        let bad = row(&p1, "0180", "1112");
        for eol in ["\n", "\r\n", "\r"] {
            let csv = [HEADER, "", &good, "", "", &bad, &good, ""].join(eol);
            let parsed = parse(&csv);
            let lines: Vec<u32> = parsed.rows.iter().map(|r| r.line).collect();
            assert_eq!(lines, vec![3, 7], "{eol:?}");
            assert_eq!(
                parsed.errors.iter().map(|e| e.line).collect::<Vec<_>>(),
                vec![6],
                "{eol:?}"
            );
        }
    }

    #[test]
    fn every_field_error_of_a_row_is_reported_with_its_column() {
        let csv = format!(
            "{HEADER}\nCASTLE,STATE,,999,Storgatan 1,11122,Sthlm,maybe,Anna,Berg,19800517-1234,Bo,,,,,,,,many,SOMETIMES\n"
        );
        let parsed = parse(&csv);
        let fields: Vec<&str> = parsed.errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "home_type",
            "provider",
            "municipality_code",
            "protected_identity",
            "carer1_personnummer",
            "carer2_family_name",
            "carer2_personnummer",
            "capacity",
            "willingness",
        ] {
            assert!(fields.contains(&f), "{f} missing in {fields:?}");
        }
        assert!(parsed.errors.iter().all(|e| e.line == 2));
        for e in &parsed.errors {
            assert!(
                !e.message.contains("19800517") && !e.message.contains("1234"),
                "{e:?}"
            );
        }
    }

    #[test]
    fn validation_errors_name_the_csv_column() {
        // Capacity 11 and a duplicated carer are found by validate_draft.
        let p1 = pnr(1980, 5, 17, 123);
        let csv = format!(
            "{HEADER}\nFAMILY_HOME,PUBLIC,,0180,Storgatan 1,11122,Sthlm,,Anna,Berg,{p1},Bo,Berg,{p1},,,,,,11,\n\
             FAMILY_HOME,PUBLIC,,0180,Storgatan 1,11122,Sthlm,,Anna,Berg,{p1},Bo,Berg,{p1},,,,,,,\n\
             FAMILY_HOME,AGENCY,,0180,Storgatan 1,11122,Sthlm,,Anna,Berg,{p1},,,,,,,,,,\n\
             FAMILY_HOME,PUBLIC,,0180,Storgatan 1,11122,Sthlm,,Anna,Berg,{p1},,,,sv!,,,,,,\n\
             FAMILY_HOME,PUBLIC,not-a-uuid,0180,Storgatan 1,11122,Sthlm,,Anna,Berg,{p1},,,,,,,,,,\n"
        );
        let parsed = parse(&csv);
        let got: Vec<(u32, &str)> = parsed
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "capacity"),
                (3, "carer2_personnummer"),
                (4, "agency_id"),
                (5, "languages"),
                (6, "agency_id")
            ]
        );
        assert!(parsed.rows.is_empty());
    }

    #[test]
    fn a_young_carer_is_rejected() {
        let young = pnr(2015, 3, 3, 222);
        let parsed = parse(&format!("{HEADER}\n{}\n", row(&young, "0180", "11122")));
        assert_eq!(parsed.errors[0].field, "carer1_personnummer");
    }

    #[test]
    fn a_wrong_field_count_is_reported_and_parsing_goes_on() {
        let p1 = pnr(1980, 5, 17, 123);
        let csv = format!(
            "{HEADER}\nFAMILY_HOME,PUBLIC\n{}\n",
            row(&p1, "0180", "11122")
        );
        let parsed = parse(&csv);
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(
            (parsed.errors[0].line, parsed.errors[0].field.as_str()),
            (2, ROW_FIELD)
        );
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].line, 3);
    }

    #[test]
    fn bad_utf8_is_reported_for_its_column() {
        let p1 = pnr(1980, 5, 17, 123);
        let mut bytes = format!("{HEADER}\n").into_bytes();
        bytes.extend(
            row(&p1, "0180", "11122")
                .replace("Stockholm", "Stock\u{1}")
                .into_bytes(),
        );
        let pos = bytes.iter().position(|b| *b == 1).unwrap();
        bytes[pos] = 0xff;
        bytes.push(b'\n');
        let parsed = parse_homes_csv_on(bytes.as_slice(), today());
        assert_eq!(parsed.errors.len(), 1);
        assert_eq!(parsed.errors[0].field, "city");
    }

    #[test]
    fn quoted_fields_with_newlines_keep_line_numbers_right() {
        let p1 = pnr(1980, 5, 17, 123);
        let csv = format!(
            "{HEADER}\nFAMILY_HOME,PUBLIC,,0180,\"Storgatan\n1\",11122,Sthlm,,Anna,Berg,{p1},,,,,,,,,,\n{}\n",
            row(&p1, "0180", "1112")
        );
        let parsed = parse(&csv);
        // The newline is a control character in the street: line 2.
        assert_eq!(
            parsed
                .errors
                .iter()
                .map(|e| (e.line, e.field.as_str()))
                .collect::<Vec<_>>(),
            vec![(2, "street"), (4, "postal_code")]
        );
    }

    #[test]
    fn domain_field_names_map_to_columns() {
        assert_eq!(
            column_for_field("draft.members[0].personnummer"),
            "carer1_personnummer"
        );
        assert_eq!(
            column_for_field("draft.members[1].given_name"),
            "carer2_given_name"
        );
        assert_eq!(column_for_field("draft.address.postal_code"), "postal_code");
        assert_eq!(column_for_field("draft.languages[3]"), "languages");
        assert_eq!(column_for_field("draft.willingness[0]"), "willingness");
        assert_eq!(column_for_field("draft.capacity"), "capacity");
        assert_eq!(
            column_for_field("draft.something_else"),
            "draft.something_else"
        );
        assert_eq!(column_for_field(""), "");
    }

    #[test]
    fn scrub_removes_number_runs_but_keeps_short_numbers() {
        assert_eq!(scrub("bad 19800517-1234 here"), "bad … here");
        assert_eq!(scrub("800517+1234"), "…");
        assert_eq!(scrub("must be 1–10, line 42"), "must be 1–10, line 42");
        assert_eq!(scrub("1234 5"), "1234 5");
        assert_eq!(scrub(""), "");
    }

    /// Issue 17 §2: cells starting with `= + - @` were written verbatim.
    #[test]
    fn formula_cells_are_neutralised_on_export_and_imported_as_they_were() {
        let mut h = home_from(&valid_draft_example());
        let nasty = [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+46701234567",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "'=already quoted",
            "'s-Hertogenbosch",
        ];
        h.languages = nasty.iter().map(|s| s.to_string()).collect();
        h.pets = vec!["=1+1".into()];
        if let Some(a) = h.address.as_mut() {
            a.street = "=cmd|' /C calc'!A0".into();
        }
        let mut out = Vec::new();
        write_homes_csv(&mut out, std::slice::from_ref(&h)).unwrap();
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let rec = reader.records().next().unwrap().unwrap();
        for (i, cell) in rec.iter().enumerate() {
            assert!(
                !starts_formula(cell),
                "column {} exported as a formula: {cell:?}",
                COLUMNS[i]
            );
        }
        let street = COLUMNS.iter().position(|c| *c == "street").unwrap();
        assert_eq!(&rec[street], "'=cmd|' /C calc'!A0");
        // Each value comes back exactly.
        for v in nasty.iter().chain(["=1+1", "plain", ""].iter()) {
            assert_eq!(from_csv_cell(&to_csv_cell(v.to_string())), *v, "{v:?}");
        }
        assert_eq!(from_csv_cell("'s-Hertogenbosch"), "'s-Hertogenbosch");
        // Import: the street (free text) comes back as it was.
        let mut h = home_from(&valid_draft_example());
        if let Some(a) = h.address.as_mut() {
            a.street = "=cmd|' /C calc'!A0".into();
        }
        let mut out = Vec::new();
        write_homes_csv(&mut out, std::slice::from_ref(&h)).unwrap();
        let parsed = parse_homes_csv_on(out.as_slice(), today());
        let street_back = parsed
            .rows
            .first()
            .and_then(|r| r.draft.as_ref())
            .and_then(|d| d.address.as_ref())
            .map(|a| a.street.clone());
        assert_eq!(
            street_back.as_deref(),
            Some("=cmd|' /C calc'!A0"),
            "{:?}",
            parsed.errors
        );
    }

    #[test]
    fn export_writes_the_first_two_carers_and_leaves_a_withheld_address_empty() {
        let mut h = home_from(&valid_draft_example());
        h.members
            .push(samling_proto::registry::v1::HouseholdMember {
                given_name: "Kid".into(),
                family_name: "Berg".into(),
                role: MemberRole::Child as i32,
                ..Default::default()
            });
        h.address = None;
        let mut out = Vec::new();
        write_homes_csv(&mut out, &[h]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), HEADER);
        let rec = lines.next().unwrap();
        assert!(
            rec.starts_with("FAMILY_HOME,PUBLIC,,0180,,,,false,Anna,Berg,"),
            "{rec}"
        );
        assert!(!rec.contains("Kid"));
    }

    fn valid_draft_example() -> HomeDraft {
        let p1 = pnr(1980, 5, 17, 123);
        parse(&format!("{HEADER}\n{}\n", row(&p1, "0180", "11122"))).rows[0]
            .draft
            .clone()
            .unwrap()
    }

    fn home_from(d: &HomeDraft) -> Home {
        let v = validate_draft(d, true, today()).unwrap();
        new_home(
            "01900000-0000-7000-8000-000000000000".into(),
            &v,
            (0..).map(|i| format!("m{i}")),
            RegionMap::default_map(),
            "2026-01-01T00:00:00Z",
        )
    }

    // --------------------------------------------------------- properties

    fn muni_codes() -> Vec<&'static str> {
        samling_kit::reference::municipalities()
            .map(|m| m.as_str())
            .collect()
    }

    prop_compose! {
        fn adult_pnr()(y in 1930i32..2000, m in 1u32..=12, d in 1u32..=28, serial in 0u32..1000) -> String {
            pnr(y, m, d, serial)
        }
    }

    fn tag() -> impl Strategy<Value = String> {
        "[a-zåäö][a-zåäö0-9 _-]{0,20}[a-zåäö0-9]"
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-ZÅÄÖ][a-zåäöé]{1,15}( [A-ZÅÄÖ][a-zåäö]{1,10})?"
    }

    prop_compose! {
        /// A raw draft that is valid: 1–2 carers, any type, public or agency.
        fn valid_draft()(
            home_type in 1i32..=7,
            agency in proptest::option::of(any::<u128>()),
            muni in 0usize..290,
            street in "[A-ZÅÄÖ][a-zåäö]{2,12}(gatan|vägen|stigen) [1-9][0-9]{0,2}[A-C]?",
            postal in 10000u32..99999,
            city in name(),
            protected in any::<bool>(),
            c1 in (name(), name(), adult_pnr()),
            c2 in proptest::option::of((name(), name(), adult_pnr())),
            languages in proptest::collection::vec(tag(), 0..4),
            competences in proptest::collection::vec(tag(), 0..4),
            target_groups in proptest::collection::vec(tag(), 0..3),
            pets in proptest::collection::vec(tag(), 0..3),
            allergies in proptest::collection::vec(tag(), 0..3),
            capacity in 0i32..=10,
            willingness in proptest::collection::vec(1i32..=3, 0..4),
        ) -> HomeDraft {
            let codes = muni_codes();
            let mut members = vec![MemberDraft { given_name: c1.0, family_name: c1.1, personnummer: c1.2.clone(), role: MemberRole::Carer as i32 }];
            if let Some(c2) = c2.filter(|c| c.2 != c1.2) {
                members.push(MemberDraft { given_name: c2.0, family_name: c2.1, personnummer: c2.2, role: MemberRole::Carer as i32 });
            }
            HomeDraft {
                home_type,
                provider: if agency.is_some() { ProviderKind::Agency } else { ProviderKind::Public } as i32,
                agency_id: agency.map(|a| uuid::Uuid::from_u128(a).to_string()).unwrap_or_default(),
                municipality_code: codes[muni % codes.len()].to_string(),
                address: Some(Address { street, postal_code: postal.to_string(), city }),
                protected_identity: protected,
                members,
                languages, competences, target_groups, capacity, pets, allergies, willingness, description: String::new(),
            }
        }
    }

    /// The CSV text of drafts (header + one line per draft), via the exporter.
    fn csv_of(drafts: &[HomeDraft]) -> String {
        let homes: Vec<Home> = drafts.iter().map(home_from).collect();
        let mut out = Vec::new();
        write_homes_csv(&mut out, &homes).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn assert_no_pnr_in_errors(parsed: &ParsedHomes, pnrs: &[&str]) {
        for e in &parsed.errors {
            for p in pnrs {
                let short = p.get(2..).unwrap_or(p);
                assert!(
                    !e.message.contains(short) && !e.field.contains(short),
                    "{e:?}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let parsed = parse_homes_csv_on(bytes.as_slice(), today());
            prop_assert!(parsed.rows.len() as u32 <= parsed.records);
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_header_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut input = format!("{HEADER}\n").into_bytes();
            input.extend(bytes);
            let parsed = parse_homes_csv_on(input.as_slice(), today());
            prop_assert!(parsed.rows.len() as u32 <= parsed.records);
            for e in &parsed.errors {
                prop_assert!(e.line >= 2, "{:?}", e);
            }
        }

        #[test]
        fn csv_structure_noise_never_panics(noise in "[,\"\r\n; a0é\u{0}\u{feff}]{0,300}", d in valid_draft()) {
            let mut input = csv_of(std::slice::from_ref(&d));
            input.push_str(&noise);
            let parsed = parse(&input);
            prop_assert!(parsed.rows.len() as u32 <= parsed.records);
            prop_assert!(!parsed.rows.is_empty() || !parsed.errors.is_empty() || noise.contains('"'));
        }

        #[test]
        fn a_generated_valid_row_parses_and_validates(d in valid_draft()) {
            let csv = csv_of(std::slice::from_ref(&d));
            let parsed = parse(&csv);
            prop_assert!(parsed.errors.is_empty(), "{:?}\n{}", parsed.errors, csv);
            prop_assert_eq!(parsed.rows.len(), 1);
            let got = parsed.rows[0].draft.clone().unwrap();
            prop_assert!(validate_draft(&got, true, today()).is_ok());
            prop_assert_eq!(parsed.rows[0].line, 2);
        }

        #[test]
        fn export_then_import_gives_back_the_drafts(drafts in proptest::collection::vec(valid_draft(), 1..8)) {
            let csv = csv_of(&drafts);
            let parsed = parse(&csv);
            prop_assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
            let expected: Vec<HomeDraft> = drafts.iter().map(|d| validate_draft(d, true, today()).unwrap().draft).collect();
            let got: Vec<HomeDraft> = parsed.rows.iter().map(|r| r.draft.clone().unwrap()).collect();
            prop_assert_eq!(&got, &expected);
            // And the export of the home is exactly what imports.
            let homes: Vec<Home> = drafts.iter().map(home_from).collect();
            let of: Vec<HomeDraft> = homes.iter().map(draft_of).collect();
            prop_assert_eq!(got, of);
        }

        #[test]
        fn any_text_in_any_column_never_panics_and_is_one_outcome_on_line_2(
            d in valid_draft(),
            col in 0usize..21,
            text in any::<String>(),
        ) {
            let home = home_from(&d);
            let mut rec = home_record(&home);
            rec[col] = text.clone();
            let mut out = Vec::new();
            {
                let mut w = csv::Writer::from_writer(&mut out);
                w.write_record(COLUMNS).unwrap();
                w.write_record(&rec).unwrap();
                w.flush().unwrap();
            }
            let parsed = parse_homes_csv_on(out.as_slice(), today());
            let pnrs: Vec<&str> = d.members.iter().map(|m| m.personnummer.as_str()).collect();
            assert_no_pnr_in_errors(&parsed, &pnrs);
            if text.trim().is_empty() && rec.iter().enumerate().all(|(i, v)| i == col || v.trim().is_empty()) {
                return Ok(());
            }
            prop_assert_eq!(parsed.records, 1);
            prop_assert_eq!(parsed.rows.len() + usize::from(!parsed.errors.is_empty()), 1);
            for e in &parsed.errors {
                prop_assert_eq!(e.line, 2);
                prop_assert!(COLUMNS.contains(&e.field.as_str()), "{:?}", e);
            }
        }

        #[test]
        fn raw_text_spliced_into_a_line_never_panics(d in valid_draft(), at in any::<usize>(), text in any::<String>()) {
            let csv = csv_of(std::slice::from_ref(&d));
            let mut s = csv.clone();
            let mut cut = HEADER.len() + 1 + at % (csv.len() - HEADER.len());
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.insert_str(cut, &text);
            let parsed = parse(&s);
            prop_assert!(parsed.rows.len() as u32 <= parsed.records);
        }

        #[test]
        fn a_bad_value_in_line_n_is_reported_there_and_other_rows_survive(
            drafts in proptest::collection::vec(valid_draft(), 2..8),
            which in any::<usize>(),
            kind in 0usize..3,
            bad_digit in 0u8..10,
        ) {
            let n = which % drafts.len();
            let homes: Vec<Home> = drafts.iter().map(home_from).collect();
            let mut records: Vec<Vec<String>> = homes.iter().map(home_record).collect();
            let (col, value) = match kind {
                0 => {
                    // Break the check digit of carer1's personnummer.
                    let p = &records[n][10];
                    let last = p.as_bytes()[11] - b'0';
                    let wrong = if bad_digit == last { (bad_digit + 1) % 10 } else { bad_digit };
                    ("carer1_personnummer", format!("{}{}", &p[..11], wrong))
                }
                1 => ("municipality_code", ["9999", "01800", "abc", "0000"][usize::from(bad_digit) % 4].to_string()),
                _ => ("postal_code", ["1234", "123456", "12a45", "x"][usize::from(bad_digit) % 4].to_string()),
            };
            let idx = COLUMNS.iter().position(|c| *c == col).unwrap();
            records[n][idx] = value.clone();
            let mut out = Vec::new();
            {
                let mut w = csv::Writer::from_writer(&mut out);
                w.write_record(COLUMNS).unwrap();
                for r in &records {
                    w.write_record(r).unwrap();
                }
                w.flush().unwrap();
            }
            let parsed = parse_homes_csv_on(out.as_slice(), today());
            prop_assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
            prop_assert_eq!(parsed.errors[0].line, n as u32 + 2);
            prop_assert_eq!(parsed.errors[0].field.as_str(), col);
            if kind == 0 {
                prop_assert!(!parsed.errors[0].message.contains(&value[2..]));
            }
            prop_assert_eq!(parsed.rows.len(), drafts.len() - 1);
            let lines: Vec<u32> = parsed.rows.iter().map(|r| r.line).collect();
            let expected: Vec<u32> = (0..drafts.len() as u32).filter(|i| *i != n as u32).map(|i| i + 2).collect();
            prop_assert_eq!(lines, expected);
        }
    }
}
