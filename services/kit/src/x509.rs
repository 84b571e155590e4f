//! The one X.509 fact Samling reads itself: when a certificate stops being
//! valid (RFC 5280 §4.1: `Certificate` → `tbsCertificate` → `validity` →
//! `notAfter`). rustls checks certificates at each handshake but does not
//! say when ours expires; operators need to know before it does.

use chrono::{DateTime, NaiveDate, Utc};

/// One DER element: its tag, its contents and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        // Long form: the next `n` bytes are the length (DER: at most 4 here).
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, after) = rest.split_at(n);
        rest = after;
        bytes.iter().fold(0usize, |l, &b| (l << 8) | usize::from(b))
    };
    if rest.len() < len {
        return None;
    }
    let (contents, after) = rest.split_at(len);
    Some((tag, contents, after))
}

/// The element at the head of `input` when it has tag `tag`.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match element(input)? {
        (t, contents, rest) if t == tag => Some((contents, rest)),
        _ => None,
    }
}

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0; // [0] EXPLICIT
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// `notAfter` of a DER certificate; `None` when it is not one.
pub fn not_after(cert: &[u8]) -> Option<DateTime<Utc>> {
    let (cert, _) = expect(cert, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let tbs = match expect(tbs, VERSION) {
        Some((_, rest)) => rest,
        None => tbs,
    };
    let (_serial, rest) = expect(tbs, INTEGER)?;
    let (_signature, rest) = expect(rest, SEQUENCE)?;
    let (_issuer, rest) = expect(rest, SEQUENCE)?;
    let (validity, _) = expect(rest, SEQUENCE)?;
    let (_, _not_before, rest) = element(validity)?;
    let (tag, time, _) = element(rest)?;
    parse_time(tag, time)
}

/// UTCTime `YYMMDDHHMMSSZ` (years 1950–2049) or GeneralizedTime
/// `YYYYMMDDHHMMSSZ`, as RFC 5280 §4.1.2.5 requires them.
fn parse_time(tag: u8, text: &[u8]) -> Option<DateTime<Utc>> {
    let digits = text.strip_suffix(b"Z")?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let num = |s: &[u8]| s.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let (year, rest) = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            let yy = num(&digits[..2]) as i32;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (GENERALIZED_TIME, 14) => (num(&digits[..4]) as i32, &digits[4..]),
        _ => return None,
    };
    let part = |i: usize| num(&rest[i..i + 2]);
    NaiveDate::from_ymd_opt(year, part(0), part(2))?
        .and_hms_opt(part(4), part(6), part(8))
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair, date_time_ymd};

    fn cert_until(year: i32, month: u8, day: u8) -> Vec<u8> {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["samling".into()]).unwrap();
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(year, month, day);
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_expiry_is_read_in_either_time_form() {
        // UTCTime up to 2049, GeneralizedTime from 2050 (RFC 5280).
        for (y, m, d) in [(2027, 3, 31), (2049, 12, 31), (2050, 1, 1), (2126, 6, 15)] {
            let t = not_after(&cert_until(y, m, d)).expect("an expiry");
            assert_eq!(
                t.date_naive(),
                NaiveDate::from_ymd_opt(y, m.into(), d.into()).unwrap()
            );
        }
    }

    #[test]
    fn what_is_not_a_certificate_has_no_expiry() {
        let good = cert_until(2030, 1, 1);
        assert!(not_after(&[]).is_none());
        assert!(not_after(b"-----BEGIN CERTIFICATE-----").is_none());
        // Every truncation of a real certificate: no answer, no panic.
        for n in 0..good.len() {
            assert!(not_after(&good[..n]).is_none(), "cut at {n}");
        }
        assert_eq!(parse_time(UTC_TIME, b"2702301200Z"), None, "30 February");
        assert_eq!(parse_time(UTC_TIME, b"27013112000Z"), None);
        assert_eq!(parse_time(GENERALIZED_TIME, b"2027013112000\xc3\xa5"), None);
    }
}
