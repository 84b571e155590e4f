//! User surveys (docs/ombud.md "User surveys", ADR 0044; seed 003
//! ≈6731–6736, 6842–6895): the versioned questionnaire, the variant a
//! child answers (age band, placement form, easy-read), what a valid answer
//! is, the one-time token, and the suppressed aggregates the Brukarråd
//! reads. Pure: no I/O, "today" a parameter.
//!
//! Every question is asked of every variant (only its wording is adapted),
//! and every question has the option 0 "vet inte / vill inte svara", so
//! every question's row total is the number of respondents: one table of
//! respondents fixes the totals of every question's table, and no
//! question's table reveals a count the others hide.

use super::OmbudError;
use chrono::{Datelike, NaiveDate};
use samling_proto::ombud::v1::{
    SurveyAgeBand, SurveyAnswer, SurveyCount, SurveyPlacementForm, SurveyQuestion,
    SurveyQuestionKind, SurveyVariant,
};
use sha2::{Digest, Sha256};

/// Counts of 1 to this less one are published as "<5".
pub const MIN_COUNT: u64 = 5;

/// The youngest age invited (younger children are not asked in writing).
pub const MIN_AGE: i32 = 7;

/// One question of the questionnaire, in Swedish: the standard wording
/// (13–17), the younger children's, the young adults', the easy-read one.
/// `{plats}` is replaced by the placement form's word for where the child
/// lives.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    pub id: &'static str,
    pub kind: SurveyQuestionKind,
    pub youth: &'static str,
    pub child: &'static str,
    pub adult: &'static str,
    pub easy: &'static str,
}

/// A version of the questionnaire (a round names the version it asks).
#[derive(Debug, Clone, Copy)]
pub struct Questionnaire {
    pub version: i32,
    pub questions: &'static [Question],
}

use SurveyQuestionKind::{Likert5, YesNo};

const V1: &[Question] = &[
    Question {
        id: "safe_where_i_live",
        kind: Likert5,
        youth: "Jag känner mig trygg {plats}.",
        child: "Jag känner mig trygg {plats}.",
        adult: "Jag känner mig trygg {plats}.",
        easy: "Är du trygg {plats}?",
    },
    Question {
        id: "know_my_ombud",
        kind: YesNo,
        youth: "Jag vet vem mitt barnrättsombud är.",
        child: "Jag vet vem som är mitt ombud, den som hjälper mig att säga vad jag tycker.",
        adult: "Jag vet vem mitt barnrättsombud är och hur jag når hen.",
        easy: "Vet du vem ditt ombud är?",
    },
    Question {
        id: "say_what_i_think",
        kind: Likert5,
        youth: "Jag får säga vad jag tycker om min vård.",
        child: "De vuxna frågar vad jag tycker.",
        adult: "Jag får säga vad jag tycker om min vård och mitt boende.",
        easy: "Får du säga vad du tycker?",
    },
    Question {
        id: "listened_to",
        kind: Likert5,
        youth: "Det jag säger spelar roll när beslut tas om mig.",
        child: "De vuxna lyssnar på mig.",
        adult: "Det jag säger spelar roll när beslut tas om mig.",
        easy: "Lyssnar de vuxna på dig?",
    },
    Question {
        id: "adult_to_talk_to",
        kind: YesNo,
        youth: "Det finns en vuxen {plats} som jag kan prata med när något är svårt.",
        child: "Det finns en vuxen {plats} som jag kan prata med när jag är ledsen.",
        adult: "Det finns någon {plats} som jag kan prata med när något är svårt.",
        easy: "Finns det en vuxen du kan prata med?",
    },
    Question {
        id: "contact_with_family",
        kind: Likert5,
        youth: "Jag har så mycket kontakt med min familj och andra viktiga personer som jag vill.",
        child: "Jag får träffa min familj och mina vänner så mycket som jag vill.",
        adult: "Jag har så mycket kontakt med min familj och andra viktiga personer som jag vill.",
        easy: "Träffar du din familj så mycket du vill?",
    },
    Question {
        id: "school_works",
        kind: Likert5,
        youth: "Skolan fungerar bra för mig.",
        child: "Jag trivs i skolan.",
        adult: "Skola, studier eller arbete fungerar bra för mig.",
        easy: "Är det bra i skolan?",
    },
];

/// Every version of the questionnaire, oldest first.
pub const QUESTIONNAIRES: &[Questionnaire] = &[Questionnaire {
    version: 1,
    questions: V1,
}];

/// The questionnaire of `version`; the error names `field`.
pub fn questionnaire(field: &str, version: i32) -> Result<&'static Questionnaire, OmbudError> {
    QUESTIONNAIRES
        .iter()
        .find(|q| q.version == version)
        .ok_or_else(|| {
            OmbudError::invalid(
                field,
                format!(
                    "no questionnaire version {version} (known: {})",
                    QUESTIONNAIRES
                        .iter()
                        .map(|q| q.version.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

/// The placement forms a result is broken down by, in order.
pub const FORMS: [SurveyPlacementForm; 4] = [
    SurveyPlacementForm::FamilyHome,
    SurveyPlacementForm::Hvb,
    SurveyPlacementForm::SupportedHousing,
    SurveyPlacementForm::Other,
];

/// Where the child lives, in the question's words.
fn place_word(form: SurveyPlacementForm) -> &'static str {
    match form {
        SurveyPlacementForm::FamilyHome => "i mitt familjehem",
        SurveyPlacementForm::Hvb => "på mitt HVB",
        SurveyPlacementForm::SupportedHousing => "i mitt stödboende",
        _ => "där jag bor",
    }
}

/// The easy-read words for where the child lives.
fn place_word_easy(form: SurveyPlacementForm) -> &'static str {
    match form {
        SurveyPlacementForm::FamilyHome => "i familjehemmet",
        SurveyPlacementForm::Hvb => "på HVB",
        SurveyPlacementForm::SupportedHousing => "i stödboendet",
        _ => "där du bor",
    }
}

/// Age in whole years on `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// The age band of a child born `birth` on `on` (the round's first day);
/// younger than [`MIN_AGE`]: not asked.
pub fn age_band(birth: NaiveDate, on: NaiveDate) -> Option<SurveyAgeBand> {
    match age_on(birth, on) {
        a if a < MIN_AGE => None,
        a if a <= 12 => Some(SurveyAgeBand::Child7To12),
        a if a <= 17 => Some(SurveyAgeBand::Youth13To17),
        _ => Some(SurveyAgeBand::Adult18AndOver),
    }
}

/// The questions of `q` as `variant` words them.
pub fn questions_for(q: &Questionnaire, variant: &SurveyVariant) -> Vec<SurveyQuestion> {
    let form =
        SurveyPlacementForm::try_from(variant.placement_form).unwrap_or(SurveyPlacementForm::Other);
    let band = SurveyAgeBand::try_from(variant.age_band).unwrap_or(SurveyAgeBand::Youth13To17);
    q.questions
        .iter()
        .map(|x| {
            let text = if variant.easy_read {
                x.easy.replace("{plats}", place_word_easy(form))
            } else {
                let t = match band {
                    SurveyAgeBand::Child7To12 => x.child,
                    SurveyAgeBand::Adult18AndOver => x.adult,
                    _ => x.youth,
                };
                t.replace("{plats}", place_word(form))
            };
            SurveyQuestion {
                id: x.id.to_string(),
                kind: x.kind as i32,
                text,
            }
        })
        .collect()
}

/// The highest answer value of a kind (0 is "vet inte").
pub fn max_value(kind: SurveyQuestionKind) -> i32 {
    match kind {
        YesNo => 2,
        _ => 5,
    }
}

/// Check the answers against the questionnaire and complete them: every
/// question once, in the questionnaire's order; a question left out is
/// recorded as 0 ("vet inte / vill inte svara"). Errors name the field
/// (`answers[i].question_id`, `answers[i].value`).
pub fn complete_answers(
    q: &Questionnaire,
    answers: &[SurveyAnswer],
) -> Result<Vec<SurveyAnswer>, OmbudError> {
    let mut values: Vec<Option<i32>> = vec![None; q.questions.len()];
    for (i, a) in answers.iter().enumerate() {
        let Some(k) = q.questions.iter().position(|x| x.id == a.question_id) else {
            return Err(OmbudError::invalid(
                format!("answers[{i}].question_id"),
                "is not a question of the round's questionnaire",
            ));
        };
        if values[k].is_some() {
            return Err(OmbudError::invalid(
                format!("answers[{i}].question_id"),
                "is answered twice",
            ));
        }
        let max = max_value(q.questions[k].kind);
        if !(0..=max).contains(&a.value) {
            return Err(OmbudError::invalid(
                format!("answers[{i}].value"),
                format!("must be between 0 and {max}"),
            ));
        }
        values[k] = Some(a.value);
    }
    Ok(q.questions
        .iter()
        .zip(values)
        .map(|(x, v)| SurveyAnswer {
            question_id: x.id.to_string(),
            value: v.unwrap_or(0),
        })
        .collect())
}

// ------------------------------------------------------------------ tokens

/// A fresh one-time token: 128 random bits as 32 hex digits.
pub fn new_token(random: [u8; 16]) -> String {
    hex::encode(random)
}

/// A token as sent: 32 hex digits (either case); the error names `token`.
pub fn parse_token(token: &str) -> Result<String, OmbudError> {
    let t = token.trim().to_ascii_lowercase();
    if t.len() != 32 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(OmbudError::invalid(
            "token",
            "must be the invitation's token (32 hex digits)",
        ));
    }
    Ok(t)
}

/// What is kept of a token: its SHA-256 (the token itself is 128 random
/// bits, so no salt is needed against guessing).
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

// ------------------------------------------------------------- suppression

/// A count as published (ADR 0017's rule, kit's `disclosure`, over a
/// table): 1–4 is "<5"; a count hidden so that no "<5" can be worked out
/// is ".." (it is at least 5); zeros are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Shown(u64),
    /// 1–4.
    Small,
    /// Hidden to protect a small count (at least 5).
    Hidden,
}

impl Cell {
    pub fn to_proto(self) -> SurveyCount {
        match self {
            Cell::Shown(n) => SurveyCount {
                value: n.to_string(),
                suppressed: false,
            },
            Cell::Small => SurveyCount {
                value: SMALL.into(),
                suppressed: true,
            },
            Cell::Hidden => SurveyCount {
                value: HIDDEN.into(),
                suppressed: true,
            },
        }
    }
    pub fn shown(self) -> Option<u64> {
        match self {
            Cell::Shown(n) => Some(n),
            _ => None,
        }
    }
}

/// How a count of 1–4 is published.
pub const SMALL: &str = samling_kit::disclosure::SMALL;
/// How a count hidden to protect a small one is published.
pub const HIDDEN: &str = samling_kit::disclosure::HIDDEN;

/// Unbounded, for interval arithmetic.
const INF: i64 = 1 << 40;

/// What a reader can tell of a count from how it is published: its range.
pub fn range(value: u64, cell: Cell) -> (i64, i64) {
    match cell {
        Cell::Shown(_) => (value as i64, value as i64),
        Cell::Small => (1, MIN_COUNT as i64 - 1),
        Cell::Hidden => (MIN_COUNT as i64, INF),
    }
}

/// Can a hidden member of the line `parts` (adding up to `sum`) be worked
/// out exactly from the published ranges? A member is pinned when the
/// bounds the others leave it meet.
fn exposed(parts: &[usize], sum: usize, value: &[u64], cell: &[Cell]) -> bool {
    let ranges: Vec<(i64, i64)> = parts.iter().map(|&m| range(value[m], cell[m])).collect();
    let (tlo, thi) = range(value[sum], cell[sum]);
    let sum_lo: i64 = ranges.iter().map(|r| r.0).sum();
    let sum_hi: i64 = ranges.iter().map(|r| r.1).sum();
    for (i, &m) in parts.iter().enumerate() {
        if cell[m].shown().is_some() {
            continue;
        }
        let (lo, hi) = ranges[i];
        let min = lo.max(tlo - (sum_hi - hi));
        let max = hi.min(if thi >= INF { INF } else { thi - (sum_lo - lo) });
        if min >= max {
            return true;
        }
    }
    if cell[sum].shown().is_none() {
        let min = tlo.max(sum_lo);
        let max = thi.min(sum_hi);
        if min >= max {
            return true;
        }
    }
    false
}

/// A table as published: `cells[r][c]`, each row's total, each column's
/// total (the "all rows" row), the grand total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub cells: Vec<Vec<Cell>>,
    pub row_totals: Vec<Cell>,
    pub col_totals: Vec<Cell>,
    pub total: Cell,
}

/// The lines of a `rows` × `cols` table (members: cells `r*cols+c`, then
/// the row totals, the column totals, the grand total): each row with its
/// total, each column with its total, the column totals with the grand
/// total, the row totals with the grand total. `(parts, sum)`.
pub fn lines(rows: usize, cols: usize) -> Vec<(Vec<usize>, usize)> {
    let rt = rows * cols;
    let ct = rt + rows;
    let gt = ct + cols;
    let mut out = Vec::new();
    for r in 0..rows {
        out.push(((0..cols).map(|c| r * cols + c).collect(), rt + r));
    }
    for c in 0..cols {
        out.push(((0..rows).map(|r| r * cols + c).collect(), ct + c));
    }
    out.push(((0..cols).map(|c| ct + c).collect(), gt));
    out.push(((0..rows).map(|r| rt + r).collect(), gt));
    out
}

/// Suppress one table of counts for publication ([`suppress_tables`]).
pub fn suppress(counts: &[Vec<u64>]) -> Published {
    suppress_tables(&[counts.to_vec()]).remove(0)
}

/// Suppress tables that share their rows and their row totals (each
/// question's answers per placement form: every question's row total is
/// the form's respondents) for publication, together, so that no table
/// shows what another hides.
///
/// * Primary: every count of 1–4 — cells and totals alike — is "<5".
/// * Complementary: while a line of any table (see [`lines`]; the row
///   totals and the grand total are the same members in every table) lets
///   a hidden count be worked out from what is shown, the smallest shown
///   non-zero member of that line is hidden too ("..", at least 5).
pub fn suppress_tables(tables: &[Vec<Vec<u64>>]) -> Vec<Published> {
    let rows = tables.first().map_or(0, Vec::len);
    // Members: row totals 0..rows, the grand total, then per table its
    // cells and its column totals.
    let gt = rows;
    let mut value = vec![0u64; rows + 1];
    if let Some(first) = tables.first() {
        for (r, row) in first.iter().enumerate() {
            value[r] = row.iter().sum();
            value[gt] += value[r];
        }
    }
    let mut offsets = Vec::new();
    for t in tables {
        let cols = t.first().map_or(0, Vec::len);
        let base = value.len();
        value.extend(std::iter::repeat_n(0, rows * cols + cols));
        for (r, row) in t.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                value[base + r * cols + c] = v;
                value[base + rows * cols + c] += v;
            }
        }
        offsets.push((base, cols));
    }
    // A table's member index → the shared index.
    let map = |base: usize, cols: usize, m: usize| -> usize {
        let rt = rows * cols;
        let ct = rt + rows;
        if m < rt {
            base + m
        } else if m < ct {
            m - rt
        } else if m < ct + cols {
            base + rt + (m - ct)
        } else {
            gt
        }
    };
    let mut all_lines: Vec<(Vec<usize>, usize)> = Vec::new();
    for &(base, cols) in &offsets {
        for (parts, sum) in lines(rows, cols) {
            all_lines.push((
                parts.iter().map(|&m| map(base, cols, m)).collect(),
                map(base, cols, sum),
            ));
        }
    }
    let mut cell: Vec<Cell> = value
        .iter()
        .map(|&v| {
            if (1..MIN_COUNT).contains(&v) {
                Cell::Small
            } else {
                Cell::Shown(v)
            }
        })
        .collect();
    loop {
        let mut changed = false;
        for (parts, sum) in &all_lines {
            if !exposed(parts, *sum, &value, &cell) {
                continue;
            }
            let pick = parts
                .iter()
                .copied()
                .chain(std::iter::once(*sum))
                .filter(|&m| value[m] > 0 && cell[m].shown().is_some())
                .min_by_key(|&m| (value[m], m));
            if let Some(m) = pick {
                cell[m] = Cell::Hidden;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    offsets
        .iter()
        .map(|&(base, cols)| Published {
            cells: (0..rows)
                .map(|r| (0..cols).map(|c| cell[base + r * cols + c]).collect())
                .collect(),
            row_totals: (0..rows).map(|r| cell[r]).collect(),
            col_totals: (0..cols).map(|c| cell[base + rows * cols + c]).collect(),
            total: cell[gt],
        })
        .collect()
}

/// The mean of Likert values 1–5 of a row of counts per value (index =
/// value; 0, "vet inte", left out), to one decimal, only when every count
/// of the row is shown (a mean beside a hidden count would give it away).
pub fn likert_mean(row: &[Cell]) -> Option<String> {
    let mut n = 0u64;
    let mut sum = 0u64;
    for (v, c) in row.iter().enumerate() {
        let k = c.shown()?;
        if v > 0 {
            n += k;
            sum += k * v as u64;
        }
    }
    if n == 0 {
        return None;
    }
    Some(format!("{:.1}", sum as f64 / n as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use samling_kit::error::ServiceError;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn the_age_band_is_the_age_on_the_rounds_first_day() {
        let start = d(2026, 12, 1);
        assert_eq!(age_band(d(2020, 1, 1), start), None); // 6
        assert_eq!(
            age_band(d(2019, 12, 1), start),
            Some(SurveyAgeBand::Child7To12)
        );
        assert_eq!(age_band(d(2019, 12, 2), start), None); // 7 tomorrow
        assert_eq!(
            age_band(d(2014, 1, 1), start),
            Some(SurveyAgeBand::Child7To12)
        ); // 12
        assert_eq!(
            age_band(d(2013, 12, 1), start),
            Some(SurveyAgeBand::Youth13To17)
        );
        assert_eq!(
            age_band(d(2008, 12, 2), start),
            Some(SurveyAgeBand::Youth13To17)
        ); // 17
        assert_eq!(
            age_band(d(2008, 12, 1), start),
            Some(SurveyAgeBand::Adult18AndOver)
        );
    }

    #[test]
    fn every_variant_asks_the_same_questions_in_its_own_words() {
        let q = questionnaire("questionnaire_version", 1).unwrap();
        let v = |band: SurveyAgeBand, form: SurveyPlacementForm, easy: bool| SurveyVariant {
            age_band: band as i32,
            placement_form: form as i32,
            easy_read: easy,
        };
        let hvb = questions_for(
            q,
            &v(SurveyAgeBand::Youth13To17, SurveyPlacementForm::Hvb, false),
        );
        let fh = questions_for(
            q,
            &v(
                SurveyAgeBand::Child7To12,
                SurveyPlacementForm::FamilyHome,
                false,
            ),
        );
        let easy = questions_for(
            q,
            &v(
                SurveyAgeBand::Child7To12,
                SurveyPlacementForm::SupportedHousing,
                true,
            ),
        );
        let ids = |qs: &[SurveyQuestion]| qs.iter().map(|x| x.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&hvb), ids(&fh));
        assert_eq!(ids(&hvb), ids(&easy));
        assert_eq!(hvb[0].text, "Jag känner mig trygg på mitt HVB.");
        assert_eq!(fh[0].text, "Jag känner mig trygg i mitt familjehem.");
        assert_eq!(easy[0].text, "Är du trygg i stödboendet?");
        assert_ne!(hvb[2].text, fh[2].text);
        assert!(
            hvb.iter()
                .chain(&fh)
                .chain(&easy)
                .all(|x| !x.text.contains('{'))
        );
        let e = questionnaire("questionnaire_version", 9).unwrap_err();
        assert_eq!(e.field(), Some("questionnaire_version"));
    }

    #[test]
    fn answers_are_checked_and_completed_with_dont_know() {
        let q = questionnaire("v", 1).unwrap();
        let a = |id: &str, v: i32| SurveyAnswer {
            question_id: id.into(),
            value: v,
        };
        let done =
            complete_answers(q, &[a("know_my_ombud", 1), a("safe_where_i_live", 4)]).unwrap();
        assert_eq!(done.len(), q.questions.len());
        assert_eq!(done[0], a("safe_where_i_live", 4));
        assert_eq!(done[1], a("know_my_ombud", 1));
        assert_eq!(done[2], a("say_what_i_think", 0));
        let e = complete_answers(q, &[a("know_my_ombud", 3)]).unwrap_err();
        assert_eq!(e.field(), Some("answers[0].value"));
        let e = complete_answers(q, &[a("safe_where_i_live", 6)]).unwrap_err();
        assert_eq!(e.field(), Some("answers[0].value"));
        let e = complete_answers(q, &[a("x", 1)]).unwrap_err();
        assert_eq!(e.field(), Some("answers[0].question_id"));
        let e = complete_answers(q, &[a("school_works", 1), a("school_works", 2)]).unwrap_err();
        assert_eq!(e.field(), Some("answers[1].question_id"));
    }

    #[test]
    fn a_token_is_128_bits_of_hex_and_only_its_hash_is_kept() {
        let t = new_token([0xab; 16]);
        assert_eq!(t.len(), 32);
        assert_eq!(parse_token(&t.to_uppercase()).unwrap(), t);
        assert_eq!(parse_token("xyz").unwrap_err().field(), Some("token"));
        let h = token_hash(&t);
        assert_eq!(h.len(), 64);
        assert!(!h.contains(&t));
        assert_ne!(token_hash(&new_token([0xac; 16])), h);
    }

    fn shown(p: &Published) -> Vec<Option<u64>> {
        p.cells.iter().flatten().map(|c| c.shown()).collect()
    }

    #[test]
    fn counts_of_one_to_four_are_small_and_a_lone_one_gets_a_complement() {
        // One row: 2, 10, 7, 9 (total 28). The 2 alone would be
        // 28 - 10 - 7 - 9: the next-smallest (7) is hidden too.
        let p = suppress(&[vec![2, 10, 7, 9]]);
        assert_eq!(
            p.cells[0],
            vec![Cell::Small, Cell::Shown(10), Cell::Hidden, Cell::Shown(9)]
        );
        assert_eq!(p.row_totals, vec![Cell::Shown(28)]);
        assert_eq!(p.total, Cell::Shown(28));
        // Nothing small: nothing hidden; zeros are shown.
        let p = suppress(&[vec![5, 0, 7]]);
        assert_eq!(shown(&p), vec![Some(5), Some(0), Some(7)]);
        // Two small cells: 1 + 3 = 4 known, but each could be 1–3: still
        // not pinned? 1 and 3 both "<5" summing to 4: (1,3), (2,2), (3,1).
        let p = suppress(&[vec![1, 3, 20]]);
        assert_eq!(shown(&p), vec![None, None, Some(20)]);
        // 1 + 1 = 2 pins both (each at least 1): a complement is hidden.
        let p = suppress(&[vec![1, 1, 20, 9]]);
        assert_eq!(shown(&p), vec![None, None, Some(20), None], "{p:?}");
        assert_eq!(Cell::Small.to_proto().value, "<5");
        assert_eq!(Cell::Hidden.to_proto().value, "..");
        assert_eq!(Cell::Shown(12).to_proto().value, "12");
    }

    /// The attacker, independent of [`suppress`]: for every line, every
    /// combination of the hidden members' possible values ("<5": 1–4;
    /// "..": 5 up to `bound`, a bound the attacker knows beforehand, never
    /// the hidden grand total) that adds up; a hidden member that can take
    /// only one value is given away. Returns the members so derived with
    /// their value.
    fn attack(p: &Published, bound: u64) -> Vec<(usize, u64)> {
        let rows = p.cells.len();
        let cols = p.cells.first().map_or(0, Vec::len);
        let published: Vec<Cell> = p
            .cells
            .iter()
            .flatten()
            .chain(&p.row_totals)
            .chain(&p.col_totals)
            .chain(std::iter::once(&p.total))
            .copied()
            .collect();
        let span = |c: Cell| -> Vec<u64> {
            match c {
                Cell::Shown(n) => vec![n],
                Cell::Small => (1..MIN_COUNT).collect(),
                Cell::Hidden => (MIN_COUNT..=bound).collect(),
            }
        };
        let mut derived = Vec::new();
        for (parts, sum) in lines(rows, cols) {
            let members: Vec<usize> = parts.iter().copied().chain(std::iter::once(sum)).collect();
            let spans: Vec<Vec<u64>> = members.iter().map(|&m| span(published[m])).collect();
            let mut seen: Vec<std::collections::BTreeSet<u64>> =
                vec![Default::default(); members.len()];
            let mut pick = vec![0usize; members.len()];
            'all: loop {
                let vals: Vec<u64> = pick.iter().zip(&spans).map(|(&i, s)| s[i]).collect();
                let parts_sum: u64 = vals[..vals.len() - 1].iter().sum();
                if parts_sum == vals[vals.len() - 1] {
                    for (k, v) in vals.iter().enumerate() {
                        seen[k].insert(*v);
                    }
                }
                for k in 0..pick.len() {
                    pick[k] += 1;
                    if pick[k] < spans[k].len() {
                        continue 'all;
                    }
                    pick[k] = 0;
                }
                break;
            }
            for (k, &m) in members.iter().enumerate() {
                if published[m].shown().is_none() && seen[k].len() == 1 {
                    derived.push((m, *seen[k].iter().next().unwrap()));
                }
            }
        }
        derived
    }

    #[test]
    fn a_suppressed_cell_cannot_be_derived_from_the_totals() {
        // Without the complement, the attack works: 28 - 10 - 7 - 9 = 2.
        let naive = Published {
            cells: vec![vec![
                Cell::Small,
                Cell::Shown(10),
                Cell::Shown(7),
                Cell::Shown(9),
            ]],
            row_totals: vec![Cell::Shown(28)],
            col_totals: vec![Cell::Small, Cell::Shown(10), Cell::Shown(7), Cell::Shown(9)],
            total: Cell::Shown(28),
        };
        assert!(attack(&naive, 28).contains(&(0, 2)));
        // With it, the attack finds nothing.
        let p = suppress(&[vec![2, 10, 7, 9]]);
        assert_eq!(attack(&p, 28), vec![]);
        // Forms × answers, with the "all forms" row and the totals.
        let counts = vec![
            vec![0, 3, 6, 8, 2],
            vec![1, 0, 2, 6, 5],
            vec![0, 1, 0, 2, 1],
        ];
        let p = suppress(&counts);
        assert_eq!(attack(&p, 40), vec![], "{p:?}");
        assert!(
            p.cells[2]
                .iter()
                .all(|c| *c != Cell::Shown(1) && *c != Cell::Shown(2))
        );
    }

    #[test]
    fn no_table_of_many_reveals_a_suppressed_cell() {
        // A fixed-seed generator: many small tables, small counts (small
        // enough for the attacker to try every combination).
        let mut seed: u64 = 0x5eed;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        for _ in 0..300 {
            let rows = 1 + next(3) as usize;
            let cols = 2 + next(2) as usize;
            let scale = 1 + next(5);
            let counts: Vec<Vec<u64>> = (0..rows)
                .map(|_| (0..cols).map(|_| next(scale + 1)).collect())
                .collect();
            // At most 3 × 3 × 5 = 45.
            let p = suppress(&counts);
            assert_eq!(attack(&p, 45), vec![], "{counts:?} → {p:?}");
            for (r, row) in counts.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    match p.cells[r][c] {
                        Cell::Shown(s) => {
                            assert_eq!(s, *v);
                            assert!(s == 0 || s >= MIN_COUNT);
                        }
                        Cell::Small => assert!((1..MIN_COUNT).contains(v)),
                        Cell::Hidden => assert!(*v >= MIN_COUNT),
                    }
                }
            }
        }
    }

    #[test]
    fn tables_sharing_their_totals_are_suppressed_together() {
        // Respondents per form 10, 3, 6, 0; two questions. Alone, the
        // second question's table would hide the home's 10 "yes" (to
        // protect the 6 of the third form) and leave it to follow from the
        // home's total 10 shown by the first: together, the total is
        // hidden everywhere.
        let respondents = vec![vec![10], vec![3], vec![6], vec![0]];
        let safe = vec![
            vec![0, 0, 0, 2, 2, 6],
            vec![0, 0, 3, 0, 0, 0],
            vec![0, 0, 0, 6, 0, 0],
            vec![0, 0, 0, 0, 0, 0],
        ];
        let know = vec![vec![0, 10, 0], vec![0, 0, 3], vec![0, 6, 0], vec![0, 0, 0]];
        let out = suppress_tables(&[respondents, safe, know]);
        for p in &out {
            assert_eq!(p.row_totals, out[0].row_totals);
            assert_eq!(p.total, Cell::Shown(19));
            assert_eq!(attack(p, 19), vec![], "{p:?}");
        }
        assert_eq!(out[0].row_totals[1], Cell::Small);
        assert_ne!(out[0].row_totals[0], Cell::Shown(10), "{:?}", out[0]);
        assert_eq!(out[0].row_totals[3], Cell::Shown(0));
    }

    #[test]
    fn the_mean_is_shown_only_beside_shown_counts() {
        let row = [
            Cell::Shown(5),
            Cell::Shown(5),
            Cell::Shown(0),
            Cell::Shown(0),
            Cell::Shown(0),
            Cell::Shown(5),
        ];
        assert_eq!(likert_mean(&row).as_deref(), Some("3.0"));
        let row = [Cell::Shown(5), Cell::Hidden, Cell::Shown(6)];
        assert_eq!(likert_mean(&row), None);
    }
}
