//! The check engine's background jobs: [`schedule`] starts a cycle every `CheckPeriod` on
//! the instance holding the scheduler lease, [`overdue`] tells there when cycles stopped
//! ending, and [`help`] joins the cycles other instances run.

pub mod help;
pub mod overdue;
pub mod schedule;
