//! View pieces shared by several pages.

pub mod confirm;
pub mod cycle_watch;
pub mod html_text;
pub mod layout;
pub mod not_built;
pub mod outcome;
pub mod problem_chart;
pub mod query;
pub mod role;
pub mod run_progress;
pub mod status_badge;
pub mod subnet_map;
pub mod when;
