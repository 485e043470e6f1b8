//! Evidence that lasts: a run directory written to S3 (`--upload
//! s3://BUCKET/PREFIX`), encrypted at rest and tagged with the scenario
//! and the outcome, so the game day's record outlives the machine it ran on
//! and a bucket policy or lifecycle rule can select it by tag.
//!
//! The upload uses the standard credential chain (AWS_PROFILE, SSO, the
//! instance role) and the standard region and endpoint settings, not the
//! game day's environment: an evidence bucket often lives in another
//! account than the one under test.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use aws_config::BehaviorVersion;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::{EnvError, https_client, sdk_error};

/// S3 keys are at most 1,024 bytes: the prefix leaves 124 for
/// `/RUN_ID/FILE` (a run id is the scenario's name and a timestamp).
const MAX_PREFIX_BYTES: usize = 900;
const MAX_KEY_BYTES: usize = 1024;

/// Where run directories go: `s3://BUCKET` or `s3://BUCKET/PREFIX`. Each
/// run lands under `PREFIX/RUN_ID/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Without leading or trailing `/`; empty for the bucket's top.
    pub prefix: String,
}

impl FromStr for S3Location {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let rest = text.strip_prefix("s3://").ok_or_else(|| format!("`{text}` is not an S3 location; write s3://BUCKET/PREFIX"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's bucket naming rules: 3 to 63 characters of lowercase letters,
        // digits, dots and hyphens, beginning and ending with a letter or digit.
        let well_formed = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
            && bucket.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
            && bucket.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
        if !well_formed {
            return Err(format!("`{bucket}` is not an S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens); write s3://BUCKET/PREFIX"));
        }
        let prefix = prefix.trim_matches('/');
        if prefix.len() > MAX_PREFIX_BYTES {
            return Err(format!(
                "the prefix is {} bytes; S3 keys are at most 1,024 bytes, so a prefix may take {MAX_PREFIX_BYTES}, leaving room for the run and file names",
                prefix.len()
            ));
        }
        Ok(S3Location { bucket: bucket.to_string(), prefix: prefix.to_string() })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() { write!(f, "s3://{}", self.bucket) } else { write!(f, "s3://{}/{}", self.bucket, self.prefix) }
    }
}

impl S3Location {
    /// The key of `relative` (a path inside the run directory `run_id`).
    fn key(&self, run_id: &str, relative: &Path) -> String {
        let parts: Vec<String> = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        let tail = format!("{run_id}/{}", parts.join("/"));
        if self.prefix.is_empty() { tail } else { format!("{}/{tail}", self.prefix) }
    }
}

/// How the objects are encrypted at rest: S3-managed keys unless a KMS key is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Encryption {
    S3Managed,
    Kms { key_id: String },
}

/// What an upload wrote.
#[derive(Debug, PartialEq, Eq)]
pub struct Uploaded {
    /// `s3://BUCKET/PREFIX/RUN_ID/`.
    pub location: String,
    pub objects: usize,
    pub bytes: u64,
}

/// An S3 client from the standard chain. An endpoint set in the
/// environment (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3: moto, MinIO,
/// LocalStack) is addressed path-style, since such servers rarely resolve
/// bucket names as host names.
pub async fn client() -> Result<aws_sdk_s3::Client, EnvError> {
    let config = aws_config::defaults(BehaviorVersion::latest()).http_client(https_client()).load().await;
    if config.region().is_none() {
        return Err(EnvError::Failed("no AWS region is set for the upload; set AWS_REGION (or a region in the AWS_PROFILE) to the bucket's region".into()));
    }
    let custom_endpoint = config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    Ok(aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(custom_endpoint).build()))
}

/// Checks before a game day that its evidence will have somewhere to go:
/// a bucket that does not exist, or credentials that are refused, stop the
/// run before anything is touched. Access denied to HeadBucket alone
/// (a role allowed to write but not to list) is only a warning.
pub async fn check_bucket(client: &aws_sdk_s3::Client, to: &S3Location) -> Result<Option<String>, EnvError> {
    match client.head_bucket().bucket(&to.bucket).send().await {
        Ok(_) => Ok(None),
        Err(error) => {
            let status = error.raw_response().map(|r| r.status().as_u16());
            match status {
                Some(403) => Ok(Some(format!("could not check bucket {} (access denied to s3:ListBucket); the upload is tried after the run", to.bucket))),
                Some(404) => Err(EnvError::Failed(format!("bucket {} does not exist (or is not visible to these credentials); nothing was changed", to.bucket))),
                _ => Err(sdk_error(&format!("s3:HeadBucket {}", to.bucket), error)),
            }
        }
    }
}

/// Writes every regular file of `run_dir` (recursively, in name order;
/// symbolic links are not followed, so nothing outside the run directory
/// leaves the machine) under `to`, encrypted, with `tags` on every object.
/// Stops at the first failure and says which file; what was written stays.
pub async fn upload_run_dir(client: &aws_sdk_s3::Client, run_dir: &Path, to: &S3Location, encryption: &Encryption, tags: &[(&str, &str)]) -> Result<Uploaded, EnvError> {
    let run_id = run_dir.file_name().map(|n| n.to_string_lossy().into_owned()).ok_or_else(|| EnvError::Failed(format!("{} names no run directory", run_dir.display())))?;
    let files = files_under(run_dir).map_err(|e| EnvError::Failed(format!("could not list {}: {e}", run_dir.display())))?;
    let tagging = tagging(tags);
    let mut bytes = 0;
    for relative in &files {
        let path = run_dir.join(relative);
        let body = std::fs::read(&path).map_err(|e| EnvError::Failed(format!("could not read {}: {e}", path.display())))?;
        bytes += body.len() as u64;
        let key = to.key(&run_id, relative);
        if key.len() > MAX_KEY_BYTES {
            return Err(EnvError::Failed(format!("the key {key} is {} bytes, more than S3's 1,024; choose a shorter prefix", key.len())));
        }
        let mut put = client.put_object().bucket(&to.bucket).key(&key).content_type(content_type(relative)).tagging(&tagging).body(ByteStream::from(body));
        put = match encryption {
            Encryption::S3Managed => put.server_side_encryption(ServerSideEncryption::Aes256),
            Encryption::Kms { key_id } => put.server_side_encryption(ServerSideEncryption::AwsKms).ssekms_key_id(key_id),
        };
        put.send().await.map_err(|e| sdk_error(&format!("s3:PutObject s3://{}/{key}", to.bucket), e))?;
    }
    Ok(Uploaded { location: format!("{to}/{run_id}/"), objects: files.len(), bytes })
}

/// The regular files under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        for entry in std::fs::read_dir(dir.join(&relative))? {
            let entry = entry?;
            // `file_type` does not follow links: a link is neither a file nor a directory here.
            let kind = entry.file_type()?;
            let path = relative.join(entry.file_name());
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// So a browser opening the object from the console shows the report rather than downloading it.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("json") => "application/json",
        Some("jsonl") => "application/x-ndjson",
        Some("xml") => "application/xml",
        Some("yaml" | "yml") => "application/yaml",
        Some("svg") => "image/svg+xml",
        Some("txt" | "log") => "text/plain; charset=utf-8",
        Some("pdf") => "application/pdf",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// The `x-amz-tagging` header: URL-query encoded `key=value` pairs. S3
/// allows letters, digits, spaces and `_ . : / = + - @` in tags, up to 128
/// characters in a key and 256 in a value; anything else becomes `_`.
fn tagging(tags: &[(&str, &str)]) -> String {
    fn clean(text: &str, limit: usize) -> String {
        text.chars().map(|c| if c.is_alphanumeric() || " _.:/=+-@".contains(c) { c } else { '_' }).take(limit).collect()
    }
    fn encode(text: &str) -> String {
        text.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
    }
    tags.iter().map(|(k, v)| format!("{}={}", encode(&clean(k, 128)), encode(&clean(v, 256)))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_location_is_a_bucket_and_an_optional_prefix() {
        assert_eq!("s3://game-days/prod/".parse(), Ok(S3Location { bucket: "game-days".into(), prefix: "prod".into() }));
        assert_eq!("s3://game-days".parse(), Ok(S3Location { bucket: "game-days".into(), prefix: String::new() }));
        assert_eq!("s3://game-days/a/b".parse::<S3Location>().unwrap().key("run-1", Path::new("sub/report.md")), "a/b/run-1/sub/report.md");
        assert_eq!("s3://game-days".parse::<S3Location>().unwrap().key("run-1", Path::new("report.md")), "run-1/report.md");
        assert!("game-days/prod".parse::<S3Location>().unwrap_err().contains("s3://BUCKET/PREFIX"));
        assert!("s3://Game_Days/prod".parse::<S3Location>().unwrap_err().contains("not an S3 bucket name"));
        assert!("s3:///prod".parse::<S3Location>().is_err());
        assert!(format!("s3://game-days/{}", "p".repeat(901)).parse::<S3Location>().unwrap_err().contains("at most 1,024 bytes"));
        assert!(format!("s3://game-days/{}", "p".repeat(900)).parse::<S3Location>().is_ok());
        assert_eq!("s3://game-days/prod".parse::<S3Location>().unwrap().to_string(), "s3://game-days/prod");
    }

    #[test]
    fn tags_are_cleaned_to_what_s3_accepts_and_query_encoded() {
        assert_eq!(tagging(&[("gameday:scenario", "az-loss"), ("gameday:outcome", "hypothesis_held")]), "gameday%3Ascenario=az-loss&gameday%3Aoutcome=hypothesis_held");
        assert_eq!(tagging(&[("k", "a&b=c d")]), "k=a_b%3Dc%20d");
    }

    #[test]
    fn only_regular_files_are_listed_and_links_are_not_followed() {
        let dir = std::env::temp_dir().join(format!("gameday-evidence-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("report.md"), "r").unwrap();
        std::fs::write(dir.join("sub/x.json"), "{}").unwrap();
        std::os::unix::fs::symlink("/etc", dir.join("outside")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join("leak.txt")).unwrap();
        assert_eq!(files_under(&dir).unwrap(), vec![PathBuf::from("report.md"), PathBuf::from("sub/x.json")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
