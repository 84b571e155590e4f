//! The ISO 20022 credit-transfer initiation, pain.001.001.09: one payment
//! information block (the region's account pays), one transaction per
//! statement paid by transfer. Made from stored values only, so the same
//! run always makes the same bytes (no clock, no randomness here).

use super::CompensationError;
use chrono::NaiveDate;
use serde::Deserialize;
use std::fmt::Write as _;

type R<T> = Result<T, CompensationError>;

pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";

/// The region's own account: the debtor of its files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payer {
    /// The region's name as the bank shows it (≤ 140 characters).
    pub name: String,
    pub iban: String,
    /// The bank's BIC (8 or 11 characters).
    pub bic: String,
}

impl Payer {
    pub fn check(&self, field: &str) -> R<()> {
        let n = self.name.trim();
        if n.is_empty() || n.chars().count() > 140 {
            return Err(CompensationError::invalid(
                format!("{field}.name"),
                "must be 1–140 characters",
            ));
        }
        super::payments::check_iban(&format!("{field}.iban"), &self.iban)?;
        let bic = self.bic.trim();
        let ok = (bic.len() == 8 || bic.len() == 11)
            && bic[..6].bytes().all(|b| b.is_ascii_uppercase())
            && bic[6..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !ok {
            return Err(CompensationError::invalid(
                format!("{field}.bic"),
                "is not a BIC (8 or 11 letters and digits)",
            ));
        }
        Ok(())
    }
}

/// One transfer: to `iban`, `amount_ore` (> 0), identified end to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub end_to_end_id: String,
    pub amount_ore: i64,
    pub iban: String,
    /// Unstructured remittance text (≤ 140 characters; ids and the month
    /// only, nothing personal).
    pub remittance: String,
}

/// The document. `message_id` ≤ 35 characters; `created_at` an RFC 3339
/// instant (the run's); at least one transfer.
pub fn document(
    message_id: &str,
    created_at: &str,
    execution_date: NaiveDate,
    payer: &Payer,
    transfers: &[Transfer],
) -> R<String> {
    if message_id.is_empty() || message_id.len() > 35 {
        return Err(CompensationError::invalid(
            "message_id",
            "must be 1–35 characters",
        ));
    }
    if transfers.is_empty() {
        return Err(CompensationError::precondition(
            "the run has no transfer to make (no home with an account and pay)",
        ));
    }
    if let Some(t) = transfers.iter().find(|t| t.amount_ore <= 0) {
        return Err(CompensationError::invalid(
            "amount_ore",
            format!("transfer {} is not positive", t.end_to_end_id),
        ));
    }
    let count = transfers.len();
    let sum: i64 = transfers.iter().map(|t| t.amount_ore).sum();
    let mut x = String::new();
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Document xmlns=\"{NAMESPACE}\">\n\
         <CstmrCdtTrfInitn>\n\
         <GrpHdr><MsgId>{mid}</MsgId><CreDtTm>{created}</CreDtTm><NbOfTxs>{count}</NbOfTxs>\
         <CtrlSum>{sum}</CtrlSum><InitgPty><Nm>{name}</Nm></InitgPty></GrpHdr>\n\
         <PmtInf><PmtInfId>{mid}</PmtInfId><PmtMtd>TRF</PmtMtd><NbOfTxs>{count}</NbOfTxs>\
         <CtrlSum>{sum}</CtrlSum><PmtTpInf><SvcLvl><Cd>NURG</Cd></SvcLvl></PmtTpInf>\
         <ReqdExctnDt><Dt>{exec}</Dt></ReqdExctnDt>\
         <Dbtr><Nm>{name}</Nm></Dbtr><DbtrAcct><Id><IBAN>{diban}</IBAN></Id></DbtrAcct>\
         <DbtrAgt><FinInstnId><BICFI>{bic}</BICFI></FinInstnId></DbtrAgt><ChrgBr>SLEV</ChrgBr>\n",
        mid = escape(message_id),
        created = escape(created_at),
        sum = kronor(sum),
        name = escape(payer.name.trim()),
        exec = execution_date.format("%Y-%m-%d"),
        diban = escape(&payer.iban),
        bic = escape(payer.bic.trim()),
    );
    for t in transfers {
        let _ = writeln!(
            x,
            "<CdtTrfTxInf><PmtId><EndToEndId>{e2e}</EndToEndId></PmtId>\
             <Amt><InstdAmt Ccy=\"SEK\">{amt}</InstdAmt></Amt>\
             <CdtrAcct><Id><IBAN>{iban}</IBAN></Id></CdtrAcct>\
             <RmtInf><Ustrd>{rmt}</Ustrd></RmtInf></CdtTrfTxInf>",
            e2e = escape(&t.end_to_end_id),
            amt = kronor(t.amount_ore),
            iban = escape(&t.iban),
            rmt = escape(&t.remittance.chars().take(140).collect::<String>()),
        );
    }
    x.push_str("</PmtInf>\n</CstmrCdtTrfInitn>\n</Document>\n");
    Ok(x)
}

/// Öre as kronor with two decimals and a point: 123456 → "1234.56".
pub fn kronor(ore: i64) -> String {
    let sign = if ore < 0 { "-" } else { "" };
    let a = ore.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::payments::iban_of;
    use crate::domain::schedule::tests::day;
    use samling_kit::error::ServiceError;

    pub fn payer() -> Payer {
        Payer {
            name: "Region Stockholm-Gotland & Co".into(),
            iban: iban_of("SE", "50000000058398257466"),
            bic: "ESSESESS".into(),
        }
    }

    #[test]
    fn amounts_are_kronor_with_two_decimals() {
        assert_eq!(kronor(123_456), "1234.56");
        assert_eq!(kronor(5), "0.05");
        assert_eq!(kronor(100), "1.00");
        assert_eq!(kronor(-250), "-2.50");
    }

    #[test]
    fn the_document_counts_sums_and_escapes() {
        let t = vec![
            Transfer {
                end_to_end_id: "202603-000001".into(),
                amount_ore: 123_456,
                iban: iban_of("SE", "12000000012345678901"),
                remittance: "Familjehem 2026-03".into(),
            },
            Transfer {
                end_to_end_id: "202603-000002".into(),
                amount_ore: 44,
                iban: iban_of("SE", "12000000012345678902"),
                remittance: "Familjehem 2026-03".into(),
            },
        ];
        let x = document(
            "RUN-1",
            "2026-12-01T09:00:00Z",
            day(2026, 3, 25),
            &payer(),
            &t,
        )
        .unwrap();
        assert!(
            x.contains("<NbOfTxs>2</NbOfTxs><CtrlSum>1235.00</CtrlSum>"),
            "{x}"
        );
        assert!(x.contains("<InstdAmt Ccy=\"SEK\">0.44</InstdAmt>"));
        assert!(x.contains("<Nm>Region Stockholm-Gotland &amp; Co</Nm>"));
        assert!(x.contains("<ReqdExctnDt><Dt>2026-03-25</Dt></ReqdExctnDt>"));
        // The same input, the same bytes.
        assert_eq!(
            x,
            document(
                "RUN-1",
                "2026-12-01T09:00:00Z",
                day(2026, 3, 25),
                &payer(),
                &t
            )
            .unwrap()
        );
        assert!(document("RUN-1", "t", day(2026, 3, 25), &payer(), &[]).is_err());
        let mut zero = t.clone();
        zero[1].amount_ore = 0;
        assert_eq!(
            document("RUN-1", "t", day(2026, 3, 25), &payer(), &zero)
                .unwrap_err()
                .field(),
            Some("amount_ore")
        );
        assert_eq!(
            document(&"x".repeat(36), "t", day(2026, 3, 25), &payer(), &t)
                .unwrap_err()
                .field(),
            Some("message_id")
        );
    }

    #[test]
    fn the_payer_is_checked() {
        payer().check("p").unwrap();
        let mut p = payer();
        p.bic = "ESSE".into();
        assert_eq!(p.check("p").unwrap_err().field(), Some("p.bic"));
        let mut p = payer();
        p.iban = "SE00".into();
        assert_eq!(p.check("p").unwrap_err().field(), Some("p.iban"));
    }
}
