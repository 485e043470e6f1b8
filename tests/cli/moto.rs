//! moto server, the AWS emulator, for the AWS-path tests: installed into a
//! virtualenv under target/ on first use (so `cargo test` alone sets it up),
//! one server per test on a free port of 127.0.0.1, killed when dropped.
//! Set GAMEDAY_MOTO_SERVER to an existing `moto_server` to skip the install.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;

pub const MOTO_VERSION: &str = "5.2.5";
pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

static INSTALL: Mutex<()> = Mutex::new(());

fn moto_server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("GAMEDAY_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("moto-{MOTO_VERSION}"));
    let binary = venv.join("bin/moto_server");
    if !binary.exists() {
        let status = Command::new("python3").args(["-m", "venv"]).arg(&venv).status().expect("python3 runs");
        assert!(status.success(), "could not create the moto virtualenv");
        let status = Command::new(venv.join("bin/pip")).args(["install", "--quiet", &format!("moto[server]=={MOTO_VERSION}")]).status().expect("pip runs");
        assert!(status.success(), "could not install moto[server]=={MOTO_VERSION} from PyPI");
    }
    binary
}

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let binary = moto_server_binary();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(binary).args(["-H", "127.0.0.1", "-p", &port.to_string()]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("moto_server starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(60), "moto_server did not listen on 127.0.0.1:{port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child, endpoint: format!("http://127.0.0.1:{port}") }
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
