//! Reference data compiled into the binary: Sweden's 290 municipalities and
//! 21 counties (SCB codes), and the county → region map.
//!
//! Municipalities and counties change only by law, so they ship with the code
//! and the types [`MunicipalityCode`] and [`CountyCode`] can only hold codes
//! that exist. Regions are an organisational choice, so the embedded
//! `regions.csv` is just the default [`RegionMap`]; a deployment may load its
//! own with [`RegionMap::from_csv`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

const MUNICIPALITIES_CSV: &str = include_str!("../reference/municipalities.csv");
const REGIONS_CSV: &str = include_str!("../reference/regions.csv");

const MUNICIPALITIES_HEADER: &str = "municipality_code,municipality_name,county_code,county_name";
const REGIONS_HEADER: &str = "county_code,region_id,region_name";

/// Longest slice of rejected input echoed in an error, so a wrong value
/// pasted into a code field cannot flood the logs.
const ECHO_LIMIT: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("unknown municipality code {0:?}")]
    UnknownMunicipality(String),
    #[error("unknown county code {0:?}")]
    UnknownCounty(String),
    /// The text is kept for the caller, never displayed: free-text input may be personal data.
    #[error("unknown region")]
    UnknownRegion(String),
    /// `line` is 1-based; 0 means the file as a whole (e.g. a county missing).
    #[error("region map line {line}: {message}")]
    BadRegionMap { line: usize, message: String },
    /// The text is kept for the caller, never displayed: a malformed code may be
    /// anything pasted into the field, a personnummer included.
    #[error("malformed code: expected the digits of an SCB code")]
    BadFormat(String),
}

fn echo(s: &str) -> String {
    s.chars().take(ECHO_LIMIT).collect()
}

#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
struct CountyRow {
    code: &'static str,
    name: &'static str,
}

#[derive(PartialEq, Eq, Hash, PartialOrd, Ord)]
struct MunicipalityRow {
    code: &'static str,
    name: &'static str,
    county: CountyCode,
}

/// The embedded municipality file as rows of its four fields, validated for
/// shape (header, field count, digit codes). Kept apart from the lazy tables
/// so a test can check it without the `expect`.
fn municipality_fields() -> Result<Vec<[&'static str; 4]>, String> {
    let mut lines = MUNICIPALITIES_CSV.lines().enumerate();
    match lines.next() {
        Some((_, header))
            if header.trim_start_matches('\u{feff}').trim() == MUNICIPALITIES_HEADER => {}
        _ => return Err("municipalities.csv: bad header".into()),
    }
    let mut rows = Vec::new();
    for (i, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&'static str> = line.split(',').map(str::trim).collect();
        let row: [&'static str; 4] = fields
            .try_into()
            .map_err(|_| format!("municipalities.csv line {}: expected 4 fields", i + 1))?;
        let [code, name, county, county_name] = row;
        if !is_digits(code, 4) || !is_digits(county, 2) || name.is_empty() || county_name.is_empty()
        {
            return Err(format!("municipalities.csv line {}: bad field", i + 1));
        }
        rows.push(row);
    }
    Ok(rows)
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn load_counties() -> Result<Vec<CountyRow>, String> {
    let mut counties: BTreeMap<&'static str, &'static str> = BTreeMap::new();
    for [_, _, code, name] in municipality_fields()? {
        if let Some(previous) = counties.insert(code, name)
            && previous != name
        {
            return Err(format!("municipalities.csv: county {code} has two names"));
        }
    }
    Ok(counties
        .into_iter()
        .map(|(code, name)| CountyRow { code, name })
        .collect())
}

fn load_municipalities() -> Result<Vec<MunicipalityRow>, String> {
    let mut rows = Vec::new();
    for [code, name, county, _] in municipality_fields()? {
        let county = CountyCode::parse(county).map_err(|e| e.to_string())?;
        rows.push(MunicipalityRow { code, name, county });
    }
    rows.sort();
    if rows
        .windows(2)
        .any(|w| matches!(w, [a, b] if a.code == b.code))
    {
        return Err("municipalities.csv: duplicate municipality code".into());
    }
    Ok(rows)
}

/// Sorted by code.
fn county_table() -> &'static [CountyRow] {
    static TABLE: OnceLock<Vec<CountyRow>> = OnceLock::new();
    TABLE.get_or_init(|| load_counties().expect("embedded municipalities.csv is valid"))
}

/// Sorted by code.
fn municipality_table() -> &'static [MunicipalityRow] {
    static TABLE: OnceLock<Vec<MunicipalityRow>> = OnceLock::new();
    TABLE.get_or_init(|| load_municipalities().expect("embedded municipalities.csv is valid"))
}

/// A municipality (kommun) by its 4-digit SCB code. Only codes that exist can
/// be held, so a value of this type needs no further checking.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MunicipalityCode(&'static MunicipalityRow);

impl MunicipalityCode {
    /// Trims, then requires 4 digits ([`ReferenceError::BadFormat`]) naming an
    /// existing municipality ([`ReferenceError::UnknownMunicipality`]).
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let s = s.trim();
        if !is_digits(s, 4) {
            return Err(ReferenceError::BadFormat(echo(s)));
        }
        let table = municipality_table();
        table
            .binary_search_by(|row| row.code.cmp(s))
            .ok()
            .and_then(|i| table.get(i))
            .map(MunicipalityCode)
            .ok_or_else(|| ReferenceError::UnknownMunicipality(echo(s)))
    }

    pub fn as_str(self) -> &'static str {
        self.0.code
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    pub fn county(self) -> CountyCode {
        self.0.county
    }
}

impl fmt::Debug for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MunicipalityCode")
            .field(&self.0.code)
            .finish()
    }
}

impl fmt::Display for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code)
    }
}

impl Serialize for MunicipalityCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.code)
    }
}

impl<'de> Deserialize<'de> for MunicipalityCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        MunicipalityCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A county (län) by its 2-digit SCB code; only existing codes can be held.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountyCode(&'static CountyRow);

impl CountyCode {
    /// Trims, then requires 2 digits ([`ReferenceError::BadFormat`]) naming an
    /// existing county ([`ReferenceError::UnknownCounty`]).
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let s = s.trim();
        if !is_digits(s, 2) {
            return Err(ReferenceError::BadFormat(echo(s)));
        }
        let table = county_table();
        table
            .binary_search_by(|row| row.code.cmp(s))
            .ok()
            .and_then(|i| table.get(i))
            .map(CountyCode)
            .ok_or_else(|| ReferenceError::UnknownCounty(echo(s)))
    }

    pub fn as_str(self) -> &'static str {
        self.0.code
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }
}

impl fmt::Debug for CountyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CountyCode").field(&self.0.code).finish()
    }
}

impl fmt::Display for CountyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code)
    }
}

impl Serialize for CountyCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.code)
    }
}

impl<'de> Deserialize<'de> for CountyCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CountyCode::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// All 290 municipalities, ordered by code.
pub fn municipalities() -> impl Iterator<Item = MunicipalityCode> {
    municipality_table().iter().map(MunicipalityCode)
}

/// All 21 counties, ordered by code.
pub fn counties() -> impl Iterator<Item = CountyCode> {
    county_table().iter().map(CountyCode)
}

/// A region id such as `norr`: lowercase ASCII letters, digits and `-`.
///
/// Which ids exist depends on the configured [`RegionMap`], so known-ness is
/// checked by [`RegionMap::parse_region`]; deserialising checks only the
/// spelling, because there is no map to consult at that point.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct RegionId(String);

/// Returned only if a map lookup finds no region, which the map's
/// construction rules out; an empty id then fails every comparison instead of
/// taking the program down.
static UNMAPPED: RegionId = RegionId(String::new());

const REGION_ID_MAX_LEN: usize = 64;

fn is_region_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= REGION_ID_MAX_LEN
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl RegionId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for RegionId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RegionId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if is_region_id(&text) {
            Ok(RegionId(text))
        } else {
            Err(serde::de::Error::custom(ReferenceError::BadFormat(echo(
                &text,
            ))))
        }
    }
}

/// One region of a [`RegionMap`]; `counties` keep their order in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    pub id: RegionId,
    pub name: String,
    pub counties: Vec<CountyCode>,
}

/// Assignment of every county to exactly one region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionMap {
    /// In order of first appearance in the file.
    regions: Vec<Region>,
    /// Total over all counties (checked by [`RegionMap::from_csv`]).
    by_county: BTreeMap<CountyCode, RegionId>,
}

impl RegionMap {
    /// The map shipped in `reference/regions.csv` (six regions).
    pub fn default_map() -> &'static RegionMap {
        static MAP: OnceLock<RegionMap> = OnceLock::new();
        MAP.get_or_init(|| RegionMap::from_csv(REGIONS_CSV).expect("embedded regions.csv is valid"))
    }

    /// Reads a map in the format of `regions.csv`: the header
    /// `county_code,region_id,region_name`, then one row per county. Every
    /// county must appear exactly once and a region id must always carry the
    /// same name. Blank lines and lines starting with `#` are ignored.
    /// Errors name the 1-based line and the offending field.
    pub fn from_csv(text: &str) -> Result<RegionMap, ReferenceError> {
        let bad = |line: usize, message: String| ReferenceError::BadRegionMap { line, message };
        let mut rows = text
            .trim_start_matches('\u{feff}')
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
        match rows.next() {
            Some((_, header)) if header == REGIONS_HEADER => {}
            Some((line, _)) => return Err(bad(line, format!("header must be {REGIONS_HEADER}"))),
            None => return Err(bad(0, "the file is empty".into())),
        }

        let mut regions: Vec<Region> = Vec::new();
        let mut by_county: BTreeMap<CountyCode, RegionId> = BTreeMap::new();
        let mut seen_on: BTreeMap<CountyCode, usize> = BTreeMap::new();
        for (line, row) in rows {
            let fields: Vec<&str> = row.split(',').map(str::trim).collect();
            let [county, id, name]: [&str; 3] = fields.try_into().map_err(|f: Vec<&str>| {
                bad(line, format!("expected 3 fields, found {}", f.len()))
            })?;
            let county =
                CountyCode::parse(county).map_err(|e| bad(line, format!("county_code: {e}")))?;
            if !is_region_id(id) {
                return Err(bad(
                    line,
                    format!(
                        "region_id {:?} must be 1-{REGION_ID_MAX_LEN} of a-z, 0-9 and -",
                        echo(id)
                    ),
                ));
            }
            if name.is_empty() {
                return Err(bad(line, "region_name is empty".into()));
            }
            if let Some(first) = seen_on.insert(county, line) {
                return Err(bad(
                    line,
                    format!("county_code: county {county} is already mapped on line {first}"),
                ));
            }
            let id = RegionId(id.to_owned());
            match regions.iter_mut().find(|r| r.id == id) {
                Some(region) if region.name != name => {
                    return Err(bad(
                        line,
                        format!(
                            "region_name: region {id} is named {:?} earlier in the file",
                            region.name
                        ),
                    ));
                }
                Some(region) => region.counties.push(county),
                None => regions.push(Region {
                    id: id.clone(),
                    name: name.to_owned(),
                    counties: vec![county],
                }),
            }
            by_county.insert(county, id);
        }

        let missing: Vec<&str> = counties()
            .filter(|c| !by_county.contains_key(c))
            .map(CountyCode::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(bad(
                0,
                format!("county_code: counties not mapped: {}", missing.join(", ")),
            ));
        }
        Ok(RegionMap { regions, by_county })
    }

    pub fn region_of_county(&self, county: CountyCode) -> &RegionId {
        self.by_county.get(&county).unwrap_or(&UNMAPPED)
    }

    pub fn region_of(&self, municipality: MunicipalityCode) -> &RegionId {
        self.region_of_county(municipality.county())
    }

    /// The regions in order of first appearance in the map's file.
    pub fn regions(&self) -> Vec<Region> {
        self.regions.clone()
    }

    /// Trims, then accepts only ids of this map.
    pub fn parse_region(&self, s: &str) -> Result<RegionId, ReferenceError> {
        let s = s.trim();
        self.regions
            .iter()
            .find(|r| r.id.as_str() == s)
            .map(|r| r.id.clone())
            .ok_or_else(|| ReferenceError::UnknownRegion(echo(s)))
    }

    /// The region's municipalities ordered by code; empty for an unknown id.
    pub fn municipalities_in(&self, region: &RegionId) -> Vec<MunicipalityCode> {
        municipalities()
            .filter(|m| self.region_of(*m) == region)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn muni(code: &str) -> MunicipalityCode {
        MunicipalityCode::parse(code).unwrap()
    }

    #[test]
    fn the_embedded_data_loads() {
        assert!(municipality_fields().is_ok());
        assert!(load_counties().is_ok());
        assert!(load_municipalities().is_ok());
        assert!(RegionMap::from_csv(REGIONS_CSV).is_ok());
    }

    #[test]
    fn there_are_290_municipalities_and_21_counties() {
        assert_eq!(municipalities().count(), 290);
        assert_eq!(counties().count(), 21);
        let codes: BTreeSet<_> = municipalities().map(MunicipalityCode::as_str).collect();
        assert_eq!(codes.len(), 290);
    }

    #[test]
    fn municipality_0180_is_stockholm_in_county_01_in_stockholm_gotland() {
        let m = muni("0180");
        assert_eq!(m.as_str(), "0180");
        assert_eq!(m.name(), "Stockholm");
        assert_eq!(m.county().as_str(), "01");
        assert_eq!(m.county().name(), "Stockholms län");
        assert_eq!(
            RegionMap::default_map().region_of(m).as_str(),
            "stockholm-gotland"
        );
        assert_eq!(m.to_string(), "0180");
        assert_eq!(format!("{m:?}"), "MunicipalityCode(\"0180\")");
    }

    #[test]
    fn names_are_utf8() {
        assert_eq!(muni("0117").name(), "Österåker");
        assert_eq!(CountyCode::parse("18").unwrap().name(), "Örebro län");
    }

    #[test]
    fn parsing_trims_whitespace() {
        assert_eq!(muni(" 0180\n"), muni("0180"));
        assert_eq!(CountyCode::parse(" 01 ").unwrap().as_str(), "01");
    }

    #[test]
    fn unknown_and_malformed_municipality_codes_are_rejected() {
        assert_eq!(
            MunicipalityCode::parse("9999"),
            Err(ReferenceError::UnknownMunicipality("9999".into()))
        );
        assert_eq!(
            MunicipalityCode::parse("abc"),
            Err(ReferenceError::BadFormat("abc".into()))
        );
        assert_eq!(
            MunicipalityCode::parse(""),
            Err(ReferenceError::BadFormat("".into()))
        );
        for bad in ["180", "01800", "０１８０", "01 80", "-180"] {
            assert!(MunicipalityCode::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_and_malformed_county_codes_are_rejected() {
        assert_eq!(
            CountyCode::parse("02"),
            Err(ReferenceError::UnknownCounty("02".into()))
        );
        assert!(CountyCode::parse("1").is_err());
        assert!(CountyCode::parse("").is_err());
        assert!(CountyCode::parse("ab").is_err());
    }

    #[test]
    fn errors_echo_at_most_a_short_prefix() {
        let long = "x".repeat(10_000);
        match MunicipalityCode::parse(&long) {
            Err(ReferenceError::BadFormat(s)) => assert_eq!(s.len(), ECHO_LIMIT),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_municipality_is_in_a_known_county() {
        let counties: BTreeSet<_> = counties().collect();
        for m in municipalities() {
            assert!(counties.contains(&m.county()), "{m}");
            assert!(m.as_str().starts_with(m.county().as_str()), "{m}");
        }
    }

    #[test]
    fn every_county_belongs_to_exactly_one_region() {
        let map = RegionMap::default_map();
        for county in counties() {
            let owners: Vec<_> = map
                .regions()
                .into_iter()
                .filter(|r| r.counties.contains(&county))
                .collect();
            assert_eq!(owners.len(), 1, "{county}");
            assert_eq!(map.region_of_county(county), &owners[0].id);
        }
    }

    #[test]
    fn the_default_map_has_six_regions_in_file_order() {
        let ids: Vec<String> = RegionMap::default_map()
            .regions()
            .into_iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(
            ids,
            [
                "stockholm-gotland",
                "mellan",
                "sydost",
                "syd",
                "vast",
                "norr"
            ]
        );
        let regions = RegionMap::default_map().regions();
        let sg = &regions[0];
        assert_eq!(sg.name, "Stockholm-Gotland");
        let counties: Vec<_> = sg.counties.iter().map(|c| c.as_str()).collect();
        assert_eq!(counties, ["01", "09"]);
    }

    #[test]
    fn parse_region_accepts_only_known_ids() {
        let map = RegionMap::default_map();
        assert_eq!(map.parse_region(" norr ").unwrap().as_str(), "norr");
        assert_eq!(
            map.parse_region("Norr"),
            Err(ReferenceError::UnknownRegion("Norr".into()))
        );
        assert!(map.parse_region("").is_err());
    }

    #[test]
    fn municipalities_in_a_region_partition_the_country() {
        let map = RegionMap::default_map();
        let mut total = 0;
        for region in map.regions() {
            let ms = map.municipalities_in(&region.id);
            assert!(!ms.is_empty());
            assert!(ms.iter().all(|m| region.counties.contains(&m.county())));
            total += ms.len();
        }
        assert_eq!(total, 290);
        let gotland = map.municipalities_in(&map.parse_region("stockholm-gotland").unwrap());
        assert!(gotland.contains(&muni("0980")));
        assert!(map.municipalities_in(&UNMAPPED).is_empty());
    }

    /// The default file with one line changed by `edit`.
    fn edited(edit: impl Fn(&str) -> Option<String>) -> String {
        REGIONS_CSV
            .lines()
            .filter_map(&edit)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn from_csv_accepts_a_different_assignment() {
        let text = edited(|l| Some(l.replace("14,vast,Västra", "14,syd,Södra")));
        let map = RegionMap::from_csv(&text).unwrap();
        assert_eq!(map.regions().len(), 5);
        assert_eq!(map.region_of(muni("1480")).as_str(), "syd");
    }

    #[test]
    fn from_csv_rejects_a_map_missing_a_county() {
        let text = edited(|l| (!l.starts_with("25,")).then(|| l.to_owned()));
        let err = RegionMap::from_csv(&text).unwrap_err();
        match err {
            ReferenceError::BadRegionMap { line: 0, message } => {
                assert!(message.contains("25"), "{message}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn from_csv_names_the_line_of_a_bad_row() {
        let cases = [
            (
                "01,stockholm-gotland,Stockholm-Gotland",
                "02,stockholm-gotland,Stockholm-Gotland",
                "county_code",
            ),
            (
                "01,stockholm-gotland,Stockholm-Gotland",
                "01,Stockholm Gotland,Stockholm-Gotland",
                "region_id",
            ),
            (
                "01,stockholm-gotland,Stockholm-Gotland",
                "01,stockholm-gotland,",
                "region_name",
            ),
            (
                "01,stockholm-gotland,Stockholm-Gotland",
                "01,stockholm-gotland",
                "3 fields",
            ),
            (
                "09,stockholm-gotland,Stockholm-Gotland",
                "09,stockholm-gotland,Gotland",
                "region_name",
            ),
            (
                "09,stockholm-gotland,Stockholm-Gotland",
                "01,stockholm-gotland,Stockholm-Gotland",
                "line 2",
            ),
        ];
        for (from, to, field) in cases {
            let text = edited(|l| {
                Some(if l == from {
                    to.to_owned()
                } else {
                    l.to_owned()
                })
            });
            let lines: Vec<&str> = text.lines().collect();
            let expected_line = lines.iter().rposition(|l| *l == to).unwrap() + 1;
            match RegionMap::from_csv(&text) {
                Err(ReferenceError::BadRegionMap { line, message }) => {
                    assert_eq!(line, expected_line, "{to}: {message}");
                    assert!(message.contains(field), "{to}: {message}");
                }
                other => panic!("{to}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn from_csv_requires_the_header() {
        let text = REGIONS_CSV.replacen("county_code,region_id,region_name", "a,b,c", 1);
        assert!(matches!(
            RegionMap::from_csv(&text),
            Err(ReferenceError::BadRegionMap { line: 1, .. })
        ));
        assert!(matches!(
            RegionMap::from_csv(""),
            Err(ReferenceError::BadRegionMap { line: 0, .. })
        ));
    }

    #[test]
    fn from_csv_ignores_blank_lines_comments_and_crlf() {
        let text = format!(
            "# regions for test\r\n\r\n{}",
            REGIONS_CSV.replace('\n', "\r\n")
        );
        assert_eq!(
            &RegionMap::from_csv(&text).unwrap(),
            RegionMap::default_map()
        );
    }

    #[test]
    fn codes_round_trip_through_serde() {
        let m = muni("0180");
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, "\"0180\"");
        assert_eq!(serde_json::from_str::<MunicipalityCode>(&json).unwrap(), m);
        assert!(serde_json::from_str::<MunicipalityCode>("\"9999\"").is_err());

        let c = m.county();
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(json, "\"01\"");
        assert_eq!(serde_json::from_str::<CountyCode>(&json).unwrap(), c);
        assert!(serde_json::from_str::<CountyCode>("\"02\"").is_err());

        let r = RegionMap::default_map().region_of(m).clone();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, "\"stockholm-gotland\"");
        assert_eq!(serde_json::from_str::<RegionId>(&json).unwrap(), r);
        assert!(serde_json::from_str::<RegionId>("\"Not An Id\"").is_err());
        assert!(serde_json::from_str::<RegionId>("\"\"").is_err());
    }

    #[test]
    fn ordering_follows_the_code() {
        let mut ms: Vec<_> = municipalities().collect();
        ms.reverse();
        ms.sort();
        assert!(ms.windows(2).all(|w| w[0].as_str() < w[1].as_str()));
        assert!(CountyCode::parse("01").unwrap() < CountyCode::parse("25").unwrap());
    }
}
