//! Where homes and anchors are, compactly: a municipality as its SCB code
//! (a number below 10,000; the county is its first two digits) and a region
//! as an index into the region map. Distance is measured in the steps the
//! reference data gives: same municipality, county, region, or the country.

use super::MatchingError;
use samling_kit::reference::{MunicipalityCode, RegionMap};
use serde::{Deserialize, Serialize};

/// A municipality by its SCB code as a number (0180 → 180). 0 = unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Muni(pub u16);

impl Muni {
    pub const UNKNOWN: Muni = Muni(0);

    /// A code of the reference data; the error names `field`.
    pub fn parse(field: &str, s: &str) -> Result<Muni, MatchingError> {
        let code =
            MunicipalityCode::parse(s).map_err(|e| MatchingError::invalid(field, e.to_string()))?;
        Ok(Muni::from_code(code))
    }

    pub fn from_code(code: MunicipalityCode) -> Muni {
        // Four ASCII digits, checked by the reference data.
        Muni(code.as_str().parse().unwrap_or(0))
    }

    pub fn is_known(self) -> bool {
        self.0 != 0
    }

    pub fn county(self) -> u8 {
        (self.0 / 100) as u8
    }

    /// The four-digit code ("" when unknown).
    pub fn code(self) -> String {
        if self.is_known() {
            format!("{:04}", self.0)
        } else {
            String::new()
        }
    }

    /// The municipality's name ("" when unknown).
    pub fn name(self) -> &'static str {
        MunicipalityCode::parse(&self.code())
            .map(|m| m.name())
            .unwrap_or("")
    }
}

/// How far apart two places are. Ordered: nearer is smaller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proximity {
    SameMunicipality = 1,
    SameCounty = 2,
    SameRegion = 3,
    National = 4,
}

impl Proximity {
    pub fn from_proto(field: &str, v: i32) -> Result<Option<Proximity>, MatchingError> {
        match v {
            0 => Ok(None),
            1 => Ok(Some(Proximity::SameMunicipality)),
            2 => Ok(Some(Proximity::SameCounty)),
            3 => Ok(Some(Proximity::SameRegion)),
            4 => Ok(Some(Proximity::National)),
            _ => Err(MatchingError::invalid(field, "is not a known value")),
        }
    }

    pub fn words(self) -> &'static str {
        match self {
            Proximity::SameMunicipality => "same municipality",
            Proximity::SameCounty => "same county",
            Proximity::SameRegion => "same region",
            Proximity::National => "another region",
        }
    }
}

/// Counties (SCB 01–25 and a few spare) to region indexes.
#[derive(Clone, Debug)]
pub struct Geo {
    county_region: [u8; 100],
    regions: Vec<String>,
}

/// No region known.
pub const NO_REGION: u8 = u8::MAX;

impl Geo {
    pub fn new(map: &RegionMap) -> Geo {
        let regions: Vec<String> = map
            .regions()
            .iter()
            .map(|r| r.id.as_str().to_string())
            .collect();
        let mut county_region = [NO_REGION; 100];
        for m in samling_kit::reference::municipalities() {
            let muni = Muni::from_code(m);
            let rid = map.region_of(m).as_str();
            if let Some(i) = regions.iter().position(|r| r == rid) {
                county_region[usize::from(muni.county())] = i as u8;
            }
        }
        Geo {
            county_region,
            regions,
        }
    }

    pub fn default_map() -> Geo {
        Geo::new(RegionMap::default_map())
    }

    pub fn region_of(&self, m: Muni) -> u8 {
        if m.is_known() {
            self.county_region[usize::from(m.county()) % 100]
        } else {
            NO_REGION
        }
    }

    pub fn region_index(&self, id: &str) -> Option<u8> {
        self.regions.iter().position(|r| r == id).map(|i| i as u8)
    }

    pub fn region_id(&self, i: u8) -> &str {
        self.regions.get(usize::from(i)).map_or("", |s| s.as_str())
    }

    pub fn region_count(&self) -> usize {
        self.regions.len()
    }

    /// None when either place is unknown.
    pub fn proximity(&self, a: Muni, b: Muni) -> Option<Proximity> {
        if !a.is_known() || !b.is_known() {
            return None;
        }
        Some(if a == b {
            Proximity::SameMunicipality
        } else if a.county() == b.county() {
            Proximity::SameCounty
        } else if self.region_of(a) == self.region_of(b) && self.region_of(a) != NO_REGION {
            Proximity::SameRegion
        } else {
            Proximity::National
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proximity_steps_follow_the_reference_data() {
        let g = Geo::default_map();
        let sthlm = Muni::parse("m", "0180").unwrap();
        let solna = Muni::parse("m", "0184").unwrap();
        let visby = Muni::parse("m", "0980").unwrap(); // Gotland: Stockholm-Gotland region
        let sundsvall = Muni::parse("m", "2281").unwrap();
        assert_eq!(g.proximity(sthlm, sthlm), Some(Proximity::SameMunicipality));
        assert_eq!(g.proximity(sthlm, solna), Some(Proximity::SameCounty));
        assert_eq!(g.proximity(sthlm, visby), Some(Proximity::SameRegion));
        assert_eq!(g.proximity(sthlm, sundsvall), Some(Proximity::National));
        assert_eq!(g.proximity(sthlm, Muni::UNKNOWN), None);
        assert_eq!(sthlm.code(), "0180");
        assert_eq!(g.region_id(g.region_of(sundsvall)), "norr");
    }

    #[test]
    fn an_unknown_municipality_is_refused_naming_the_field() {
        let e = Muni::parse("anchors[0].municipality_code", "9999").unwrap_err();
        assert!(
            e.to_string().starts_with("anchors[0].municipality_code:"),
            "{e}"
        );
    }
}
