//! A record of every AWS operation gameday calls, one `service:Operation`
//! line each (the IAM action's name), appended to the file named by
//! `GAMEDAY_AWS_CALL_LOG`. It lets a team check, on their own account, that
//! `gameday iam-policy` allows everything a run, `plan`, `recover` or a halted
//! run did; the IAM coverage tests read it the same way.
//!
//! It is an SDK interceptor: it sees each operation once, before it is
//! serialized (retries are not repeated), whatever the outcome, and it reads
//! the operation's name from the SDK's own `Metadata`, not from our code.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The environment variable naming the file to append to.
pub const CALL_LOG_VAR: &str = "GAMEDAY_AWS_CALL_LOG";

/// Appends `prefix:Operation` for each call of one client. `prefix` is the
/// IAM service prefix (`ec2`, `elasticloadbalancing`, …), which the SDK's
/// service name does not always match.
#[derive(Clone, Debug)]
pub struct CallLog {
    prefix: &'static str,
    file: Arc<Mutex<File>>,
}

impl CallLog {
    /// Opens `path` for appending (several gameday processes may share it).
    pub fn open(path: &Path) -> std::io::Result<Arc<Mutex<File>>> {
        Ok(Arc::new(Mutex::new(OpenOptions::new().create(true).append(true).open(path)?)))
    }

    pub fn new(prefix: &'static str, file: Arc<Mutex<File>>) -> Self {
        CallLog { prefix, file }
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "gameday-call-log"
    }

    // Not `read_before_execution`: a client's interceptors see that before the
    // operation's configuration (and so its `Metadata`) is in the bag.
    fn read_before_serialization(&self, _context: &BeforeSerializationInterceptorContextRef<'_>, _components: &RuntimeComponents, cfg: &mut ConfigBag) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            // One write per line, so lines of concurrent processes do not interleave.
            let line = format!("{}:{}\n", self.prefix, metadata.name());
            let mut file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            file.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}
