//! The public gateway. Grows with the gateway issue; for now it only names its place.
#![forbid(unsafe_code)]
