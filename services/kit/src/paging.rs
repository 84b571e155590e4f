//! Bounded page sizes and opaque page tokens.
//!
//! A token is the base64url of the last key seen (keyset pagination), so
//! pages stay stable under concurrent inserts and cost O(page) to read.
use crate::error::KitError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use samling_proto::common::v1::{PageRequest, PageResponse};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub size: u32,
    /// The last key of the previous page; `None` for the first page.
    pub after: Option<String>,
}

impl Page {
    pub fn first(size: u32) -> Self {
        Page { size, after: None }
    }

    /// Reads a request's page, defaulting and bounding the size.
    pub fn from_request(req: Option<&PageRequest>) -> Result<Self, KitError> {
        let Some(req) = req else {
            return Ok(Page::first(DEFAULT_PAGE_SIZE));
        };
        let size = match req.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n > MAX_PAGE_SIZE => {
                return Err(KitError::invalid(
                    "page.page_size",
                    format!("must be at most {MAX_PAGE_SIZE}"),
                ));
            }
            n => n,
        };
        let after = if req.page_token.is_empty() {
            None
        } else {
            let bytes = URL_SAFE_NO_PAD
                .decode(req.page_token.as_bytes())
                .map_err(|_| KitError::invalid("page.page_token", "is not a valid page token"))?;
            Some(
                String::from_utf8(bytes).map_err(|_| {
                    KitError::invalid("page.page_token", "is not a valid page token")
                })?,
            )
        };
        Ok(Page { size, after })
    }

    /// SQL LIMIT: one extra row tells whether another page exists.
    pub fn limit(&self) -> i64 {
        i64::from(self.size) + 1
    }

    /// Trim the fetched rows to the page and build the response token from
    /// the last row's key.
    pub fn finish<T>(
        &self,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> String,
    ) -> (Vec<T>, PageResponse) {
        let more = rows.len() > self.size as usize;
        rows.truncate(self.size as usize);
        let next_page_token = match (more, rows.last()) {
            (true, Some(last)) => URL_SAFE_NO_PAD.encode(key(last).as_bytes()),
            _ => String::new(),
        };
        (rows, PageResponse { next_page_token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_bounded_and_defaulted() {
        assert_eq!(Page::from_request(None).unwrap().size, DEFAULT_PAGE_SIZE);
        let too_big = PageRequest {
            page_size: MAX_PAGE_SIZE + 1,
            page_token: String::new(),
        };
        let e = Page::from_request(Some(&too_big)).unwrap_err();
        assert!(e.to_string().starts_with("page.page_size"));
    }

    #[test]
    fn a_token_round_trips_to_the_last_key_and_stops_on_the_last_page() {
        let page = Page::first(2);
        let (rows, resp) = page.finish(vec!["a", "b", "c"], |s| s.to_string());
        assert_eq!(rows, vec!["a", "b"]);
        let next = Page::from_request(Some(&PageRequest {
            page_size: 2,
            page_token: resp.next_page_token,
        }))
        .unwrap();
        assert_eq!(next.after.as_deref(), Some("b"));
        let (_, last) = next.finish(vec!["c"], |s| s.to_string());
        assert!(last.next_page_token.is_empty());
    }

    #[test]
    fn a_garbage_token_is_rejected_naming_the_field() {
        let bad = PageRequest {
            page_size: 1,
            page_token: "%%%".into(),
        };
        assert!(
            Page::from_request(Some(&bad))
                .unwrap_err()
                .to_string()
                .starts_with("page.page_token")
        );
    }
}
