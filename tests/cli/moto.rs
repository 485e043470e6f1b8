//! moto server, the AWS emulator, for the AWS-path tests: one server per
//! test on 127.0.0.1, on a port the server picks itself and reports (so no
//! two tests can be handed the same port), killed when dropped.
//!
//! moto is installed once, by scripts/install-moto: `.ci/run` calls it and
//! sets GAMEDAY_MOTO_SERVER; without that variable the first test that needs
//! moto calls it under a file lock, so `cargo test` (or nextest, which runs
//! each test in a process of its own) alone sets it up, once.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::BehaviorVersion;

/// What scripts/install-moto installs (`moto[server]==VERSION`).
pub const MOTO_REQUIREMENT: &str = include_str!("../moto-requirements.txt");
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

fn moto_server_binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        if let Some(path) = std::env::var_os("GAMEDAY_MOTO_SERVER") {
            return PathBuf::from(path);
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&dir).unwrap();
        // Held while the script runs: a process that comes second waits, then finds moto installed.
        let lock = std::fs::File::create(dir.join("moto-install.lock")).unwrap();
        lock.lock().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/install-moto");
        let out = Command::new(&script).arg(&dir).stderr(Stdio::inherit()).output().expect("scripts/install-moto runs");
        assert!(out.status.success(), "scripts/install-moto could not install {} from PyPI", MOTO_REQUIREMENT.trim());
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// The port in werkzeug's start-up line, ` * Running on http://127.0.0.1:PORT`,
/// which it prints once the socket listens.
fn reported_port(line: &str) -> Option<u16> {
    line.split_once("Running on http://127.0.0.1:")?.1.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let mut child = Command::new(moto_server_binary()).args(["-H", "127.0.0.1", "-p", "0"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("moto_server starts");
        // moto logs every request to stderr: read it to the end, so a full pipe never stalls the server.
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (port_sender, port) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(port) = reported_port(&line) {
                    let _ = port_sender.send(Ok(port));
                } else if seen.len() < 20 {
                    seen.push(line);
                }
            }
            let _ = port_sender.send(Err(seen.join("\n")));
        });
        match port.recv_timeout(Duration::from_secs(120)) {
            Ok(Ok(port)) => Moto { child, endpoint: format!("http://127.0.0.1:{port}") },
            Ok(Err(said)) => panic!("moto_server ended without listening:\n{said}"),
            Err(_) => panic!("moto_server did not say which port it listens on within 2 minutes"),
        }
    }

    pub async fn config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            // The SDK crates are built without a default client (Cargo.toml): the same one as the binary's.
            .http_client(gameday::environment::aws::https_client())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_ec2::config::Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }

    /// A project file naming this server as environment `moto`.
    /// As `project`, with more keys for the environment (e.g. `fis_role_arn`).
    pub fn project_with(&self, dir: &std::path::Path, account: &str, extra: &str) -> PathBuf {
        let path = dir.join("gameday.yaml");
        std::fs::write(
            &path,
            format!(
                "apiVersion: gameday/v1\nkind: Project\nenvironments:\n  moto:\n    kind: aws\n    region: {REGION}\n    account: \"{account}\"\n    endpoint_url: {}\n{extra}",
                self.endpoint
            ),
        )
        .unwrap();
        path
    }

    /// Sets how moto's state manager moves a model's status on (moto-api
    /// `set-transition`), e.g. `{"progression":"manual","times":2}`: the
    /// status moves one step every `times` reads.
    pub fn set_transition(&self, model: &str, transition: &str) {
        use std::io::{Read, Write};
        let body = format!(r#"{{"model_name":"{model}","transition":{transition}}}"#);
        let address = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(
            stream,
            "POST /moto-api/state-manager/set-transition HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 201"), "moto refused the transition: {answer}");
    }

    /// Environment for the gameday binary: test credentials, nothing read from ~/.aws.
    pub fn env() -> Vec<(&'static str, &'static str)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
