//! The `local` environment on the wall clock: a real service stopped and
//! started by command faults, stop conditions, confirmation, and real
//! HTTP(S), TCP and DNS probes against servers these tests run on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gameday::environment::real_probes::RealProber;
use gameday::scenario::Probe;

use crate::safety::wait_until;
use crate::{gameday, run_scenario};

/// Starts Python's web server on `port` of 127.0.0.1 in the background,
/// its output in `log` and its pid in `pid_file`. `-u`: its start-up line
/// is written as soon as it listens, not when a buffer fills.
fn start_command(port: u16, log: &Path, pid_file: &Path) -> String {
    format!("python3 -u -m http.server {port} --bind 127.0.0.1 >{} 2>&1 & echo $! > {}", log.display(), pid_file.display())
}

/// The port in `Serving HTTP on 127.0.0.1 port PORT (…)`, which Python
/// prints once its socket listens.
fn serving_port(log: &str) -> Option<u16> {
    log.split_once("Serving HTTP on 127.0.0.1 port ")?.1.split(' ').next()?.parse().ok()
}

/// A real web service (Python's), stopped by killing it and started again.
pub(crate) struct Service {
    pub port: u16,
    pid_file: PathBuf,
    log: PathBuf,
}

impl Service {
    /// Started on a port the kernel picks (port 0) and Python reports, so
    /// no two tests are handed the same one. The revert starts it again on
    /// that port: being away from it for the fault is what is tested.
    pub fn start(dir: &Path) -> Service {
        let (pid_file, log) = (dir.join("service.pid"), dir.join("service.log"));
        let status = Command::new("sh").arg("-c").arg(start_command(0, &log, &pid_file)).status().unwrap();
        assert!(status.success());
        let mut port = None;
        let listening = wait_until(Duration::from_secs(30), || {
            port = std::fs::read_to_string(&log).ok().as_deref().and_then(serving_port);
            port.is_some()
        });
        assert!(listening, "the test service did not start: {}", std::fs::read_to_string(&log).unwrap_or_default());
        Service { port: port.unwrap(), pid_file, log }
    }

    pub fn is_up(&self) -> bool {
        std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    /// Whether it is listening again (a restart takes Python a moment).
    pub fn comes_up(&self) -> bool {
        wait_until(Duration::from_secs(30), || self.is_up())
    }

    pub fn scenario(&self, extra_guards: &str, duration: &str) -> String {
        format!(
            "apiVersion: gameday/v1\nname: local-test\nguards:\n  max_duration: 1m\n{extra_guards}\nsteady_state:\n  - name: service\n    kind: http\n    url: http://127.0.0.1:{port}/\n    interval: 250ms\n    timeout: 250ms\n    healthy_after: 2\n  - name: port\n    kind: tcp\n    host: 127.0.0.1\n    port: {port}\n    interval: 250ms\n    timeout: 250ms\nfaults:\n  - name: stop\n    kind: command\n    inject: kill \"$(cat {pid})\"\n    revert: {start:?}\n    duration: {duration}\nexpected_recoveries:\n  - name: back\n    probes: [service]\n    recovers_within: 20s\n    detected_by: [port]\n",
            port = self.port,
            pid = self.pid_file.display(),
            start = start_command(self.port, &self.log, &self.pid_file),
        )
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("sh").arg("-c").arg(format!("kill \"$(cat {})\"", self.pid_file.display())).status();
    }
}

#[test]
fn a_restarted_service_recovers_in_the_measured_time() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(dir.path());
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, service.scenario("", "2s")).unwrap();
    let run = run_scenario(&file, &["--env", "local", "--yes"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    let back = run.expectation("back");
    let recover = back["time_to_recover"].as_u64().unwrap();
    // Down for the 2 s fault plus Python's start-up; a sample every 250 ms.
    // The bound is loose on purpose: precision is measured by the benchmark.
    assert!((2_000..=5_000).contains(&recover), "recovered after {recover} ms");
    assert!(back["time_to_detect"].as_u64().unwrap() <= 1_000, "{back}");
    assert!(service.comes_up(), "the revert started the service again");
    let samples = run.events("sample");
    assert!(samples.iter().any(|s| s["ok"] == false && s["observed"].as_str().unwrap().contains("refused")), "failures say why");
    // On a real system each timeline row gives its wall-clock time, to set beside dashboards and chat.
    let started = run.journal[0]["wall"].as_str().unwrap();
    let (day, time) = (&started[..10], &started[11..19]);
    assert!(run.report.contains("| Time | Clock (UTC) | Event | Evidence |"), "{}", run.report);
    // The run starts when its clock does: its row is at T+0ms however busy the machine is (once it read T+3ms at load 12).
    let first = run.report.lines().find(|l| l.contains("Run started on")).unwrap_or_else(|| panic!("no start row:\n{}", run.report));
    assert!(first.starts_with(&format!("| T+0ms | {day} {time}.")), "the first row is the run's start, {started}: {first}");
}

#[test]
fn a_stop_condition_reverts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(dir.path());
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, service.scenario("  stop_conditions:\n    - probe: service\n      failing_for: 200ms", "30s")).unwrap();
    let started = std::time::Instant::now();
    let run = run_scenario(&file, &["--env", "local", "--yes"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 5, "{}\n{}", run.output.stdout, run.output.stderr);
    assert!(run.output.stdout.contains("aborted by guard stop_conditions: probe `service` failing for 200ms"), "{}", run.output.stdout);
    assert!(started.elapsed().as_secs() < 20, "the 30 s fault was cut short");
    assert!(service.comes_up(), "the trip reverted the fault");
    assert_eq!(run.events("fault_reverted").len(), 1);
}

#[test]
fn real_systems_need_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(dir.path());
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, service.scenario("", "2s")).unwrap();
    // No --yes, and stdin is not a terminal: refused before anything happens.
    let output = gameday(&["run", file.to_str().unwrap(), "--env", "local", "--runs-dir", dir.path().join("runs").to_str().unwrap()]);
    assert_eq!(output.code, 5, "{}", output.stderr);
    assert!(output.stderr.contains("refusing to run `local-test` against this machine (local) without confirmation"), "{}", output.stderr);
    assert!(service.is_up());
    assert!(!dir.path().join("runs").exists(), "not even a run directory");
}

#[test]
fn cloud_probes_are_refused_locally() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.yaml");
    std::fs::write(&file, "apiVersion: gameday/v1\nname: x\nsteady_state:\n  - name: c\n    kind: asg_capacity\n    group: web-asg\n    min_in_service: 6\nfaults:\n  - name: f\n    kind: command\n    inject: \"true\"\n    revert: \"true\"\n    duration: 1s\nexpected_recoveries:\n  - name: c\n    probes: [c]\n    recovers_within: 5m\n").unwrap();
    let output = gameday(&["plan", file.to_str().unwrap(), "--env", "local"]);
    assert_eq!(output.code, 7);
    assert!(output.stderr.contains("the local environment has no AWS"), "{}", output.stderr);
}

fn probe(yaml: &str) -> Probe {
    serde_saphyr::from_str(yaml).unwrap()
}

#[tokio::test]
async fn a_probe_that_hangs_times_out() {
    // A server that accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let p = probe(&format!("name: slow\nkind: http\nurl: http://127.0.0.1:{port}/\ninterval: 1s\ntimeout: 200ms\n"));
    let sample = RealProber::new(std::slice::from_ref(&p)).unwrap().sample(&p, 0).await;
    assert!(!sample.ok);
    assert_eq!(sample.observed, "timed out after 200ms");
    assert!((200..1_000).contains(&sample.latency_ms), "{}", sample.latency_ms);
}

#[tokio::test]
async fn https_probes_verify_certificates_and_trust_a_private_ca() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(vec![cert.cert.der().clone()], key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(socket).await {
                    let mut buffer = [0u8; 1024];
                    let _ = tls.read(&mut buffer).await;
                    let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await;
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    let url = format!("https://localhost:{port}/health");
    let trusted = probe(&format!("name: a\nkind: http\nurl: {url}\nbody_contains: ok\nca_file: {}\n", ca.display()));
    let untrusted = probe(&format!("name: b\nkind: http\nurl: {url}\n"));
    let prober = RealProber::new(&[trusted.clone(), untrusted.clone()]).unwrap();
    let ok = prober.sample(&trusted, 0).await;
    assert!(ok.ok, "{}", ok.observed);
    let refused = prober.sample(&untrusted, 0).await;
    assert!(!refused.ok);
    assert!(refused.observed.contains("TLS handshake with localhost failed"), "{}", refused.observed);
}

#[tokio::test]
async fn dns_probes_ask_the_chosen_nameserver() {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buffer).await {
            // Echo the question with one A answer, 192.0.2.44.
            let mut answer = buffer[..n].to_vec();
            answer[2] = 0x81;
            answer[3] = 0x80;
            answer[7] = 1;
            answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 44]);
            let _ = socket.send_to(&answer, from).await;
        }
    });
    let good = probe(&format!("name: d\nkind: dns\nquery: api.example.com\nexpect: [192.0.2.44]\nnameserver: \"{address}\"\n"));
    let wrong = probe(&format!("name: e\nkind: dns\nquery: api.example.com\nexpect: [192.0.2.45]\nnameserver: \"{address}\"\n"));
    let prober = RealProber::new(&[]).unwrap();
    let sample = prober.sample(&good, 0).await;
    assert!(sample.ok, "{}", sample.observed);
    assert_eq!(sample.observed, "A 192.0.2.44");
    assert!(!prober.sample(&wrong, 0).await.ok);
}

/// A step that holds the run loop (here a fault whose `inject` takes 3 s; on
/// AWS, an FIS experiment starting) still gets its heartbeat in a log: the
/// watchdog says the phase and how long the step has taken. The heartbeat is
/// 30 s; `GAMEDAY_TEST_HEARTBEAT_MS` (for tests only) makes it 1 s here.
/// The deadline is 1 s (was 5 s): the probe never fails, so the run lasts
/// until it, and the test is about the 3 s before the fault is in place.
#[test]
fn a_log_keeps_its_heartbeat_while_one_step_holds_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("slow.yaml");
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: slow-step\nsteady_state:\n  - { name: ok, kind: command, run: \"true\", interval: 500ms, timeout: 500ms }\nfaults:\n  - { name: slow, kind: command, inject: \"sleep 3\", revert: \"true\", duration: 1s }\nexpected_recoveries:\n  - { name: ok, probes: [ok], recovers_within: 1s }\n",
    )
    .unwrap();
    let run = crate::run_scenario_with(&file, &["--env", "local", "--yes"], &dir.path().join("runs"), &[("GAMEDAY_TEST_HEARTBEAT_MS", "1000")]);
    assert_eq!(run.output.code, 0, "{}", run.output.stderr);
    let lines: Vec<&str> = run.output.stderr.lines().filter(|l| l.starts_with("gameday: T+")).collect();
    let injecting = lines.iter().position(|l| l.contains(" injecting; probes:")).unwrap_or_else(|| panic!("no line before the first fault is made:\n{lines:#?}"));
    let injected = lines.iter().position(|l| l.contains(" fault injected")).unwrap_or_else(|| panic!("{lines:#?}"));
    let held: Vec<&&str> = lines[injecting..injected].iter().filter(|l| l.contains(" injecting; the current step has taken ")).collect();
    assert!(held.len() >= 2, "a heartbeat a second while `inject` runs for 3 s:\n{lines:#?}");
    assert!(held.iter().all(|l| l.ends_with(" so far")), "{held:#?}");
}

/// A server on 127.0.0.1 that answers every request 200 with `body`, as a
/// static file ending in a newline is served. Returns the port; the listener
/// lives on its thread until the test process ends.
fn serve_body(body: &'static str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut socket in listener.incoming().map_while(Result::ok) {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && matches!(socket.read(&mut byte), Ok(1)) {
                head.push(byte[0]);
            }
            let _ = write!(socket, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    port
}

/// What `echo` prints ends in a newline, and so does a static file a web
/// server sends: `^present$` and `^ok$` match them (their trailing line
/// endings are not matched, docs/scenarios.md). A pattern that does not
/// match says what it was matched against, and the pattern.
#[test]
fn patterns_match_output_without_its_trailing_newline_and_a_miss_shows_what_was_compared() {
    let port = serve_body("ok\n");
    let dir = tempfile::tempdir().unwrap();
    let scenario = |word: &str, body: &str| {
        format!(
            "apiVersion: gameday/v1\nname: matching\nsteady_state:\n  - {{ name: echoed, kind: command, run: 'echo {word}', stdout_matches: '^present$', interval: 500ms, timeout: 500ms }}\n  - {{ name: served, kind: http, url: 'http://127.0.0.1:{port}/health', body_matches: '{body}', interval: 500ms, timeout: 500ms }}\nfaults:\n  - {{ name: nothing, kind: command, inject: 'true', revert: 'true', duration: 500ms }}\nexpected_recoveries:\n  - {{ name: steady, probes: [echoed, served], stays_healthy: true }}\n"
        )
    };
    let file = dir.path().join("matching.yaml");
    std::fs::write(&file, scenario("present", "^ok$")).unwrap();
    let run = run_scenario(&file, &["--env", "local", "--yes"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 0, "{}\n{}", run.output.stdout, run.output.stderr);
    let echoed = run.events("sample").into_iter().find(|s| s["probe"] == "echoed").expect("a sample of `echoed`");
    assert_eq!(echoed["ok"], true, "{echoed}");
    assert_eq!(echoed["observed"], "exit 0: present", "{echoed}");

    std::fs::write(&file, scenario("absent", "^fine$")).unwrap();
    let run = run_scenario(&file, &["--env", "local", "--yes"], &dir.path().join("missed"));
    assert_eq!(run.output.code, 5, "an unhealthy start: {}\n{}", run.output.stdout, run.output.stderr);
    let observed = |probe: &str| run.events("sample").into_iter().find(|s| s["probe"] == probe).map(|s| s["observed"].as_str().unwrap_or_default().to_string()).unwrap_or_default();
    assert_eq!(observed("echoed"), "exit 0: stdout \"absent\" does not match `^present$`");
    // The body itself is not shown: a server may echo the request's headers in it (docs/safety.md).
    assert!(observed("served").ends_with("(body does not match `^fine$`)"), "{}", observed("served"));
    assert!(run.output.stdout.contains("echoed: exit 0: stdout \"absent\" does not match `^present$`"), "{}", run.output.stdout);
}

/// An inject that fails without a word on stderr says so, instead of
/// ending its message on a dangling colon.
#[test]
fn a_failed_command_with_nothing_on_stderr_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fails.yaml");
    std::fs::write(
        &file,
        "apiVersion: gameday/v1\nname: fails\nsteady_state:\n  - { name: ok, kind: command, run: \"true\", interval: 100ms, timeout: 100ms }\nfaults:\n  - { name: f, kind: command, inject: \"exit 1\", revert: \"true\", duration: 1s }\nexpected_recoveries:\n  - { name: ok, probes: [ok], recovers_within: 1s }\n",
    )
    .unwrap();
    let run = crate::run_scenario(&file, &["--env", "local", "--yes"], &dir.path().join("runs"));
    assert_eq!(run.output.code, 6, "{}\n{}", run.output.stdout, run.output.stderr);
    assert!(run.output.stdout.contains("`exit 1` exited with 1 (nothing on stderr)"), "{}", run.output.stdout);
}
