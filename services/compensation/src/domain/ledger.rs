//! The state grant ledger's rules (issue 21 §4 b–d, ADR 0048, rules L1–L5
//! and G5 in docs/compensation.md): requisitions, usage reports, unused
//! amounts, reclaims, the equal split of leftovers and the reconciliation
//! of a year against its available sum. Whole kronor, integers only.

use super::CompensationError;
use samling_proto::compensation::v1::{GrantLedgerEntry, GrantYearReport, RequisitionStatus};

type R<T> = Result<T, CompensationError>;

/// The most any single amount may be (the distribution key's bound).
pub const MAX_KR: i64 = super::grants::MAX_AVAILABLE_KR;

pub fn check_year(field: &str, year: i32) -> R<i32> {
    if (2000..=2200).contains(&year) {
        Ok(year)
    } else {
        Err(CompensationError::invalid(field, "must be 2000..=2200"))
    }
}

pub fn check_kr(field: &str, kr: i64) -> R<i64> {
    if (0..=MAX_KR).contains(&kr) {
        Ok(kr)
    } else {
        Err(CompensationError::invalid(
            field,
            format!("must be 0..={MAX_KR} whole kronor"),
        ))
    }
}

/// L1: a requisition asks for 1 … the granted amount (0 = all of it); a
/// municipality with no grant for the year has nothing to ask for.
pub fn requisition_amount(granted_kr: i64, amount_kr: i64) -> R<i64> {
    if granted_kr <= 0 {
        return Err(CompensationError::PreconditionOn {
            field: "year".into(),
            message: "no grant is recorded for the municipality this year".into(),
        });
    }
    match amount_kr {
        0 => Ok(granted_kr),
        a if (1..=granted_kr).contains(&a) => Ok(a),
        _ => Err(CompensationError::invalid(
            "amount_kr",
            format!("must be 1..={granted_kr} (the grant; 0 = all of it)"),
        )),
    }
}

/// What the municipality was paid: the approved requisition and its share
/// of the leftovers.
pub fn paid(e: &GrantLedgerEntry) -> i64 {
    let approved = if e.requisition_status() == RequisitionStatus::Approved {
        e.requisitioned_kr
    } else {
        0
    };
    approved + e.redistributed_kr
}

/// L2: used is 0 … paid; the unused amount is paid − used.
pub fn unused_after_usage(paid_kr: i64, used_kr: i64) -> R<i64> {
    if !(0..=paid_kr).contains(&used_kr) {
        return Err(CompensationError::invalid(
            "used_kr",
            format!("must be 0..={paid_kr} (what was paid)"),
        ));
    }
    Ok(paid_kr - used_kr)
}

/// L3: a reclaim takes 1 … the unused amount not yet reclaimed (0 = all of
/// it); answers the new total reclaimed.
pub fn reclaim(unused_kr: i64, reclaimed_kr: i64, amount_kr: i64) -> R<i64> {
    let open = unused_kr - reclaimed_kr;
    if open <= 0 {
        return Err(CompensationError::PreconditionOn {
            field: "amount_kr".into(),
            message: "nothing unused is left to reclaim".into(),
        });
    }
    match amount_kr {
        0 => Ok(reclaimed_kr + open),
        a if (1..=open).contains(&a) => Ok(reclaimed_kr + a),
        _ => Err(CompensationError::invalid(
            "amount_kr",
            format!("must be 1..={open} (unused not yet reclaimed; 0 = all of it)"),
        )),
    }
}

/// G5: `leftover_kr` shared equally in whole kronor among `codes` (any
/// order): everyone gets ⌊leftover / n⌋, and the remainder's kronor go one
/// each to the municipalities with the lowest codes (as G4's tie rule).
/// Answers (code, kronor) in code order; the total is exactly
/// `leftover_kr` and no two shares differ by more than 1 kr.
pub fn redistribute(leftover_kr: i64, codes: &[String]) -> R<Vec<(String, i64)>> {
    if codes.is_empty() {
        return Err(CompensationError::PreconditionOn {
            field: "year".into(),
            message: "no municipality opted in to the leftovers".into(),
        });
    }
    if leftover_kr <= 0 {
        return Err(CompensationError::PreconditionOn {
            field: "year".into(),
            message: "nothing is left over".into(),
        });
    }
    let mut sorted: Vec<String> = codes.to_vec();
    sorted.sort();
    sorted.dedup();
    let n = sorted.len() as i64;
    let base = leftover_kr / n;
    let extra = leftover_kr % n;
    Ok(sorted
        .into_iter()
        .enumerate()
        .map(|(i, c)| (c, base + i64::from((i as i64) < extra)))
        .collect())
}

/// L4: the row's flags: a requisition above the grant (a grant lowered by an
/// import) and unused money not (fully) reclaimed.
pub fn entry_flags(e: &GrantLedgerEntry) -> Vec<String> {
    let mut f = Vec::new();
    if e.requisitioned_kr > e.granted_kr {
        f.push("requisition_exceeds_grant".to_string());
    }
    if e.usage_reported && e.unused_kr > e.reclaimed_kr {
        f.push("unused_not_reclaimed".to_string());
    }
    f
}

/// L5: a year's totals over `entries` reconciled against its available sum
/// (`available_kr`, 0 = none recorded). `national` (every municipality):
/// difference = granted − available, flagged when not 0; a county's report
/// cannot be compared with a national sum and carries no difference. Paid
/// above the available sum is flagged either way (national only).
pub fn year_report(
    year: i32,
    available_kr: i64,
    entries: &[&GrantLedgerEntry],
    national: bool,
) -> GrantYearReport {
    let mut r = GrantYearReport {
        year,
        available_kr,
        ..Default::default()
    };
    for e in entries {
        r.granted_kr += e.granted_kr;
        if e.requisition_status() == RequisitionStatus::Approved {
            r.requisitioned_kr += e.requisitioned_kr;
        }
        r.redistributed_kr += e.redistributed_kr;
        r.paid_kr += paid(e);
        r.used_kr += e.used_kr;
        r.unused_kr += e.unused_kr;
        r.reclaimed_kr += e.reclaimed_kr;
        r.municipalities += 1;
        r.usage_reported += i32::from(e.usage_reported);
    }
    if national {
        if available_kr == 0 {
            r.flags.push("no_available_recorded".into());
        } else {
            r.difference_kr = r.granted_kr - available_kr;
            if r.difference_kr != 0 {
                r.flags.push("granted_differs_from_available".into());
            }
            if r.paid_kr > available_kr {
                r.flags.push("paid_exceeds_available".into());
            }
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use samling_kit::error::ServiceError;

    fn codes(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{:04}", 1000 + i)).collect()
    }

    #[test]
    fn seed_002_leftovers_give_33947_or_33948_kronor() {
        // 2023: 231 municipalities opted in; 7.8 million kronor left over.
        // 231 × 33 947 = 7 841 757; 143 kr more go to the 143 lowest codes.
        let shares = redistribute(7_841_900, &codes(231)).unwrap();
        assert_eq!(shares.iter().map(|s| s.1).sum::<i64>(), 7_841_900);
        assert!(shares.iter().all(|s| s.1 == 33_947 || s.1 == 33_948));
        assert_eq!(shares.iter().filter(|s| s.1 == 33_948).count(), 143);
        assert_eq!(shares[142], ("1142".to_string(), 33_948));
        assert_eq!(shares[143], ("1143".to_string(), 33_947));
    }

    #[test]
    fn the_extra_krona_goes_by_code_ascending_whatever_the_order_given() {
        let given = vec!["0180".to_string(), "0114".into(), "1480".into()];
        let s = redistribute(100, &given).unwrap();
        assert_eq!(
            s,
            vec![
                ("0114".to_string(), 34),
                ("0180".to_string(), 33),
                ("1480".to_string(), 33)
            ]
        );
        // Fewer kronor than municipalities: some get 0, the lowest codes 1.
        let s = redistribute(2, &given).unwrap();
        assert_eq!(s.iter().map(|x| x.1).collect::<Vec<_>>(), vec![1, 1, 0]);
        assert_eq!(redistribute(5, &[]).unwrap_err().field(), Some("year"));
        assert_eq!(redistribute(0, &given).unwrap_err().field(), Some("year"));
    }

    #[test]
    fn a_requisition_is_up_to_the_grant() {
        assert_eq!(requisition_amount(556_745, 0).unwrap(), 556_745);
        assert_eq!(requisition_amount(556_745, 500_000).unwrap(), 500_000);
        assert_eq!(
            requisition_amount(556_745, 556_746).unwrap_err().field(),
            Some("amount_kr")
        );
        assert_eq!(
            requisition_amount(556_745, -1).unwrap_err().field(),
            Some("amount_kr")
        );
        assert_eq!(requisition_amount(0, 0).unwrap_err().field(), Some("year"));
    }

    #[test]
    fn usage_leaves_the_unused_part_and_a_reclaim_takes_at_most_it() {
        // Ale kommun 2021–2023: 1 682 169 kr, 151 810 kr unused.
        assert_eq!(unused_after_usage(1_682_169, 1_530_359).unwrap(), 151_810);
        assert_eq!(unused_after_usage(10, 10).unwrap(), 0);
        assert_eq!(
            unused_after_usage(10, 11).unwrap_err().field(),
            Some("used_kr")
        );
        assert_eq!(
            unused_after_usage(10, -1).unwrap_err().field(),
            Some("used_kr")
        );
        assert_eq!(reclaim(151_810, 0, 0).unwrap(), 151_810);
        assert_eq!(reclaim(151_810, 0, 50_000).unwrap(), 50_000);
        assert_eq!(reclaim(151_810, 50_000, 0).unwrap(), 151_810);
        assert_eq!(
            reclaim(151_810, 50_000, 101_811).unwrap_err().field(),
            Some("amount_kr")
        );
        assert_eq!(
            reclaim(151_810, 151_810, 0).unwrap_err().field(),
            Some("amount_kr")
        );
        assert_eq!(reclaim(0, 0, 0).unwrap_err().field(), Some("amount_kr"));
    }

    fn entry(granted: i64, status: RequisitionStatus, req: i64, redist: i64) -> GrantLedgerEntry {
        GrantLedgerEntry {
            granted_kr: granted,
            requisition_status: status as i32,
            requisitioned_kr: req,
            redistributed_kr: redist,
            ..Default::default()
        }
    }

    #[test]
    fn a_year_reconciles_granted_against_available_and_flags_differences() {
        let a = entry(600, RequisitionStatus::Approved, 600, 10);
        let b = entry(400, RequisitionStatus::Requested, 390, 0);
        let r = year_report(2023, 1_000, &[&a, &b], true);
        assert_eq!(
            (r.granted_kr, r.requisitioned_kr, r.paid_kr, r.difference_kr),
            (1_000, 600, 610, 0)
        );
        assert!(r.flags.is_empty(), "{:?}", r.flags);
        let r = year_report(2023, 999, &[&a, &b], true);
        assert_eq!(r.difference_kr, 1);
        assert_eq!(r.flags, vec!["granted_differs_from_available"]);
        let r = year_report(2023, 0, &[&a, &b], true);
        assert_eq!(r.flags, vec!["no_available_recorded"]);
        let r = year_report(2023, 605, &[&a], true);
        assert_eq!(
            r.flags,
            vec!["granted_differs_from_available", "paid_exceeds_available"]
        );
        // A county's rows are not compared with the national sum.
        let r = year_report(2023, 999, &[&a], false);
        assert!(r.flags.is_empty() && r.difference_kr == 0);
    }

    #[test]
    fn row_flags() {
        let mut e = entry(100, RequisitionStatus::Approved, 120, 0);
        assert_eq!(entry_flags(&e), vec!["requisition_exceeds_grant"]);
        e.requisitioned_kr = 100;
        e.usage_reported = true;
        e.unused_kr = 5;
        assert_eq!(entry_flags(&e), vec!["unused_not_reclaimed"]);
        e.reclaimed_kr = 5;
        assert!(entry_flags(&e).is_empty());
    }

    proptest! {
        #[test]
        fn redistribution_is_exact_and_even(
            leftover in 1i64..=MAX_KR,
            n in 1usize..400,
        ) {
            let s = redistribute(leftover, &codes(n)).unwrap();
            prop_assert_eq!(s.len(), n);
            prop_assert_eq!(s.iter().map(|x| x.1).sum::<i64>(), leftover);
            let lo = s.iter().map(|x| x.1).min().unwrap();
            let hi = s.iter().map(|x| x.1).max().unwrap();
            prop_assert!(hi - lo <= 1);
            // The larger shares come first (lowest codes).
            prop_assert!(s.windows(2).all(|w| w[0].1 >= w[1].1));
        }

        #[test]
        fn usage_and_reclaims_never_exceed_what_was_paid(
            paid in 0i64..=1_000_000_000,
            used_part in 0u32..=1000,
            first in 0i64..=1_000_000_000,
        ) {
            let used = paid * i64::from(used_part) / 1000;
            let unused = unused_after_usage(paid, used).unwrap();
            prop_assert_eq!(unused + used, paid);
            if let Ok(r) = reclaim(unused, 0, first) {
                prop_assert!(r <= unused && r >= 1);
                if let Ok(r2) = reclaim(unused, r, 0) {
                    prop_assert_eq!(r2, unused);
                }
            }
        }
    }
}
