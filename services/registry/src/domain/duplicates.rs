//! What makes two records a possible duplicate (flagged for the office,
//! never merged). The store looks up candidates by the same keys (an adult's
//! personnummer, the address key, a child's personnummer); these functions
//! decide.

use super::home::{address_key, is_ended};
use samling_proto::registry::v1::{Child, DuplicateFlag, DuplicateKind, Home, MemberRole};

/// The personnummer of the adults of a home (members other than children,
/// with a personnummer): the keys of [`DuplicateKind::SameAdultInTwoHomes`].
pub fn adult_personnummers(h: &Home) -> Vec<&str> {
    h.members
        .iter()
        .filter(|m| m.role != MemberRole::Child as i32 && !m.personnummer.is_empty())
        .map(|m| m.personnummer.as_str())
        .collect()
}

/// The address key of a home, if it has an address (the key of
/// [`DuplicateKind::SameAddressTwoHomes`]).
pub fn home_address_key(h: &Home) -> Option<String> {
    h.address.as_ref().map(address_key)
}

/// Why `other` may be a duplicate of `home`, in flagging order: an adult of
/// `home` is a member of `other`; both are at the same address. Only
/// another home that has not ended counts.
pub fn home_duplicate_kinds(home: &Home, other: &Home) -> Vec<DuplicateKind> {
    let mut kinds = Vec::new();
    if other.id == home.id || is_ended(other) {
        return kinds;
    }
    let adults = adult_personnummers(home);
    if other
        .members
        .iter()
        .any(|m| !m.personnummer.is_empty() && adults.contains(&m.personnummer.as_str()))
    {
        kinds.push(DuplicateKind::SameAdultInTwoHomes);
    }
    if let (Some(a), Some(b)) = (home_address_key(home), home_address_key(other))
        && a == b
    {
        kinds.push(DuplicateKind::SameAddressTwoHomes);
    }
    kinds
}

/// Another child record with the same personnummer (any municipality).
pub fn same_child(child: &Child, other: &Child) -> bool {
    other.id != child.id
        && !child.personnummer.is_empty()
        && other.personnummer == child.personnummer
}

/// One flag per pair and kind, whichever way round and whatever its status:
/// re-checking a record on every edit must not raise a pair again.
pub fn already_flagged(flags: &[DuplicateFlag], kind: DuplicateKind, a: &str, b: &str) -> bool {
    flags.iter().any(|f| {
        f.kind == kind as i32
            && ((f.record_id == a && f.other_record_id == b)
                || (f.record_id == b && f.other_record_id == a))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_proto::registry::v1::{Address, HomeStatus, HouseholdMember};

    fn member(pnr: &str, role: MemberRole) -> HouseholdMember {
        HouseholdMember {
            personnummer: pnr.into(),
            role: role as i32,
            ..Default::default()
        }
    }

    fn home(id: &str, street: &str, members: Vec<HouseholdMember>) -> Home {
        Home {
            id: id.into(),
            status: HomeStatus::Approved as i32,
            address: Some(Address {
                street: street.into(),
                postal_code: "111 22".into(),
                city: "Stockholm".into(),
            }),
            members,
            ..Default::default()
        }
    }

    #[test]
    fn an_adult_in_another_home_is_flagged() {
        let a = home("a", "Storgatan 1", vec![member("1", MemberRole::Carer)]);
        let b = home("b", "Lillgatan 2", vec![member("1", MemberRole::Carer)]);
        assert_eq!(
            home_duplicate_kinds(&a, &b),
            vec![DuplicateKind::SameAdultInTwoHomes]
        );
    }

    #[test]
    fn the_same_address_written_differently_is_flagged_with_the_adult_first() {
        let a = home("a", "Storgatan 1", vec![member("1", MemberRole::Carer)]);
        let b = home(
            "b",
            "storgatan  1",
            vec![member("1", MemberRole::OtherAdult)],
        );
        assert_eq!(
            home_duplicate_kinds(&a, &b),
            vec![
                DuplicateKind::SameAdultInTwoHomes,
                DuplicateKind::SameAddressTwoHomes
            ]
        );
    }

    #[test]
    fn children_without_or_with_a_shared_personnummer_are_not_an_adult_match() {
        let a = home(
            "a",
            "Storgatan 1",
            vec![
                member("1", MemberRole::Carer),
                member("", MemberRole::Child),
            ],
        );
        let b = home("b", "Lillgatan 2", vec![member("", MemberRole::Child)]);
        assert!(home_duplicate_kinds(&a, &b).is_empty());
        // A child of `a` who is a carer's namesake elsewhere is not `a`'s adult.
        let a = home("a", "Storgatan 1", vec![member("2", MemberRole::Child)]);
        let b = home("b", "Lillgatan 2", vec![member("2", MemberRole::Carer)]);
        assert!(home_duplicate_kinds(&a, &b).is_empty());
    }

    #[test]
    fn an_ended_home_or_the_home_itself_is_no_duplicate() {
        let a = home("a", "Storgatan 1", vec![member("1", MemberRole::Carer)]);
        let mut b = home("b", "Storgatan 1", vec![member("1", MemberRole::Carer)]);
        b.status = HomeStatus::Ended as i32;
        assert!(home_duplicate_kinds(&a, &b).is_empty());
        assert!(home_duplicate_kinds(&a, &a).is_empty());
        b.status = HomeStatus::Applicant as i32;
        assert_eq!(home_duplicate_kinds(&a, &b).len(), 2);
    }

    #[test]
    fn a_child_registered_twice_is_the_same_personnummer_under_another_id() {
        let c = |id: &str, pnr: &str| Child {
            id: id.into(),
            personnummer: pnr.into(),
            ..Default::default()
        };
        assert!(same_child(&c("a", "201001012380"), &c("b", "201001012380")));
        assert!(!same_child(
            &c("a", "201001012380"),
            &c("a", "201001012380")
        ));
        assert!(!same_child(
            &c("a", "201001012380"),
            &c("b", "201001012398")
        ));
        assert!(!same_child(&c("a", ""), &c("b", "")));
    }

    #[test]
    fn a_pair_is_flagged_once_per_kind_either_way_round() {
        let f = DuplicateFlag {
            kind: DuplicateKind::SameAddressTwoHomes as i32,
            record_id: "a".into(),
            other_record_id: "b".into(),
            ..Default::default()
        };
        let flags = [f];
        assert!(already_flagged(
            &flags,
            DuplicateKind::SameAddressTwoHomes,
            "b",
            "a"
        ));
        assert!(!already_flagged(
            &flags,
            DuplicateKind::SameAdultInTwoHomes,
            "a",
            "b"
        ));
        assert!(!already_flagged(
            &flags,
            DuplicateKind::SameAddressTwoHomes,
            "a",
            "c"
        ));
    }
}
