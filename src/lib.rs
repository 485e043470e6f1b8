//! gameday: chaos-engineering game days on AWS.
//!
//! The binary is a thin shell over [`cli::main`]; everything lives here.

pub mod environment;
pub mod exit_code;
pub mod guard;
pub mod history;
pub mod probe;
pub mod rng;
pub mod scenario;
pub mod run;
pub mod report;
pub mod cli;
pub mod project;
