//! `--upload s3://BUCKET/PREFIX` on `run` and `report`: the run directory
//! copied to S3 once its reports are written. The S3 calls are in
//! `environment::aws::evidence`; this file picks the messages and how the
//! command ends.

use std::path::Path;

use clap::Args;

use super::failure::{self, Ended, Failure};
use crate::environment::aws::evidence::{self, Encryption, S3Location};

#[derive(Args, Debug, Default)]
pub struct UploadArgs {
    /// Once the reports are written, copy the run directory to S3
    /// (s3://BUCKET/PREFIX): every file under PREFIX/RUN_ID/, encrypted at
    /// rest, tagged with the scenario and the outcome. Credentials, region
    /// and endpoint come from the standard AWS settings, not from --env.
    #[arg(long, value_name = "S3_URL")]
    pub upload: Option<S3Location>,
    /// Encrypt the uploaded objects with this KMS key (key ID, ARN or alias)
    /// instead of S3-managed keys (SSE-S3).
    #[arg(long, value_name = "KEY", requires = "upload")]
    pub upload_kms_key: Option<String>,
}

/// Where and how a run directory is to be uploaded, checked before the game day.
pub struct Upload {
    client: aws_sdk_s3::Client,
    to: S3Location,
    encryption: Encryption,
}

impl UploadArgs {
    /// Nothing to do without `--upload`. Otherwise the client, after a
    /// check that the bucket exists: a run whose evidence would be lost is
    /// refused before it touches anything.
    pub async fn prepare(&self) -> Result<Option<Upload>, Failure> {
        let Some(to) = &self.upload else { return Ok(None) };
        let client = evidence::client().await.map_err(|error| Failure::Env { doing: Some(format!("cannot upload to {to}")), error })?;
        match evidence::check_bucket(&client, to).await {
            Ok(None) => {}
            Ok(Some(warning)) => eprintln!("warning: {warning}"),
            Err(error) => {
                return Err(Failure::Environment(format!("cannot upload to {to}: {error}\n  = hint: create the bucket, or name another with --upload")));
            }
        }
        let encryption = match &self.upload_kms_key {
            Some(key_id) => Encryption::Kms { key_id: key_id.clone() },
            None => Encryption::S3Managed,
        };
        Ok(Some(Upload { client, to: to.clone(), encryption }))
    }
}

impl Upload {
    /// Uploads `run_dir`, tagged with the scenario and the outcome, and
    /// says where it went. `ended` is how the command ended so far: a
    /// failed upload turns a success into an environment error (the
    /// evidence asked for is missing) and leaves any other ending as it is.
    /// The run directory stays on disk whatever happens.
    pub async fn send(&self, run_dir: &Path, scenario: &str, outcome: &str, ended: Ended) -> Ended {
        let run_id = run_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tags = [("gameday:scenario", scenario), ("gameday:outcome", outcome), ("gameday:run", run_id.as_str())];
        match evidence::upload_run_dir(&self.client, run_dir, &self.to, &self.encryption, &tags).await {
            Ok(uploaded) => {
                println!("uploaded: {} ({} files, {} bytes)", uploaded.location, uploaded.objects, uploaded.bytes);
                ended
            }
            Err(error) => {
                let failed = Failure::Environment(format!(
                    "the upload to {} did not complete: {error}\n  = hint: the run directory is intact at {}; upload it again with `gameday report {} --upload {}`",
                    self.to,
                    run_dir.display(),
                    run_dir.display(),
                    self.to
                ))
                .report();
                if failure::succeeded(&ended) { Err(failed) } else { ended }
            }
        }
    }
}
