//! Probes against real systems: HTTP(S), TCP, DNS and shell commands, on
//! the wall clock. Every sample is a fresh connection (no pooling), which is
//! what a new client experiences, and is bounded by the probe's timeout;
//! an `http` probe with `connection: reuse` keeps one connection alive
//! instead, for probes sampled so often that connecting dominates their cost.
//!
//! HTTP goes through hyper 1 (the stack the AWS SDK's client is built on) over
//! tokio-rustls with ring: HTTP/1.1, one request per connection with
//! `Connection: close` (or kept alive), redirects not followed, up to 1 MiB of body read.
//! hyper frames the answer (`Content-Length`, chunked, or the close), so a
//! server that keeps the connection open does not hold the sample until its
//! timeout. The TCP connection and the TLS handshake are made here rather than
//! by a pooled client's connector, so that each failure names its step.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration as StdDuration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout};

use crate::environment::shell::{self, expand_env};
use crate::environment::{Millis, Sample};
use crate::scenario::{DnsRecordType, HttpConnection, Probe, ProbeCheck};

const MAX_BODY: usize = 1 << 20;

/// Runs real probes; cheap to clone into one task per probe.
#[derive(Clone)]
pub struct RealProber {
    tls: Arc<rustls::ClientConfig>,
    /// Extra trust per `ca_file`, built once.
    private_tls: Arc<BTreeMap<String, Arc<rustls::ClientConfig>>>,
    /// On AWS: the SDK clients that AWS-reading probes (capacity, target
    /// health, alarms, Route 53 health checks) are read through. The SDK's
    /// clients share their connection pool and are cheap to clone.
    aws: Option<crate::environment::aws::Clients>,
    /// The kept-alive connections of `connection: reuse` probes, by probe
    /// name, each held between its samples (taken out while one runs).
    kept: Arc<Mutex<HashMap<String, KeptConnection>>>,
}

type KeptConnection = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// What one check observed: verdict and a short description.
struct Verdict {
    ok: bool,
    observed: String,
}

impl RealProber {
    /// Trusts the Mozilla root store, plus the CA files named by `probes`.
    pub fn new(probes: &[Probe]) -> Result<Self, String> {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        let tls = Arc::new(client_config(roots.clone())?);
        let mut private = BTreeMap::new();
        for probe in probes {
            if let ProbeCheck::Http { ca_file: Some(path), .. } = &probe.check {
                let mut store = roots.clone();
                use rustls::pki_types::pem::PemObject;
                let certs = rustls::pki_types::CertificateDer::pem_file_iter(path).map_err(|e| format!("probe `{}`: cannot read ca_file {path}: {e}", probe.name))?;
                for cert in certs {
                    let cert = cert.map_err(|e| format!("probe `{}`: bad certificate in {path}: {e}", probe.name))?;
                    store.add(cert).map_err(|e| format!("probe `{}`: unusable certificate in {path}: {e}", probe.name))?;
                }
                private.insert(path.clone(), Arc::new(client_config(store)?));
            }
        }
        Ok(RealProber { tls, private_tls: Arc::new(private), aws: None, kept: Arc::new(Mutex::new(HashMap::new())) })
    }

    /// Also samples the probes that read AWS, through these clients.
    pub fn reading_aws(mut self, clients: crate::environment::aws::Clients) -> Self {
        self.aws = Some(clients);
        self
    }

    /// Takes one sample; `sent_at` is the run clock when it was sent.
    pub async fn sample(&self, probe: &Probe, sent_at: Millis) -> Sample {
        let network = matches!(probe.check, ProbeCheck::Http { .. } | ProbeCheck::Tcp { .. } | ProbeCheck::Dns { .. } | ProbeCheck::Command { .. });
        if let (false, Some(clients)) = (network, &self.aws) {
            return crate::environment::aws::probes::sample(clients, probe, sent_at).await;
        }
        let started = Instant::now();
        let limit = probe.timeout.std();
        let verdict = match timeout(limit, self.check(probe)).await {
            Ok(verdict) => verdict,
            Err(_) => Verdict { ok: false, observed: format!("timed out after {}", probe.timeout) },
        };
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Sample { probe: probe.name.clone(), sent_at, latency_ms, ok: verdict.ok, observed: verdict.observed, unsettled: false, lateness_us: 0, reading: None }
    }

    async fn check(&self, probe: &Probe) -> Verdict {
        let started = Instant::now();
        match &probe.check {
            ProbeCheck::Http { url, method, headers, ca_file, connection, .. } => {
                let tls = ca_file.as_ref().and_then(|f| self.private_tls.get(f)).unwrap_or(&self.tls).clone();
                let answer = match connection {
                    HttpConnection::New => http_request(url, method, headers, tls).await,
                    HttpConnection::Reuse => self.http_request_reusing(&probe.name, url, method, headers, tls).await,
                };
                match answer {
                    Err(error) => Verdict { ok: false, observed: error },
                    Ok((code, body)) => {
                        let latency = started.elapsed();
                        let problems = crate::probe::http_problems(&probe.check, code, &body, u64::try_from(latency.as_millis()).unwrap_or(u64::MAX));
                        let head = format!("HTTP {code} in {}ms", latency.as_millis());
                        if problems.is_empty() { Verdict { ok: true, observed: head } } else { Verdict { ok: false, observed: format!("{head} ({})", problems.join(", ")) } }
                    }
                }
            }
            ProbeCheck::Tcp { host, port, max_latency } => match TcpStream::connect((host.as_str(), *port)).await {
                Ok(_) => {
                    let latency = started.elapsed();
                    let ok = max_latency.is_none_or(|max| latency <= max.std());
                    Verdict { ok, observed: format!("connected in {}ms", latency.as_millis()) }
                }
                Err(error) => Verdict { ok: false, observed: format!("connect to {host}:{port} failed: {error}") },
            },
            ProbeCheck::Dns { query, record_type, expect, nameserver } => match dns_lookup(query, *record_type, nameserver.as_deref()).await {
                Ok(answers) => {
                    let missing: Vec<&String> = expect.iter().filter(|e| !answers.iter().any(|a| a.trim_end_matches('.').eq_ignore_ascii_case(e.trim_end_matches('.')))).collect();
                    let shown = if answers.is_empty() { "no answer".to_string() } else { format!("{record_type:?} {}", answers.join(", ")) };
                    Verdict { ok: missing.is_empty() && (!answers.is_empty() || expect.is_empty()), observed: shown }
                }
                Err(error) => Verdict { ok: false, observed: error },
            },
            ProbeCheck::Command { run, expect_exit, stdout_matches } => {
                // The probe's timeout ends the command's whole session (`shell::output`).
                match shell::output(run, None).await {
                    Err(error) => Verdict { ok: false, observed: error.to_string() },
                    Ok(output) => {
                        let code = output.status.code().unwrap_or(-1);
                        let stdout = String::from_utf8_lossy(&output.stdout);
                        let missed = stdout_matches.as_deref().filter(|pattern| !crate::probe::pattern_matches(pattern, &stdout));
                        let observed = match missed {
                            // What the pattern was matched against, quoted so that a stray space, a
                            // `\r` or a second line shows: the reason it did not match is in there.
                            Some(pattern) => format!("exit {code}: stdout {} does not match `{pattern}`", quoted(crate::probe::text_to_match(&stdout))),
                            None => match stdout.lines().next().unwrap_or("").chars().take(SHOWN_CHARS).collect::<String>() {
                                first_line if first_line.is_empty() => format!("exit {code}"),
                                first_line => format!("exit {code}: {first_line}"),
                            },
                        };
                        Verdict { ok: code == *expect_exit && missed.is_none(), observed }
                    }
                }
            }
            other => Verdict { ok: false, observed: format!("a `{}` probe needs an AWS environment", other.kind_name()) },
        }
    }
}

/// How much of a command's output a sample's `observed` text shows.
const SHOWN_CHARS: usize = 80;

/// `text` as a quoted string with its control characters escaped, cut at
/// `SHOWN_CHARS` characters (`…` says it was).
fn quoted(text: &str) -> String {
    let shown: String = text.chars().take(SHOWN_CHARS).collect();
    if shown.len() < text.len() { format!("{shown:?}…") } else { format!("{shown:?}") }
}

fn client_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, String> {
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

struct Url<'a> {
    https: bool,
    host: &'a str,
    port: u16,
    path: String,
}

/// Splits a probe URL. Its errors never quote the URL: its query may hold a
/// token, and a sample's `observed` text goes into the journal and reports.
fn parse_url(url: &str) -> Result<Url<'_>, String> {
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("the URL does not start with http:// or https://".into());
    };
    let (authority, path) = rest.find(['/', '?']).map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    if authority.contains('@') {
        return Err("the URL holds credentials (`user:password@`); send them in an `Authorization` header read from `${env:NAME}`".into());
    }
    // A line break would let the URL write headers of its own.
    if path.chars().any(char::is_control) {
        return Err("the URL's path contains a control character; refusing to send it".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        // In `[::1]` the last colon is the address's own, not a port's.
        Some((host, port)) if !authority.starts_with('[') || host.ends_with(']') => (host, port.parse().map_err(|_| format!("bad port `{port}` for host {host}"))?),
        _ => (authority, if https { 443 } else { 80 }),
    };
    // `http://host?x=1` asks for `/?x=1`.
    let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
    Ok(Url { https, host: host.trim_start_matches('[').trim_end_matches(']'), port, path })
}

/// The `Host` header: the port is named unless it is the scheme's default,
/// and an IPv6 address is bracketed (RFC 9110, section 7.2).
fn host_header(url: &Url<'_>) -> String {
    let host = if url.host.contains(':') { format!("[{}]", url.host) } else { url.host.to_string() };
    if url.port == if url.https { 443 } else { 80 } { host } else { format!("{host}:{}", url.port) }
}

/// The request, with the probe's headers over the defaults (so a probe may
/// set its own `Host` or `User-Agent`). Errors never quote a header's value
/// or the URL: either may hold a credential.
fn build_request(url: &Url<'_>, method: &str, headers: &BTreeMap<String, String>) -> Result<http::Request<Empty<Bytes>>, String> {
    use http::header::{ACCEPT, CONNECTION, HOST, HeaderName, HeaderValue, USER_AGENT};
    let method = http::Method::from_bytes(method.as_bytes()).map_err(|_| format!("`{method}` is not an HTTP method"))?;
    let mut request = http::Request::new(Empty::new());
    *request.method_mut() = method;
    *request.uri_mut() = url.path.parse().map_err(|_| "the URL's path or query has a character that cannot be sent; percent-encode it".to_string())?;
    let defaults = request.headers_mut();
    defaults.insert(HOST, HeaderValue::from_str(&host_header(url)).map_err(|_| "the URL's host cannot be sent in a Host header".to_string())?);
    defaults.insert(USER_AGENT, HeaderValue::from_static(concat!("gameday/", env!("CARGO_PKG_VERSION"))));
    defaults.insert(ACCEPT, HeaderValue::from_static("*/*"));
    defaults.insert(CONNECTION, HeaderValue::from_static("close"));
    for (name, value) in headers {
        let value = expand_env(value);
        // A value (or a variable it reads) must not smuggle in more headers.
        if value.contains(['\r', '\n']) || name.contains(['\r', '\n', ':']) {
            return Err(format!("header `{name}` contains a line break; refusing to send it"));
        }
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("`{name}` is not a valid header name"))?;
        let value = HeaderValue::from_str(&value).map_err(|_| format!("header `{name}` has a value that cannot be sent (a control character, or not ASCII)"))?;
        request.headers_mut().insert(header, value);
    }
    Ok(request)
}

async fn http_request(url: &str, method: &str, headers: &BTreeMap<String, String>, tls: Arc<rustls::ClientConfig>) -> Result<(u16, String), String> {
    // A token in the query can come from the environment (`?token=${env:NAME}`); the expanded URL lives only here.
    let url = expand_env(url);
    let url = parse_url(&url)?;
    let request = build_request(&url, method, headers)?;
    let tcp = TcpStream::connect((url.host, url.port)).await.map_err(|e| format!("connect to {}:{} failed: {e}", url.host, url.port))?;
    let _ = tcp.set_nodelay(true);
    if url.https {
        let name = rustls::pki_types::ServerName::try_from(url.host.to_string()).map_err(|e| format!("bad host name {}: {e}", url.host))?;
        let stream = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.map_err(|e| format!("TLS handshake with {} failed: {e}", url.host))?;
        exchange(stream, request).await
    } else {
        exchange(tcp, request).await
    }
}

impl RealProber {
    /// A `connection: reuse` sample: on the probe's kept connection if it
    /// has one, else on a new one, which is kept after a full answer.
    async fn http_request_reusing(
        &self,
        probe: &str,
        url: &str,
        method: &str,
        headers: &BTreeMap<String, String>,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<(u16, String), String> {
        let url = expand_env(url);
        let url = parse_url(&url)?;
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner).remove(probe).filter(|sender| sender.is_ready());
        let mut request = build_request(&url, method, headers)?;
        request.headers_mut().remove(http::header::CONNECTION);
        let (mut sender, answer) = match kept {
            Some(mut sender) => match send_and_read(&mut sender, request).await {
                // The server closed the kept connection (an idle timeout, a
                // restart) before this request reached it: once more on a new one.
                Err(SendFailure::BeforeAnswer(_)) => {
                    let mut sender = open_kept(&url, tls).await?;
                    let mut request = build_request(&url, method, headers)?;
                    request.headers_mut().remove(http::header::CONNECTION);
                    let answer = send_and_read(&mut sender, request).await;
                    (sender, answer)
                }
                answer => (sender, answer),
            },
            None => {
                let mut sender = open_kept(&url, tls).await?;
                let answer = send_and_read(&mut sender, request).await;
                (sender, answer)
            }
        };
        let answer = answer.map_err(SendFailure::message)?;
        // Kept only after a full answer on a connection still open; any failure leaves the next sample a new one.
        if !sender.is_closed() && sender.ready().await.is_ok() {
            self.kept.lock().unwrap_or_else(PoisonError::into_inner).insert(probe.to_string(), sender);
        }
        Ok(answer)
    }
}

/// Opens a connection to keep: TCP, TLS for `https`, and the HTTP/1.1
/// handshake, its connection driven by a task of its own that ends when the
/// sender is dropped.
async fn open_kept(url: &Url<'_>, tls: Arc<rustls::ClientConfig>) -> Result<KeptConnection, String> {
    let tcp = TcpStream::connect((url.host, url.port)).await.map_err(|e| format!("connect to {}:{} failed: {e}", url.host, url.port))?;
    let _ = tcp.set_nodelay(true);
    let builder = hyper::client::conn::http1::Builder::new().title_case_headers(true).clone();
    let handshake_failed = |e: hyper::Error| format!("sending the request failed: {}", causes(&e));
    if url.https {
        let name = rustls::pki_types::ServerName::try_from(url.host.to_string()).map_err(|e| format!("bad host name {}: {e}", url.host))?;
        let stream = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.map_err(|e| format!("TLS handshake with {} failed: {e}", url.host))?;
        let (sender, connection) = builder.handshake(TokioIo::new(stream)).await.map_err(handshake_failed)?;
        tokio::spawn(connection);
        Ok(sender)
    } else {
        let (sender, connection) = builder.handshake(TokioIo::new(tcp)).await.map_err(handshake_failed)?;
        tokio::spawn(connection);
        Ok(sender)
    }
}

/// Why a request on a kept connection failed: before any answer came (the
/// connection was closed under it: worth one more try), or after.
enum SendFailure {
    BeforeAnswer(String),
    Other(String),
}

impl SendFailure {
    fn message(self) -> String {
        match self {
            SendFailure::BeforeAnswer(message) | SendFailure::Other(message) => message,
        }
    }
}

/// Sends the request on `sender` and reads the answer as `exchange` does.
async fn send_and_read(sender: &mut KeptConnection, request: http::Request<Empty<Bytes>>) -> Result<(u16, String), SendFailure> {
    let response = sender.send_request(request).await.map_err(|e| {
        if e.is_canceled() || e.is_closed() || e.is_incomplete_message() {
            SendFailure::BeforeAnswer("the server closed the connection without answering".to_string())
        } else if e.is_parse() {
            SendFailure::Other(format!("not an HTTP response ({e})"))
        } else {
            SendFailure::Other(format!("sending the request failed: {}", causes(&e)))
        }
    })?;
    read_answer(response).await.map_err(SendFailure::Other)
}

/// Sends the request and reads the status and up to `MAX_BODY` of body.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(stream: S, request: http::Request<Empty<Bytes>>) -> Result<(u16, String), String> {
    let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("sending the request failed: {}", causes(&e)))?;
    // The connection is driven here rather than on a task of its own, so a
    // sample that times out drops it and closes the socket. It ends once the
    // answer is read (or fails, which `sender` reports), then yields to the
    // exchange.
    let connection = async move {
        let _ = connection.await;
        std::future::pending::<std::convert::Infallible>().await
    };
    let exchange = async move {
        let response = sender.send_request(request).await.map_err(|e| {
            if e.is_parse() {
                format!("not an HTTP response ({e})")
            } else if e.is_incomplete_message() {
                "the server closed the connection without answering".to_string()
            } else {
                format!("sending the request failed: {}", causes(&e))
            }
        })?;
        read_answer(response).await
    };
    tokio::select! {
        result = exchange => result,
        never = connection => match never {},
    }
}

/// The status and up to `MAX_BODY` of the body.
async fn read_answer(response: http::Response<hyper::body::Incoming>) -> Result<(u16, String), String> {
    let code = response.status().as_u16();
    // Without a length or chunking, the server's close ends the body.
    let close_delimited = !response.headers().contains_key(http::header::CONTENT_LENGTH) && !response.headers().contains_key(http::header::TRANSFER_ENCODING);
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while bytes.len() < MAX_BODY {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            // A server that closes without TLS close_notify still sent a full
            // answer when its close is what ends the body.
            Some(Err(e)) if close_delimited && is_unexpected_eof(&e) => break,
            Some(Err(e)) => return Err(format!("reading the response failed: {}", causes(&e))),
        }
    }
    bytes.truncate(MAX_BODY);
    Ok((code, String::from_utf8_lossy(&bytes).into_owned()))
}

/// An error and its causes, as one line (hyper's own text is terse: "error
/// reading a body from connection"; the cause says what happened).
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn is_unexpected_eof(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(cause) = source {
        if cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof) {
            return true;
        }
        source = cause.source();
    }
    false
}

/// A DNS query id from the operating system's randomness (through the ring
/// provider the TLS client already uses): an id an off-path attacker could
/// guess would let a forged answer pass for the real one.
fn query_id() -> Result<u16, String> {
    let mut bytes = [0u8; 2];
    rustls::crypto::ring::default_provider().secure_random.fill(&mut bytes).map_err(|_| "no randomness for a DNS query id".to_string())?;
    Ok(u16::from_be_bytes(bytes))
}

/// One DNS query over UDP (RFC 1035) to `nameserver` (or the first
/// `nameserver` of /etc/resolv.conf), returning the answers of the asked type.
pub async fn dns_lookup(name: &str, record_type: DnsRecordType, nameserver: Option<&str>) -> Result<Vec<String>, String> {
    let server = match nameserver {
        Some(server) => server.to_string(),
        None => std::fs::read_to_string("/etc/resolv.conf")
            .ok()
            .and_then(|text| text.lines().find_map(|l| l.trim().strip_prefix("nameserver").map(|s| s.trim().to_string())))
            .ok_or("no nameserver: set `nameserver` on the probe")?,
    };
    let address: SocketAddr = if let Ok(address) = server.parse() {
        address
    } else {
        format!("{server}:53").parse().or_else(|_| format!("[{server}]:53").parse()).map_err(|_| format!("bad nameserver `{server}`"))?
    };
    let qtype: u16 = match record_type {
        DnsRecordType::A => 1,
        DnsRecordType::CNAME => 5,
        DnsRecordType::TXT => 16,
        DnsRecordType::AAAA => 28,
    };
    let id = query_id()?;
    let mut query = vec![(id >> 8) as u8, id as u8, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("`{name}` is not a DNS name"));
        }
        query.push(label.len() as u8);
        query.extend_from_slice(label.as_bytes());
    }
    query.extend_from_slice(&[0, (qtype >> 8) as u8, qtype as u8, 0, 1]);
    let bind: SocketAddr = if address.is_ipv4() { "0.0.0.0:0".parse().unwrap_or(address) } else { "[::]:0".parse().unwrap_or(address) };
    let socket = UdpSocket::bind(bind).await.map_err(|e| format!("DNS socket: {e}"))?;
    socket.send_to(&query, address).await.map_err(|e| format!("DNS query to {address} failed: {e}"))?;
    let mut buffer = [0u8; 4096];
    loop {
        let (n, from) = timeout(StdDuration::from_secs(30), socket.recv_from(&mut buffer)).await.map_err(|_| "no DNS answer".to_string())?.map_err(|e| format!("DNS: {e}"))?;
        // Anything but the answer to this query (another sender, another id, a
        // query rather than a response) is ignored, and the wait goes on.
        if from != address || n < 12 || u16::from_be_bytes([buffer[0], buffer[1]]) != id || buffer[2] & 0x80 == 0 {
            continue;
        }
        return parse_dns_answer(&buffer[..n], qtype);
    }
}

fn parse_dns_answer(message: &[u8], qtype: u16) -> Result<Vec<String>, String> {
    let rcode = message[3] & 0x0f;
    match rcode {
        0 => {}
        3 => return Err("NXDOMAIN".into()),
        code => return Err(format!("DNS error (rcode {code})")),
    }
    let questions = u16::from_be_bytes([message[4], message[5]]);
    let answers = u16::from_be_bytes([message[6], message[7]]);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(message, at)? + 4;
    }
    let mut found = Vec::new();
    for _ in 0..answers {
        at = skip_name(message, at)?;
        let header = message.get(at..at + 10).ok_or("truncated DNS answer")?;
        let kind = u16::from_be_bytes([header[0], header[1]]);
        let length = usize::from(u16::from_be_bytes([header[8], header[9]]));
        let data_at = at + 10;
        let data = message.get(data_at..data_at + length).ok_or("truncated DNS answer")?;
        if kind == qtype {
            found.push(match kind {
                1 if data.len() == 4 => format!("{}.{}.{}.{}", data[0], data[1], data[2], data[3]),
                28 if data.len() == 16 => std::net::Ipv6Addr::from(<[u8; 16]>::try_from(data).map_err(|_| "bad AAAA")?).to_string(),
                5 => read_name(message, data_at)?,
                16 => txt_value(data)?,
                _ => continue,
            });
        }
        at = data_at + length;
    }
    Ok(found)
}

/// A TXT record's value: its character-strings (each led by its length,
/// RFC 1035 3.3.14; one value over 255 bytes takes several) joined as
/// written, as RFC 7208 3.3 reads an SPF record and resolvers commonly do.
fn txt_value(data: &[u8]) -> Result<String, String> {
    let mut value = Vec::with_capacity(data.len());
    let mut rest = data;
    while let Some((&length, after)) = rest.split_first() {
        let string = after.get(..usize::from(length)).ok_or("truncated TXT record")?;
        value.extend_from_slice(string);
        rest = &after[string.len()..];
    }
    Ok(String::from_utf8_lossy(&value).into_owned())
}

fn skip_name(message: &[u8], mut at: usize) -> Result<usize, String> {
    loop {
        let length = *message.get(at).ok_or("truncated DNS name")?;
        if length & 0xc0 == 0xc0 {
            return Ok(at + 2);
        }
        if length == 0 {
            return Ok(at + 1);
        }
        at += 1 + usize::from(length);
    }
}

fn read_name(message: &[u8], mut at: usize) -> Result<String, String> {
    let mut labels = Vec::new();
    // Compression pointers may chain; a bound stops a hostile loop.
    for _ in 0..128 {
        let length = *message.get(at).ok_or("truncated DNS name")?;
        if length & 0xc0 == 0xc0 {
            let low = *message.get(at + 1).ok_or("truncated DNS name")?;
            at = usize::from(u16::from_be_bytes([length & 0x3f, low]));
            continue;
        }
        if length == 0 {
            return Ok(labels.join("."));
        }
        let label = message.get(at + 1..at + 1 + usize::from(length)).ok_or("truncated DNS name")?;
        labels.push(String::from_utf8_lossy(label).into_owned());
        at += 1 + usize::from(length);
    }
    Err("DNS name compression loop".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_parts() {
        let url = parse_url("https://api.example.com/health?x=1").unwrap();
        assert!(url.https);
        assert_eq!((url.host, url.port, url.path.as_str()), ("api.example.com", 443, "/health?x=1"));
        let url = parse_url("http://127.0.0.1:8080").unwrap();
        assert_eq!((url.host, url.port, url.path.as_str()), ("127.0.0.1", 8080, "/"));
        assert!(parse_url("ftp://x").is_err());
        assert_eq!(parse_url("http://h?token=x").unwrap().path, "/?token=x");
    }

    #[test]
    fn url_errors_never_quote_the_url() {
        for url in ["http://h:99999/?token=s3cret-q", "http://user:s3cret-q@h/", "ftp://h/?token=s3cret-q", "http://h:x/s3cret-q"] {
            let error = parse_url(url).err().unwrap_or_else(|| panic!("{url} parsed"));
            assert!(!error.contains("s3cret-q"), "{error}");
        }
        assert!(parse_url("http://h/a\r\nX-Injected: 1").is_err());
    }

    #[test]
    fn the_host_header_names_a_port_only_when_it_is_not_the_default() {
        let host = |url: &str| host_header(&parse_url(url).unwrap());
        assert_eq!(host("http://api.example.com/health"), "api.example.com");
        assert_eq!(host("https://api.example.com:443/"), "api.example.com");
        assert_eq!(host("http://api.example.com:8080/"), "api.example.com:8080");
        assert_eq!(host("https://api.example.com:80/"), "api.example.com:80");
        assert_eq!(host("http://[::1]:8080/"), "[::1]:8080");
        assert_eq!(host("http://[::1]/"), "[::1]");
    }

    #[test]
    fn probe_headers_override_the_defaults_and_bad_ones_are_refused_unquoted() {
        let url = parse_url("http://h:81/x?y=1").unwrap();
        let headers = BTreeMap::from([("host".to_string(), "virtual.example".to_string()), ("X-Key".to_string(), "k".to_string())]);
        let request = build_request(&url, "HEAD", &headers).unwrap();
        assert_eq!(request.method(), http::Method::HEAD);
        assert_eq!(request.uri(), "/x?y=1");
        assert_eq!(request.headers()["host"], "virtual.example");
        assert_eq!(request.headers().get_all("host").iter().count(), 1);
        assert_eq!(request.headers()["x-key"], "k");
        assert_eq!(request.headers()["connection"], "close");
        let secret = BTreeMap::from([("Authorization".to_string(), "Bearer s3cret\u{7f}".to_string())]);
        let error = build_request(&url, "GET", &secret).unwrap_err();
        assert!(error.starts_with("header `Authorization` has a value that cannot be sent"), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
        let injected = BTreeMap::from([("X-A".to_string(), "a\r\nX-B: b".to_string())]);
        assert_eq!(build_request(&url, "GET", &injected).unwrap_err(), "header `X-A` contains a line break; refusing to send it");
        assert!(build_request(&url, "GE T", &BTreeMap::new()).is_err());
        let spaced = parse_url("http://h/a b?token=s3cret").unwrap();
        let error = build_request(&spaced, "GET", &BTreeMap::new()).unwrap_err();
        assert!(!error.contains("s3cret"), "{error}");
    }

    /// A command probe is started as a fault's command is (`shell::output`):
    /// its `${env:NAME}` is read by the shell, and an unset one fails the
    /// sample (it is no empty string).
    #[tokio::test]
    async fn a_command_probe_reads_the_environment_through_the_shell() {
        // SAFETY: a variable of this test's own name, set before the probe reads it.
        unsafe { std::env::set_var("GAMEDAY_PROBE_TEST_WORD", "hello") };
        let text = "apiVersion: gameday/v1\nname: p\nsteady_state:\n  - { name: word, kind: command, run: 'echo ${env:GAMEDAY_PROBE_TEST_WORD}', stdout_matches: '^hello', interval: 10s, timeout: 5s }\n  - { name: unset, kind: command, run: 'echo ${env:GAMEDAY_PROBE_TEST_UNSET}', interval: 10s, timeout: 5s }\nfaults:\n  - { name: f, kind: command, inject: 'true', revert: 'true', duration: 1s }\nexpected_recoveries:\n  - { name: ok, probes: [word], recovers_within: 1s }\n";
        let scenario = crate::scenario::parse_str(text, None).unwrap();
        let prober = RealProber::new(&scenario.steady_state).unwrap();
        let word = prober.sample(&scenario.steady_state[0], 0).await;
        assert!(word.ok, "{}", word.observed);
        assert_eq!(word.observed, "exit 0: hello");
        let unset = prober.sample(&scenario.steady_state[1], 0).await;
        assert!(!unset.ok && unset.observed.contains("GAMEDAY_PROBE_TEST_UNSET is not set here"), "{}", unset.observed);
    }

    #[test]
    fn headers_read_the_environment() {
        // SAFETY-free: a variable no other test uses.
        unsafe { std::env::set_var("GAMEDAY_TEST_TOKEN", "s3cret") };
        assert_eq!(expand_env("Bearer ${env:GAMEDAY_TEST_TOKEN}"), "Bearer s3cret");
        assert_eq!(expand_env("${env:GAMEDAY_UNSET_VARIABLE}x"), "x");
        assert_eq!(expand_env("plain ${env:"), "plain ${env:");
    }

    #[test]
    fn dns_answers_are_parsed_and_hostile_ones_rejected() {
        // Answer for api.example.com: CNAME lb.example.com (compressed), then A 192.0.2.7.
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x03api\x07example\x03com\x00\x00\x05\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 5, 2, b'l', b'b', 0xc0, 16]);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]);
        assert_eq!(parse_dns_answer(&m, 5).unwrap(), vec!["lb.example.com".to_string()]);
        assert_eq!(parse_dns_answer(&m, 1).unwrap(), vec!["192.0.2.7".to_string()]);
        let mut looped = m.clone();
        let pointer_at = looped.len() - 4 - 12 - 2;
        looped[pointer_at] = 0xc0;
        looped[pointer_at + 1] = u8::try_from(pointer_at).unwrap();
        assert!(parse_dns_answer(&looped, 5).is_err());
        assert!(parse_dns_answer(&m[..20], 1).is_err());
    }
}
