//! moto server, the AWS emulator, for the AWS-path tests. One server per
//! test process on 127.0.0.1, started lazily by the first test that needs
//! it, on a port the server picks itself and reports (so no two processes
//! can be handed the same port). Each test gets an AWS account of its own in
//! that server: moto keeps every account's resources apart and maps the
//! credentials of an STS `AssumeRole` to the role's account
//! (moto's docs, "Multi-Account support"), so tests that build the same
//! fleet (`web-asg`, `web-tg`, `example.com`) in parallel never meet. Under
//! `cargo test` that is one Python start-up for the whole binary instead of
//! one per test; under nextest (a process per test) it is one per test, as
//! before. The tests that need FIS experiments to run until gameday stops
//! them share a second server, set up so once (`Moto::start_held_fis`):
//! moto-api state-manager transitions are the whole server's, and the other
//! tests need moto's default.
//!
//! The server dies with the test process however it ends: it runs under a
//! shell that kills it when its stdin, a pipe from this process, closes.
//!
//! moto is installed once, by scripts/install-moto: `.ci/run` calls it and
//! sets GAMEDAY_MOTO_SERVER; without that variable the first test that needs
//! moto calls it under a file lock, so `cargo test` (or nextest, which runs
//! each test in a process of its own) alone sets it up, once.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;

/// What scripts/install-moto installs (`moto[server]==VERSION`).
pub const MOTO_REQUIREMENT: &str = include_str!("../moto-requirements.txt");
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

/// A moto server process (under its watchdog shell). Both servers are
/// statics, never dropped: the server ends when this process does.
struct Server {
    /// Held, never waited for: the watchdog shell ends the server when its
    /// stdin, a pipe from this process, closes, that is when this process ends.
    _watchdog: Child,
    endpoint: String,
}

impl Server {
    fn start() -> Server {
        // `read` returns when this process closes the pipe or exits (even by kill -9); then the shell ends the server.
        let mut shell = Command::new("sh")
            .args(["-c", "\"$0\" -H 127.0.0.1 -p 0 & server=$!; read -r _; kill $server", moto_server_binary().to_str().unwrap()])
            // One AMI instead of moto's ~1,300 for us-east-1: moto builds every default AMI (with its volume and
            // snapshot) in each new account's EC2 backend, about 1.2 s of its CPU per test account, and the
            // unfiltered DescribeImages of `Fleet::build` answered all of them. gameday reads no AMI.
            .env("MOTO_AMIS_PATH", PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/moto-amis.json"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server starts");
        // moto logs every request to stderr: read it to the end, so a full pipe never stalls the server.
        let stderr = BufReader::new(shell.stderr.take().unwrap());
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
            Ok(Ok(port)) => Server { _watchdog: shell, endpoint: format!("http://127.0.0.1:{port}") },
            Ok(Err(said)) => panic!("moto_server ended without listening:\n{said}"),
            Err(_) => panic!("moto_server did not say which port it listens on within 2 minutes"),
        }
    }

    /// The server this test process shares, started by the first caller.
    fn shared() -> &'static Server {
        static SHARED: OnceLock<Server> = OnceLock::new();
        SHARED.get_or_init(Server::start)
    }

    /// The second shared server, on which an FIS experiment moves one status
    /// on at every second GetExperiment of it, not at every one (moto's
    /// default): so the revert's first read finds it running, and it runs
    /// until gameday stops it. moto counts the reads per experiment, so the
    /// tests that share this server never move each other's experiments on.
    /// One server for them instead of one each: a moto start-up and its
    /// first calls are about 2 s of CPU (Python importing moto).
    fn held_fis() -> &'static Server {
        static HELD_FIS: OnceLock<Server> = OnceLock::new();
        HELD_FIS.get_or_init(|| {
            let server = Server::start();
            server.set_transition("fis::experiment", r#"{"progression":"manual","times":2}"#);
            server
        })
    }

    /// A new account of this server and credentials for it: STS
    /// `AssumeRole` of a role in that account (moto needs no such role).
    fn new_account(&self) -> (String, Credentials) {
        // Unique within the process, 12 digits, and never moto's default 123456789012 nor the 999999999999 that tests use as someone else's.
        static NEXT: AtomicU64 = AtomicU64::new(200_000_000_001);
        let account = NEXT.fetch_add(1, Ordering::Relaxed).to_string();
        let body = format!("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A{account}%3Arole%2Fgameday-test&RoleSessionName=gameday-test");
        // moto does not check signatures; it reads the service (sts) from the credential scope.
        let answer = self.post(
            "/",
            "application/x-www-form-urlencoded",
            Some("AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0"),
            &body,
        );
        assert!(answer.starts_with("HTTP/1.1 200"), "moto refused AssumeRole: {answer}");
        let field = |name: &str| {
            answer
                .split_once(&format!("<{name}>"))
                .and_then(|(_, rest)| rest.split_once(&format!("</{name}>")))
                .map(|(value, _)| value.to_string())
                .unwrap_or_else(|| panic!("no {name} in moto's AssumeRole answer: {answer}"))
        };
        (account, Credentials { access_key: field("AccessKeyId"), secret_key: field("SecretAccessKey"), session_token: field("SessionToken") })
    }

    /// moto-api `set-transition` of `model` (e.g. `fis::experiment`), for every account of this server.
    fn set_transition(&self, model: &str, transition: &str) {
        let body = format!(r#"{{"model_name":"{model}","transition":{transition}}}"#);
        let answer = self.post("/moto-api/state-manager/set-transition", "application/json", None, &body);
        assert!(answer.starts_with("HTTP/1.1 201"), "moto refused the transition: {answer}");
    }

    /// One HTTP/1.1 POST to the server; the whole answer, headers and body.
    fn post(&self, path: &str, content_type: &str, authorization: Option<&str>, body: &str) -> String {
        use std::io::{Read, Write};
        let address = self.endpoint.trim_start_matches("http://");
        let authorization = authorization.map(|value| format!("Authorization: {value}\r\n")).unwrap_or_default();
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        write!(
            stream,
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: {content_type}\r\n{authorization}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }
}

struct Credentials {
    access_key: String,
    secret_key: String,
    session_token: String,
}

/// One test's view of moto: an account of its own, on one of the two
/// servers the test process shares.
pub struct Moto {
    pub endpoint: String,
    /// This test's AWS account: put it in scenarios' `accounts` guards and
    /// project files; what the binary's credentials (`env`) belong to.
    pub account: String,
    credentials: Credentials,
}

impl Moto {
    /// A new account on the server this test process shares.
    pub fn start() -> Moto {
        let server = Server::shared();
        let (account, credentials) = server.new_account();
        Moto { endpoint: server.endpoint.clone(), account, credentials }
    }

    /// A new account on the server whose FIS experiments run until stopped
    /// (`Server::held_fis`), for the tests that halt or kill a run while its
    /// experiment runs.
    pub fn start_held_fis() -> Moto {
        let server = Server::held_fis();
        let (account, credentials) = server.new_account();
        Moto { endpoint: server.endpoint.clone(), account, credentials }
    }

    pub async fn config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            // The SDK crates are built without a default client (Cargo.toml): the same one as the binary's.
            .http_client(gameday::environment::aws::https_client())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_ec2::config::Credentials::new(
                &self.credentials.access_key,
                &self.credentials.secret_key,
                Some(self.credentials.session_token.clone()),
                None,
                "moto",
            ))
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

    /// Environment for the gameday binary: this test's account's
    /// credentials, nothing read from ~/.aws.
    pub fn env(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("AWS_ACCESS_KEY_ID", &self.credentials.access_key),
            ("AWS_SECRET_ACCESS_KEY", &self.credentials.secret_key),
            ("AWS_SESSION_TOKEN", &self.credentials.session_token),
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
    }
}
