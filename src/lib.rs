//! gameday: chaos-engineering game days on AWS.
//!
//! The binary is a thin shell over [`cli::main`]; everything lives here.

pub mod cli;
pub mod drill;
pub mod environment;
pub mod exit_code;
pub mod guard;
pub mod history;
pub mod probe;
pub mod project;
pub mod report;
pub mod rng;
pub mod run;
pub mod scenario;
