//! `--upload s3://BUCKET/PREFIX` through the binary against moto server's
//! S3 on 127.0.0.1: the run directory read back from the bucket (every
//! file, byte for byte), its encryption and its tags; a missing bucket
//! refused before the run; a bucket that vanishes during the run turns a
//! success into exit 7 with the run directory intact, and `gameday report
//! --upload` sends it once the bucket is back.

use std::path::{Path, PathBuf};

use crate::moto::Moto;
use crate::safety::{command, output};

/// This test's bucket. Bucket names are global in moto as in S3, across
/// accounts, so each test names its own (after its account) on the shared server.
fn bucket(moto: &Moto) -> String {
    format!("game-days-{}", moto.account)
}

async fn s3(moto: &Moto) -> aws_sdk_s3::Client {
    // moto serves buckets by path, not as host names.
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&moto.config().await).force_path_style(true).build())
}

fn env(moto: &Moto) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = moto.env().into_iter().map(|(k, v)| (k, v.to_string())).collect();
    env.push(("AWS_REGION", crate::moto::REGION.into()));
    env.push(("AWS_ENDPOINT_URL", moto.endpoint.clone()));
    env
}

fn gameday(state: &Path, args: &[&str], env: &[(&'static str, String)]) -> (i32, String, String) {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    output(command(state, args, &env))
}

fn scenario_path(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name).to_string_lossy().into_owned()
}

/// The one run directory under `runs`.
fn run_dir(runs: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(runs).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// Every object under `prefix`, by key.
async fn objects(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await.unwrap();
    let mut keys: Vec<String> = listed.contents().iter().filter_map(|o| o.key().map(str::to_string)).collect();
    keys.sort();
    keys
}

async fn tags(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<(String, String)> {
    let out = s3.get_object_tagging().bucket(bucket).key(key).send().await.unwrap();
    let mut tags: Vec<(String, String)> = out.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect();
    tags.sort();
    tags
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_is_uploaded_file_by_file_encrypted_and_tagged_with_scenario_and_outcome() {
    let moto = Moto::start();
    let s3 = s3(&moto).await;
    let bucket = bucket(&moto);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let (code, stdout, stderr) = gameday(
        dir.path(),
        &["run", &scenario_path("az-loss.yaml"), "--seed", "7", "--no-progress", "--runs-dir", runs.to_str().unwrap(), "--upload", &format!("s3://{bucket}/prod/")],
        &env(&moto),
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let run = run_dir(&runs);
    let run_id = run.file_name().unwrap().to_string_lossy().into_owned();
    let mut local: Vec<String> = std::fs::read_dir(&run).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    local.sort();
    assert!(stdout.contains(&format!("uploaded: s3://{bucket}/prod/{run_id}/ ({} files,", local.len())), "{stdout}");
    let keys = objects(&s3, &bucket, "prod/").await;
    assert_eq!(keys, local.iter().map(|f| format!("prod/{run_id}/{f}")).collect::<Vec<_>>());
    for file in &local {
        let key = format!("prod/{run_id}/{file}");
        let object = s3.get_object().bucket(&bucket).key(&key).send().await.unwrap();
        assert_eq!(object.server_side_encryption(), Some(&aws_sdk_s3::types::ServerSideEncryption::Aes256), "{key}");
        let body = object.body.collect().await.unwrap().into_bytes();
        assert_eq!(body.as_ref(), std::fs::read(run.join(file)).unwrap().as_slice(), "{key} differs from the local file");
        assert_eq!(
            tags(&s3, &bucket, &key).await,
            vec![("gameday:outcome".into(), "hypothesis_held".into()), ("gameday:run".into(), run_id.clone()), ("gameday:scenario".into(), "az-loss".into())]
        );
    }
    let html = s3.head_object().bucket(&bucket).key(format!("prod/{run_id}/report.html")).send().await.unwrap();
    assert_eq!(html.content_type(), Some("text/html; charset=utf-8"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bucket_refuses_the_run_before_anything_starts() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let (code, stdout, stderr) = gameday(
        dir.path(),
        &["run", &scenario_path("az-loss.yaml"), "--seed", "7", "--no-progress", "--runs-dir", runs.to_str().unwrap(), "--upload", "s3://no-such-bucket/prod"],
        &env(&moto),
    );
    assert_eq!(code, 7, "{stdout}\n{stderr}");
    assert!(stderr.contains("bucket no-such-bucket does not exist") && stderr.contains("nothing was changed"), "{stderr}");
    assert!(!runs.exists(), "no run directory: the run never started");
}

#[test]
fn a_malformed_location_is_a_usage_error_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = gameday(dir.path(), &["run", &scenario_path("az-loss.yaml"), "--upload", "game-days/prod"], &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("write s3://BUCKET/PREFIX"), "{stderr}");
    let (code, _, stderr) = gameday(dir.path(), &["run", &scenario_path("az-loss.yaml"), "--upload-kms-key", "alias/x"], &[]);
    assert_eq!(code, 2, "--upload-kms-key needs --upload: {stderr}");
}

/// The bucket is deleted by the game day's own fault (a `command` on
/// `--env local`), after the check before the run and before the upload.
/// The probe never fails, so the run lasts until the expectation's 1 s
/// deadline (docs/metrics.md), long enough for the 200 ms fault.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_upload_keeps_the_run_directory_and_report_upload_sends_it_later() {
    let moto = Moto::start();
    let s3 = s3(&moto).await;
    let bucket = bucket(&moto);
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("vanishing-bucket.yaml");
    // In this test's account (moto's x-moto-account-id header): an unsigned request would be the default account's.
    let delete = format!(
        "python3 -c \"import urllib.request as u; u.urlopen(u.Request('{}/{bucket}', method='DELETE', headers={{'x-moto-account-id': '{}'}}))\"",
        moto.endpoint, moto.account
    );
    std::fs::write(
        &scenario,
        format!(
            "apiVersion: gameday/v1\nname: vanishing-bucket\nsteady_state:\n  - {{ name: ok, kind: command, run: \"true\", interval: 200ms, timeout: 200ms }}\nfaults:\n  - name: delete-the-evidence-bucket\n    kind: command\n    inject: {delete:?}\n    revert: \"true\"\n    duration: 200ms\nexpected_recoveries:\n  - {{ name: ok, probes: [ok], recovers_within: 1s }}\n"
        ),
    )
    .unwrap();
    let runs = dir.path().join("runs");
    let upload = format!("s3://{bucket}/prod");
    let (code, stdout, stderr) = gameday(
        dir.path(),
        &["run", scenario.to_str().unwrap(), "--env", "local", "--yes", "--no-progress", "--runs-dir", runs.to_str().unwrap(), "--upload", &upload],
        &env(&moto),
    );
    assert!(runs.exists(), "{stdout}\n{stderr}");
    let run = run_dir(&runs);
    assert_eq!(code, 7, "the run held, but its evidence is missing: {stdout}\n{stderr}");
    assert!(stdout.contains("hypothesis held"), "{stdout}");
    assert!(stderr.contains(&format!("the upload to {upload} did not complete")) && stderr.contains(&format!("gameday report {} --upload {upload}", run.display())), "{stderr}");
    assert!(run.join("report.md").is_file() && run.join("journal.jsonl").is_file(), "the run directory is intact");

    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let (code, stdout, stderr) = gameday(dir.path(), &["report", run.to_str().unwrap(), "--upload", &upload, "--upload-kms-key", "alias/evidence"], &env(&moto));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let run_id = run.file_name().unwrap().to_string_lossy().into_owned();
    let keys = objects(&s3, &bucket, "prod/").await;
    assert!(keys.contains(&format!("prod/{run_id}/report.html")), "{keys:?}");
    let head = s3.head_object().bucket(&bucket).key(format!("prod/{run_id}/journal.jsonl")).send().await.unwrap();
    assert_eq!(head.server_side_encryption(), Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms));
    assert_eq!(head.ssekms_key_id(), Some("alias/evidence"));
    assert!(tags(&s3, &bucket, &format!("prod/{run_id}/journal.jsonl")).await.contains(&("gameday:scenario".into(), "vanishing-bucket".into())));
}
