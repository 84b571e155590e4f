//! Portfolio's pure rules: who may read and write which section
//! ([`access`]), what a valid section is ([`sections`]), and the one error
//! type. No I/O.

pub mod access;
pub mod deadlines;
mod error;
pub mod fhir;
pub mod information;
pub mod retention;
pub mod school_import;
pub mod sections;

pub use error::PortfolioError;
