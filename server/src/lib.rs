//! Wiring of the `ipvet` binary: opening the database, building the router, serving.
//! The domain itself lives in `app::server`.

pub mod startup;
