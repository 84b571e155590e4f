//! Swedish working days: kit's calendar (`samling_kit::calendar`), shared
//! with the ombud service's response deadlines.

pub use samling_kit::calendar::*;
