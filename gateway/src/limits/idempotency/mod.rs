//! The idempotency store: records and what a key holding one means.

pub(super) mod memory;
mod redis;

use super::LimitError;
use serde::{Deserialize, Serialize};

/// A response kept for replay under an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `Content-Type` header value.
    pub content_type: String,
    /// The response body, verbatim.
    pub body: Vec<u8>,
}

/// What [`Limits::begin`] found for an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    /// The key was free and is now reserved for this request: run it, then
    /// [`Limits::complete`] (or [`Limits::abandon`]).
    Fresh,
    /// The same request already completed: answer with this.
    Replay(StoredResponse),
    /// The key holds the answer to a different request hash (HTTP 422).
    Mismatch,
    /// A request (this one or another) holds the key's reservation and is
    /// still running (HTTP 409).
    InFlight,
}

/// An idempotency record as stored in Redis.
#[derive(Debug, PartialEq, Eq)]
enum Record {
    InFlight {
        hash: String,
    },
    Done {
        hash: String,
        response: StoredResponse,
    },
}

const TAG_IN_FLIGHT: u8 = b'I';
const TAG_DONE: u8 = b'D';

/// `I` followed by the request hash. The Lua scripts compare against this
/// exact byte string and test the first byte for `I`.
fn encode_in_flight(hash: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + hash.len());
    out.push(TAG_IN_FLIGHT);
    out.extend_from_slice(hash.as_bytes());
    out
}

/// `D`, u32 hash length, hash, u16 status, u32 content-type length,
/// content type, body (the rest); integers big-endian.
fn encode_done(hash: &str, response: &StoredResponse) -> Result<Vec<u8>, LimitError> {
    let too_long = |_| LimitError::Unavailable("idempotency record too large".to_owned());
    let hash_len = u32::try_from(hash.len()).map_err(too_long)?;
    let ct_len = u32::try_from(response.content_type.len()).map_err(too_long)?;
    let mut out =
        Vec::with_capacity(11 + hash.len() + response.content_type.len() + response.body.len());
    out.push(TAG_DONE);
    out.extend_from_slice(&hash_len.to_be_bytes());
    out.extend_from_slice(hash.as_bytes());
    out.extend_from_slice(&response.status.to_be_bytes());
    out.extend_from_slice(&ct_len.to_be_bytes());
    out.extend_from_slice(response.content_type.as_bytes());
    out.extend_from_slice(&response.body);
    Ok(out)
}

fn decode_record(bytes: &[u8]) -> Option<Record> {
    let (&tag, rest) = bytes.split_first()?;
    match tag {
        TAG_IN_FLIGHT => Some(Record::InFlight {
            hash: String::from_utf8(rest.to_vec()).ok()?,
        }),
        TAG_DONE => {
            let mut r = Reader(rest);
            let hash_len = usize::try_from(u32::from_be_bytes(r.array()?)).ok()?;
            let hash = String::from_utf8(r.take(hash_len)?.to_vec()).ok()?;
            let status = u16::from_be_bytes(r.array()?);
            let ct_len = usize::try_from(u32::from_be_bytes(r.array()?)).ok()?;
            let content_type = String::from_utf8(r.take(ct_len)?.to_vec()).ok()?;
            Some(Record::Done {
                hash,
                response: StoredResponse {
                    status,
                    content_type,
                    body: r.0.to_vec(),
                },
            })
        }
        _ => None,
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

fn begin_from_existing(existing: Record, hash: &str) -> Begin {
    match existing {
        Record::InFlight { hash: h } => begin_with(&h, None, hash),
        Record::Done { hash: h, response } => begin_with(&h, Some(&response), hash),
    }
}

/// What a key already holding `stored_hash` (and the first answer, once
/// there is one) means for a request with `hash` — the same on both stores.
/// Only a stored answer can make a request a mismatch: while the key is
/// merely reserved, whoever reserved it may yet fail (and release it), so a
/// different request waits (409) instead of being refused for good (422).
fn begin_with(stored_hash: &str, response: Option<&StoredResponse>, hash: &str) -> Begin {
    match response {
        None => Begin::InFlight,
        Some(_) if stored_hash != hash => Begin::Mismatch,
        Some(response) => Begin::Replay(response.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let response = StoredResponse {
            status: 201,
            content_type: "application/json".to_owned(),
            body: vec![0, 255, b'{', b'}'],
        };
        let bytes = encode_done("h", &response).unwrap_or_default();
        assert_eq!(
            decode_record(&bytes),
            Some(Record::Done {
                hash: "h".to_owned(),
                response
            })
        );
        assert_eq!(
            decode_record(&encode_in_flight("abc")),
            Some(Record::InFlight {
                hash: "abc".to_owned()
            })
        );
        for bad in [&b""[..], b"X", b"D", b"D\0\0\0\x09ab", b"D\0\0\0\0\x01"] {
            assert_eq!(decode_record(bad), None);
        }
    }
}
