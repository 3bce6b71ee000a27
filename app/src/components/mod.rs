//! View pieces shared by several pages.

pub mod layout;
pub mod not_built;
pub mod outcome;
pub mod role;
pub mod status_badge;
