//! Secrets in probe headers never reach a file or the terminal: a header
//! read from the environment (`${env:NAME}`) is sent to the server and
//! written nowhere, and a literal credential in the scenario is written to
//! the scenario copy as `<redacted>`.
//!
//! The `api` probe never fails, so a run lasts until its expectation's
//! deadline (docs/metrics.md): 1 s, five samples at 200 ms, is as much proof
//! that the headers were sent and never written as 5 s was.

use std::process::Command;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SECRET: &str = "gd-s3cret-7f3a9c1e5b";
const LITERAL_KEY: &str = "gd-literal-k3y-42d8e0";

/// A tiny HTTP server that answers 200 and keeps every request head it received whole.
async fn recording_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                // A connection closed before its request head ended carried no request: a sample whose
                // timeout fired under load, or one in flight when the run ended. Only requests are kept.
                if head.windows(4).any(|w| w == b"\r\n\r\n") {
                    seen.lock().unwrap().push(String::from_utf8_lossy(&head).into_owned());
                }
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").await;
            });
        }
    });
    (port, requests)
}

/// Runs `file` on `local` with `secret` in the child's environment only,
/// at `RUST_LOG=debug` (logs at their most talkative must not carry it
/// either), in a state directory of its own (the `local` lock must not meet
/// another test's). Returns stdout and stderr of a run that exited 0.
async fn run_local(file: &std::path::Path, runs: &std::path::Path, secret: (&'static str, &'static str)) -> (String, String) {
    let args: Vec<String> = ["run", file.to_str().unwrap(), "--env", "local", "--yes", "--runs-dir", runs.to_str().unwrap()].map(String::from).into();
    let output = tokio::task::spawn_blocking(move || {
        let state = tempfile::tempdir().unwrap();
        Command::new(env!("CARGO_BIN_EXE_gameday"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("GAMEDAY_STATE_DIR", state.path())
            .env(secret.0, secret.1)
            .env("RUST_LOG", "debug")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned());
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    (stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_secrets_are_sent_but_never_written_or_printed() {
    let (port, requests) = recording_server().await;
    let dir = tempfile::tempdir().unwrap();
    let closed = crate::ClosedPort::reserve();
    let closed_port = closed.port;
    // The `down` probe fails throughout, so error paths are exercised too.
    let yaml = format!(
        "apiVersion: gameday/v1\nname: secrets\nguards:\n  max_duration: 1m\n  require_healthy_start: false\nsteady_state:\n  - name: api\n    kind: http\n    url: http://127.0.0.1:{port}/health\n    headers:\n      Authorization: \"Bearer ${{env:GAMEDAY_TEST_SECRET}}\"\n      X-Api-Key: {LITERAL_KEY}\n      Accept: text/plain\n    interval: 200ms\n    timeout: 150ms\n  - name: down\n    kind: http\n    url: http://127.0.0.1:{closed_port}/\n    headers:\n      Authorization: \"Bearer ${{env:GAMEDAY_TEST_SECRET}}\"\n    interval: 200ms\n    timeout: 150ms\nfaults:\n  - name: blip\n    kind: command\n    inject: \"true\"\n    revert: \"true\"\n    duration: 300ms\nexpected_recoveries:\n  - name: api stays up\n    probes: [api]\n    recovers_within: 1s\n"
    );
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let runs = dir.path().join("runs");

    let (stdout, stderr) = run_local(&file, &runs, ("GAMEDAY_TEST_SECRET", SECRET)).await;

    // Not vacuous: the server received the expanded header.
    let seen = requests.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the probe reached the server");
    assert!(seen.iter().all(|r| r.contains(&format!("Authorization: Bearer {SECRET}\r\n"))), "{seen:?}");
    assert!(seen.iter().all(|r| r.contains(&format!("X-Api-Key: {LITERAL_KEY}\r\n"))), "{seen:?}");

    assert!(!stdout.contains(SECRET) && !stderr.contains(SECRET), "printed:\n{stdout}\n{stderr}");
    assert!(!stdout.contains(LITERAL_KEY) && !stderr.contains(LITERAL_KEY), "printed:\n{stdout}\n{stderr}");
    let run_dir = std::fs::read_dir(&runs).unwrap().filter_map(Result::ok).map(|e| e.path()).max().expect("a run directory");
    for name in ["journal.jsonl", "result.json", "report.md", "report.html", "junit.xml", "scenario.yaml"] {
        let text = std::fs::read_to_string(run_dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!text.contains(SECRET), "{name} holds the secret");
        assert!(!text.contains(LITERAL_KEY), "{name} holds the literal key");
    }
    // Everything the run wrote, not only the files we know of today.
    for entry in std::fs::read_dir(&run_dir).unwrap().filter_map(Result::ok) {
        let bytes = std::fs::read(entry.path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(SECRET) && !text.contains(LITERAL_KEY), "{} holds a secret", entry.path().display());
    }

    let copy = std::fs::read_to_string(run_dir.join("scenario.yaml")).unwrap();
    assert!(copy.contains("Authorization: \"Bearer ${env:GAMEDAY_TEST_SECRET}\""), "the reference is kept:\n{copy}");
    assert!(copy.contains("X-Api-Key: \"<redacted>\""), "the literal is redacted:\n{copy}");
    assert!(copy.contains("Accept: text/plain"), "other headers are kept:\n{copy}");

    // The redacted copy still renders again.
    let again = Command::new(env!("CARGO_BIN_EXE_gameday")).args(["report", run_dir.to_str().unwrap()]).env_remove("RUST_LOG").output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
}

const URL_TOKEN: &str = "gdq-t0ken-5e1f";
const URL_API_KEY: &str = "gdq-apik3y-77";
const URL_PASSWORD: &str = "gdq-passw0rd-3";
const BEARER_LITERAL: &str = "gdq-b3arer-19";
const ACCESS_KEY: &str = "AKIAGAMEDAYTEST12345";
const URL_SIGNATURE: &str = "gdq-s1gnature-0c";

/// Tokens in probe URLs (`?token=`, `api_key=`, a password before `@`, a
/// `sig=${env:NAME}` read from the environment) and
/// credentials in headers whose names say nothing (`X-Upstream: Bearer …`,
/// an access key id) are sent as written, and never reach a file or the
/// terminal: not the scenario copy, and not the errors that a bad URL gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_tokens_and_credential_shaped_headers_are_never_written_or_printed() {
    let (port, requests) = recording_server().await;
    let dir = tempfile::tempdir().unwrap();
    let closed = crate::ClosedPort::reserve();
    let closed_port = closed.port;
    // `bad-port` and `userinfo` fail on every sample, with errors about their URLs.
    let yaml = format!(
        "apiVersion: gameday/v1\nname: url-secrets\nguards:\n  max_duration: 1m\n  require_healthy_start: false\nsteady_state:\n  - name: api\n    kind: http\n    url: http://127.0.0.1:{port}/health?token={URL_TOKEN}&verbose=1&sig=${{env:GAMEDAY_TEST_URL_SIG}}\n    headers:\n      X-Upstream: Bearer {BEARER_LITERAL}\n      X-Client: {ACCESS_KEY}\n    interval: 200ms\n    timeout: 150ms\n  - name: bad-port\n    kind: http\n    url: \"http://127.0.0.1:99999/?api_key={URL_API_KEY}\"\n    interval: 200ms\n    timeout: 150ms\n  - name: userinfo\n    kind: http\n    url: http://gameday:{URL_PASSWORD}@127.0.0.1:{closed_port}/\n    interval: 200ms\n    timeout: 150ms\nfaults:\n  - name: blip\n    kind: command\n    inject: \"true\"\n    revert: \"true\"\n    duration: 300ms\nexpected_recoveries:\n  - name: api stays up\n    probes: [api]\n    recovers_within: 1s\n"
    );
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let runs = dir.path().join("runs");
    let (stdout, stderr) = run_local(&file, &runs, ("GAMEDAY_TEST_URL_SIG", URL_SIGNATURE)).await;

    // Not vacuous: the server received the token in the query and both headers.
    let seen = requests.lock().unwrap().clone();
    assert!(!seen.is_empty(), "the probe reached the server");
    assert!(seen.iter().all(|r| r.starts_with(&format!("GET /health?token={URL_TOKEN}&verbose=1&sig={URL_SIGNATURE} HTTP/1.1\r\n"))), "{seen:?}");
    assert!(seen.iter().all(|r| r.contains(&format!("X-Upstream: Bearer {BEARER_LITERAL}\r\n")) && r.contains(&format!("X-Client: {ACCESS_KEY}\r\n"))), "{seen:?}");

    let secrets = [URL_TOKEN, URL_API_KEY, URL_PASSWORD, BEARER_LITERAL, ACCESS_KEY, URL_SIGNATURE];
    for secret in secrets {
        assert!(!stdout.contains(secret) && !stderr.contains(secret), "{secret} printed:\n{stdout}\n{stderr}");
    }
    let run_dir = std::fs::read_dir(&runs).unwrap().filter_map(Result::ok).map(|e| e.path()).max().expect("a run directory");
    for entry in std::fs::read_dir(&run_dir).unwrap().filter_map(Result::ok) {
        let text = String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned();
        for secret in secrets {
            assert!(!text.contains(secret), "{} holds {secret}", entry.path().display());
        }
    }
    // The failing probes were sampled, so their errors were written, without the URL's secrets.
    let journal = std::fs::read_to_string(run_dir.join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"probe\":\"bad-port\"") && journal.contains("\"probe\":\"userinfo\""), "{journal}");

    let copy = std::fs::read_to_string(run_dir.join("scenario.yaml")).unwrap();
    assert!(
        copy.contains(&format!("url: \"http://127.0.0.1:{port}/health?token=<redacted>&verbose=1&sig=${{env:GAMEDAY_TEST_URL_SIG}}\"")),
        "the rest of the URL is kept:\n{copy}"
    );
    assert!(copy.contains("url: \"http://127.0.0.1:99999/?api_key=<redacted>\""), "{copy}");
    assert!(copy.contains(&format!("url: \"http://gameday:<redacted>@127.0.0.1:{closed_port}/\"")), "{copy}");
    assert!(copy.contains("X-Upstream: \"<redacted>\"") && copy.contains("X-Client: \"<redacted>\""), "{copy}");

    let again = Command::new(env!("CARGO_BIN_EXE_gameday")).args(["report", run_dir.to_str().unwrap()]).env_remove("RUST_LOG").output().unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", String::from_utf8_lossy(&again.stderr));
}
