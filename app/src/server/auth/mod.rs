//! Who may do what: passwords, sessions, the role guard every server function calls first,
//! sign-in throttling, cross-site request refusal, the API's bearer tokens and one's own
//! account.

pub mod account;
pub mod client_address;
pub mod csrf;
pub mod guard;
pub mod password;
pub mod session_store;
pub mod sign_in;
pub mod throttle;
pub mod tokens;
