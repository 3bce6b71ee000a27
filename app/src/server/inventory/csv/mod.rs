//! A network's addresses as CSV: the streamed export and the all-or-nothing import, which
//! reads what the export writes.

pub mod export;
pub mod import;
