//! Balancing: a newly placed child gets the ombud with the fewest active
//! children; ties go to the ombud registered first, then the smaller
//! subject (deterministic). Pure.

/// An ombud as the balancing sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    pub subject: String,
    pub registered_at: String,
    pub active: i64,
}

/// The ombud to assign next, if the region has any.
pub fn pick(loads: &[Load]) -> Option<&Load> {
    loads.iter().min_by(|a, b| {
        (a.active, &a.registered_at, &a.subject).cmp(&(b.active, &b.registered_at, &b.subject))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &str, at: &str, n: i64) -> Load {
        Load {
            subject: s.into(),
            registered_at: at.into(),
            active: n,
        }
    }

    #[test]
    fn fewest_children_then_first_registered_then_subject() {
        assert!(pick(&[]).is_none());
        let v = [l("b", "2", 1), l("a", "3", 1), l("c", "1", 2)];
        assert_eq!(pick(&v).unwrap().subject, "b");
        let v = [l("b", "1", 0), l("a", "1", 0)];
        assert_eq!(pick(&v).unwrap().subject, "a");
        let v = [l("b", "1", 3), l("a", "1", 4)];
        assert_eq!(pick(&v).unwrap().subject, "b");
    }
}
