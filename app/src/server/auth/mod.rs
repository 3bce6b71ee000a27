//! Who may do what: passwords, sessions, the role guard every server function calls first,
//! sign-in throttling and cross-site request refusal.

pub mod csrf;
pub mod guard;
pub mod password;
pub mod session_store;
pub mod sign_in;
pub mod throttle;
