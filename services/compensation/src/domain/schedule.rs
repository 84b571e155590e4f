//! Fee schedules: a version is complete (one arvode rate for every care
//! level × household kind, one omkostnad rate for every age band × cost
//! zone), its versions' effective days strictly increase, and the yearly
//! indexation makes the next version from the newest (rule R2).

use super::CompensationError;
use super::rounding::index_to_whole_kronor;
use chrono::NaiveDate;
use samling_proto::compensation::v1::{
    AgeBand, ArvodeRate, CareLevel, CostZone, FeeSchedule, HouseholdKind, OmkostnadRate,
};

type R<T> = Result<T, CompensationError>;

/// The largest monthly rate accepted (1 000 000 kr): a typo guard.
pub const MAX_MONTHLY_ORE: i64 = 100_000_000;

pub const LEVELS: [CareLevel; 4] = [
    CareLevel::Basic,
    CareLevel::Raised,
    CareLevel::High,
    CareLevel::Extensive,
];
pub const HOUSEHOLDS: [HouseholdKind; 2] = [HouseholdKind::SingleAdult, HouseholdKind::TwoAdults];
pub const AGE_BANDS: [AgeBand; 3] = [
    AgeBand::Child0To6,
    AgeBand::Child7To12,
    AgeBand::Youth13To20,
];
pub const ZONES: [CostZone; 3] = [CostZone::Base, CostZone::Metro, CostZone::NorthernInland];

/// A schedule's code: 1–40 lower-case ASCII letters, digits and hyphens.
pub fn check_code(field: &str, code: &str) -> R<String> {
    let c = code.trim();
    let ok = !c.is_empty()
        && c.len() <= 40
        && c.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(c.to_string())
    } else {
        Err(CompensationError::invalid(
            field,
            "must be 1–40 lower-case letters, digits and hyphens",
        ))
    }
}

fn check_amount(field: String, ore: i64) -> R<()> {
    if !(0..=MAX_MONTHLY_ORE).contains(&ore) {
        return Err(CompensationError::invalid(
            field,
            format!("must be 0..={MAX_MONTHLY_ORE} öre a month"),
        ));
    }
    Ok(())
}

/// The rates of a new version, checked complete and sorted (level, household
/// / age band, zone), so two equal schedules are stored equally.
pub fn check_rates(
    arvode: &[ArvodeRate],
    omkostnad: &[OmkostnadRate],
) -> R<(Vec<ArvodeRate>, Vec<OmkostnadRate>)> {
    let mut seen = Vec::new();
    for (i, a) in arvode.iter().enumerate() {
        let level = CareLevel::try_from(a.level)
            .ok()
            .filter(|l| *l != CareLevel::Unspecified)
            .ok_or_else(|| {
                CompensationError::invalid(format!("arvode[{i}].level"), "is required")
            })?;
        let household = HouseholdKind::try_from(a.household)
            .ok()
            .filter(|h| *h != HouseholdKind::Unspecified)
            .ok_or_else(|| {
                CompensationError::invalid(format!("arvode[{i}].household"), "is required")
            })?;
        check_amount(format!("arvode[{i}].monthly_ore"), a.monthly_ore)?;
        if seen.contains(&(level, household)) {
            return Err(CompensationError::invalid(
                format!("arvode[{i}]"),
                format!(
                    "{} × {} is given twice",
                    level.as_str_name(),
                    household.as_str_name()
                ),
            ));
        }
        seen.push((level, household));
    }
    for l in LEVELS {
        for h in HOUSEHOLDS {
            if !seen.contains(&(l, h)) {
                return Err(CompensationError::invalid(
                    "arvode",
                    format!("has no rate for {} × {}", l.as_str_name(), h.as_str_name()),
                ));
            }
        }
    }
    let mut seen = Vec::new();
    for (i, o) in omkostnad.iter().enumerate() {
        let band = AgeBand::try_from(o.age_band)
            .ok()
            .filter(|b| *b != AgeBand::Unspecified)
            .ok_or_else(|| {
                CompensationError::invalid(format!("omkostnad[{i}].age_band"), "is required")
            })?;
        let zone = CostZone::try_from(o.zone)
            .ok()
            .filter(|z| *z != CostZone::Unspecified)
            .ok_or_else(|| {
                CompensationError::invalid(format!("omkostnad[{i}].zone"), "is required")
            })?;
        check_amount(format!("omkostnad[{i}].monthly_ore"), o.monthly_ore)?;
        if seen.contains(&(band, zone)) {
            return Err(CompensationError::invalid(
                format!("omkostnad[{i}]"),
                format!(
                    "{} × {} is given twice",
                    band.as_str_name(),
                    zone.as_str_name()
                ),
            ));
        }
        seen.push((band, zone));
    }
    for b in AGE_BANDS {
        for z in ZONES {
            if !seen.contains(&(b, z)) {
                return Err(CompensationError::invalid(
                    "omkostnad",
                    format!("has no rate for {} × {}", b.as_str_name(), z.as_str_name()),
                ));
            }
        }
    }
    let mut a = arvode.to_vec();
    a.sort_by_key(|r| (r.level, r.household));
    let mut o = omkostnad.to_vec();
    o.sort_by_key(|r| (r.age_band, r.zone));
    Ok((a, o))
}

/// The version that follows `newest` (none: 1), effective from `from`,
/// which must come after the newest version's day.
pub fn next_version(newest: Option<&FeeSchedule>, from: NaiveDate) -> R<u32> {
    match newest {
        None => Ok(1),
        Some(s) => {
            let prev = samling_kit::dates::from_proto("effective_from", s.effective_from.as_ref())?;
            if from <= prev {
                return Err(CompensationError::invalid(
                    "effective_from",
                    format!(
                        "must be after version {}'s {} (versions take effect in order)",
                        s.version,
                        samling_kit::dates::date_text(prev)
                    ),
                ));
            }
            Ok(s.version + 1)
        }
    }
}

/// The yearly indexation (rule R2): `from`'s arvode raised by `basis_points`
/// and rounded to whole kronor; omkostnad unchanged. Identity and dates are
/// the caller's.
pub fn indexed_rates(from: &FeeSchedule, basis_points: i32) -> R<Vec<ArvodeRate>> {
    if !(-5000..=5000).contains(&basis_points) {
        return Err(CompensationError::invalid(
            "basis_points",
            "must be -5000..=5000 (hundredths of a percent)",
        ));
    }
    from.arvode
        .iter()
        .map(|a| {
            let monthly_ore = index_to_whole_kronor(a.monthly_ore, basis_points)?;
            check_amount("basis_points".into(), monthly_ore)?;
            Ok(ArvodeRate { monthly_ore, ..*a })
        })
        .collect()
}

/// The arvode of `level` × `household` in `s`.
pub fn arvode_of(s: &FeeSchedule, level: CareLevel, household: HouseholdKind) -> R<i64> {
    s.arvode
        .iter()
        .find(|r| r.level == level as i32 && r.household == household as i32)
        .map(|r| r.monthly_ore)
        .ok_or_else(|| {
            CompensationError::precondition(format!(
                "schedule {} version {} has no arvode for {} × {}",
                s.code,
                s.version,
                level.as_str_name(),
                household.as_str_name()
            ))
        })
}

/// The omkostnad of `band` × `zone` in `s`.
pub fn omkostnad_of(s: &FeeSchedule, band: AgeBand, zone: CostZone) -> R<i64> {
    s.omkostnad
        .iter()
        .find(|r| r.age_band == band as i32 && r.zone == zone as i32)
        .map(|r| r.monthly_ore)
        .ok_or_else(|| {
            CompensationError::precondition(format!(
                "schedule {} version {} has no omkostnad for {} × {}",
                s.code,
                s.version,
                band.as_str_name(),
                zone.as_str_name()
            ))
        })
}

/// The version a month uses (rule R3): pinned, `pinned`; following the
/// indexation, the newest version effective on the month's first day and
/// not older than `pinned` (a version effective mid-month applies from the
/// next month). `versions` are all versions of the code.
pub fn version_for_month(
    versions: &[FeeSchedule],
    pinned: u32,
    follow_indexation: bool,
    first_day: NaiveDate,
) -> R<&FeeSchedule> {
    let pinned_s = versions
        .iter()
        .find(|s| s.version == pinned)
        .ok_or_else(|| {
            CompensationError::precondition(format!("schedule version {pinned} is gone"))
        })?;
    if !follow_indexation {
        return Ok(pinned_s);
    }
    let mut best = pinned_s;
    for s in versions {
        let eff = samling_kit::dates::opt_from_proto("", s.effective_from.as_ref())
            .ok()
            .flatten();
        if s.version > best.version && eff.is_some_and(|e| e <= first_day) {
            best = s;
        }
    }
    Ok(best)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use samling_kit::dates::to_proto;
    use samling_kit::error::ServiceError;

    pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A complete schedule: arvode 10 000 kr × level (+2 000 kr for a
    /// single adult), omkostnad 5 000 kr + 1 000 kr per band + 500 kr per zone.
    pub fn rates() -> (Vec<ArvodeRate>, Vec<OmkostnadRate>) {
        let mut a = Vec::new();
        for (i, l) in LEVELS.iter().enumerate() {
            for h in HOUSEHOLDS {
                let extra = if h == HouseholdKind::SingleAdult {
                    200_000
                } else {
                    0
                };
                a.push(ArvodeRate {
                    level: *l as i32,
                    household: h as i32,
                    monthly_ore: 1_000_000 * (i as i64 + 1) + extra,
                });
            }
        }
        let mut o = Vec::new();
        for (i, b) in AGE_BANDS.iter().enumerate() {
            for (j, z) in ZONES.iter().enumerate() {
                o.push(OmkostnadRate {
                    age_band: *b as i32,
                    zone: *z as i32,
                    monthly_ore: 500_000 + 100_000 * i as i64 + 50_000 * j as i64,
                });
            }
        }
        (a, o)
    }

    pub fn schedule(version: u32, from: NaiveDate) -> FeeSchedule {
        let (arvode, omkostnad) = rates();
        FeeSchedule {
            id: format!("s{version}"),
            code: "national".into(),
            version,
            effective_from: Some(to_proto(from)),
            arvode,
            omkostnad,
            ..Default::default()
        }
    }

    #[test]
    fn a_schedule_must_be_complete_and_unambiguous() {
        let (a, o) = rates();
        let (sa, so) = check_rates(&a, &o).unwrap();
        assert_eq!(sa.len(), 8);
        assert_eq!(so.len(), 9);

        let err = check_rates(&a[1..], &o).unwrap_err();
        assert_eq!(err.field(), Some("arvode"));
        assert!(
            err.to_string()
                .contains("CARE_LEVEL_BASIC × HOUSEHOLD_KIND_SINGLE_ADULT"),
            "{err}"
        );

        let mut dup = a.clone();
        dup.push(a[3]);
        assert_eq!(
            check_rates(&dup, &o).unwrap_err().field(),
            Some("arvode[8]")
        );

        let mut neg = o.clone();
        neg[4].monthly_ore = -1;
        assert_eq!(
            check_rates(&a, &neg).unwrap_err().field(),
            Some("omkostnad[4].monthly_ore")
        );
        let mut unset = o.clone();
        unset[2].zone = 0;
        assert_eq!(
            check_rates(&a, &unset).unwrap_err().field(),
            Some("omkostnad[2].zone")
        );
        let mut unknown = a.clone();
        unknown[0].level = 99;
        assert_eq!(
            check_rates(&unknown, &o).unwrap_err().field(),
            Some("arvode[0].level")
        );
        assert_eq!(
            check_rates(&a, &o[..8]).unwrap_err().field(),
            Some("omkostnad")
        );
    }

    #[test]
    fn codes_are_checked() {
        assert_eq!(
            check_code("code", " national-2027 ").unwrap(),
            "national-2027"
        );
        for bad in ["", "National", "a/b", &"x".repeat(41)] {
            assert_eq!(
                check_code("code", bad).unwrap_err().field(),
                Some("code"),
                "{bad}"
            );
        }
    }

    #[test]
    fn versions_take_effect_in_order() {
        assert_eq!(next_version(None, day(2026, 1, 1)).unwrap(), 1);
        let v1 = schedule(1, day(2026, 1, 1));
        assert_eq!(next_version(Some(&v1), day(2027, 1, 1)).unwrap(), 2);
        let err = next_version(Some(&v1), day(2026, 1, 1)).unwrap_err();
        assert_eq!(err.field(), Some("effective_from"));
    }

    #[test]
    fn indexation_raises_arvode_only_to_whole_kronor() {
        let v1 = schedule(1, day(2026, 1, 1));
        let a = indexed_rates(&v1, 350).unwrap();
        // 10 000 kr → 10 350 kr; 12 000 kr → 12 420 kr; 40 000 → 41 400.
        assert_eq!(a[0].monthly_ore, 1_242_000);
        assert_eq!(a[1].monthly_ore, 1_035_000);
        assert_eq!(a[7].monthly_ore, 4_140_000);
        assert!(a.iter().all(|r| r.monthly_ore % 100 == 0));
        // 2.75 % of 12 000 kr = 12 330 kr exactly; of 10 000 kr → 10 275.
        let b = indexed_rates(&v1, 275).unwrap();
        assert_eq!(b[0].monthly_ore, 1_233_000);
        assert_eq!(
            indexed_rates(&v1, 5001).unwrap_err().field(),
            Some("basis_points")
        );
    }

    #[test]
    fn a_month_uses_the_pinned_or_the_newest_effective_version() {
        let vs = vec![
            schedule(1, day(2026, 1, 1)),
            schedule(2, day(2027, 1, 1)),
            schedule(3, day(2028, 1, 15)),
        ];
        let m = |y, mo| day(y, mo, 1);
        assert_eq!(
            version_for_month(&vs, 1, false, m(2028, 6))
                .unwrap()
                .version,
            1
        );
        assert_eq!(
            version_for_month(&vs, 1, true, m(2026, 12))
                .unwrap()
                .version,
            1
        );
        assert_eq!(
            version_for_month(&vs, 1, true, m(2027, 1)).unwrap().version,
            2
        );
        // Effective mid-January: from February.
        assert_eq!(
            version_for_month(&vs, 1, true, m(2028, 1)).unwrap().version,
            2
        );
        assert_eq!(
            version_for_month(&vs, 1, true, m(2028, 2)).unwrap().version,
            3
        );
        // Never older than the pinned version.
        assert_eq!(
            version_for_month(&vs, 3, true, m(2026, 5)).unwrap().version,
            3
        );
        assert!(version_for_month(&vs, 9, true, m(2026, 5)).is_err());
    }
}
