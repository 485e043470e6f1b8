//! The `http` and `dns` probes' wire behaviour against servers these tests
//! run on 127.0.0.1: responses framed by `Content-Length` on a connection the
//! server keeps open, chunked bodies, the `Host` header, bodies cut short,
//! and DNS query ids. Each server binds port 0 and keeps its listener, so
//! parallel tests never race for a port.

use std::sync::{Arc, Mutex};

use gameday::environment::real_probes::RealProber;
use gameday::scenario::Probe;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn probe(yaml: &str) -> Probe {
    serde_saphyr::from_str(yaml).unwrap()
}

/// Reads one request head (up to the blank line) and returns it as text.
async fn read_head(socket: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match socket.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A server on 127.0.0.1 that answers every request with `answer(head)`,
/// then closes the connection, or, with `keep_open`, holds it open (as a
/// keep-alive server that ignores `Connection: close` does). Returns the port.
async fn serve(keep_open: bool, answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let head = read_head(&mut socket).await;
                let _ = socket.write_all(&answer(&head)).await;
                if keep_open {
                    // Hold the connection until the client goes away.
                    let mut rest = [0u8; 64];
                    while matches!(socket.read(&mut rest).await, Ok(n) if n > 0) {}
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_keep_alive_answer_ends_at_its_content_length() {
    let port = serve(true, |_| b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok".to_vec()).await;
    let p = probe(&format!("name: ka\nkind: http\nurl: http://127.0.0.1:{port}/health\nbody_matches: '^ok$'\ninterval: 5s\ntimeout: 2s\n"));
    let sample = RealProber::new(std::slice::from_ref(&p)).unwrap().sample(&p, 0).await;
    assert!(sample.ok, "{}", sample.observed);
    assert!(sample.observed.starts_with("HTTP 200 in "), "{}", sample.observed);
    assert!(sample.latency_ms < 2_000, "answered, not timed out: {}", sample.latency_ms);
}

#[tokio::test]
async fn a_chunked_body_is_matched_decoded() {
    let port = serve(false, |_| b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhea\r\n5\r\nlthy!\r\n0\r\n\r\n".to_vec()).await;
    let p = probe(&format!("name: ch\nkind: http\nurl: http://127.0.0.1:{port}/\nbody_matches: '^healthy!$'\ninterval: 5s\ntimeout: 2s\n"));
    let sample = RealProber::new(std::slice::from_ref(&p)).unwrap().sample(&p, 0).await;
    assert!(sample.ok, "{}", sample.observed);
}

#[tokio::test]
async fn a_chunked_body_on_a_kept_connection_ends_at_its_last_chunk() {
    let port = serve(true, |_| b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ndown\r\n0\r\n\r\n".to_vec()).await;
    let p = probe(&format!("name: ch\nkind: http\nurl: http://127.0.0.1:{port}/\ninterval: 5s\ntimeout: 2s\n"));
    let sample = RealProber::new(std::slice::from_ref(&p)).unwrap().sample(&p, 0).await;
    assert!(!sample.ok);
    assert!(sample.observed.starts_with("HTTP 503 in "), "{}", sample.observed);
}

#[tokio::test]
async fn the_host_header_carries_a_port_that_is_not_the_default() {
    // The server answers with the Host header it was sent.
    let port = serve(false, |head| {
        let host = head.lines().find_map(|l| l.strip_prefix("Host: ").or_else(|| l.strip_prefix("host: "))).unwrap_or("(none)").to_string();
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{host}", host.len()).into_bytes()
    })
    .await;
    let p = probe(&format!("name: host\nkind: http\nurl: http://127.0.0.1:{port}/\nbody_matches: '^127\\.0\\.0\\.1:{port}$'\ninterval: 5s\ntimeout: 2s\n"));
    let sample = RealProber::new(std::slice::from_ref(&p)).unwrap().sample(&p, 0).await;
    assert!(sample.ok, "{}", sample.observed);
}

#[tokio::test]
async fn a_body_cut_short_of_its_content_length_fails() {
    let port = serve(false, |_| b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nok".to_vec()).await;
    let p = probe(&format!("name: short\nkind: http\nurl: http://127.0.0.1:{port}/\nbody_contains: ok\ninterval: 5s\ntimeout: 2s\n"));
    let sample = RealProber::new(std::slice::from_ref(&p)).unwrap().sample(&p, 0).await;
    assert!(!sample.ok, "{}", sample.observed);
    assert!(sample.observed.starts_with("reading the response failed"), "{}", sample.observed);
}

#[tokio::test]
async fn a_body_without_length_ends_when_the_server_closes() {
    // HTTP/1.0 style: no Content-Length, no chunking, the close ends the body.
    let port = serve(false, |_| b"HTTP/1.0 200 OK\r\n\r\nall good".to_vec()).await;
    let p = probe(&format!("name: close\nkind: http\nurl: http://127.0.0.1:{port}/\nbody_matches: '^all good$'\ninterval: 5s\ntimeout: 2s\n"));
    let sample = RealProber::new(std::slice::from_ref(&p)).unwrap().sample(&p, 0).await;
    assert!(sample.ok, "{}", sample.observed);
}

#[tokio::test]
async fn a_huge_body_on_a_kept_connection_is_read_up_to_the_limit() {
    // 3 MiB announced, 2 MiB sent, connection held: the probe stops at 1 MiB.
    let port = serve(true, |_| {
        let mut answer = b"HTTP/1.1 200 OK\r\nContent-Length: 3145728\r\n\r\nstart".to_vec();
        answer.resize(answer.len() + 2 * 1024 * 1024, b'x');
        answer
    })
    .await;
    let p = probe(&format!("name: big\nkind: http\nurl: http://127.0.0.1:{port}/\nbody_contains: start\ninterval: 5s\ntimeout: 2s\n"));
    let sample = RealProber::new(std::slice::from_ref(&p)).unwrap().sample(&p, 0).await;
    assert!(sample.ok, "{}", sample.observed);
}

/// A DNS server that records each query's id and answers A 192.0.2.44; with
/// `stray_first`, it first sends an answer under another id (a late answer
/// to an earlier query, or a spoofing attempt), which must be ignored.
async fn dns_server(stray_first: bool) -> (std::net::SocketAddr, Arc<Mutex<Vec<u16>>>) {
    dns_server_answering(stray_first, 1, |address| address.to_vec()).await
}

/// As `dns_server`, answering one record of type `record_type` whose data is
/// `data(address)`, the address being 192.0.2.44 (192.0.2.66 for the stray).
async fn dns_server_answering(stray_first: bool, record_type: u16, data: impl Fn([u8; 4]) -> Vec<u8> + Send + Sync + 'static) -> (std::net::SocketAddr, Arc<Mutex<Vec<u16>>>) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let address = socket.local_addr().unwrap();
    let ids = Arc::new(Mutex::new(Vec::new()));
    let seen = ids.clone();
    tokio::spawn(async move {
        let mut buffer = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buffer).await {
            seen.lock().unwrap().push(u16::from_be_bytes([buffer[0], buffer[1]]));
            let answer = |address: [u8; 4]| {
                let mut answer = buffer[..n].to_vec();
                answer[2] = 0x81;
                answer[3] = 0x80;
                answer[7] = 1;
                let data = data(address);
                answer.extend_from_slice(&[0xc0, 12, (record_type >> 8) as u8, record_type as u8, 0, 1, 0, 0, 0, 30]);
                answer.extend_from_slice(&(data.len() as u16).to_be_bytes());
                answer.extend_from_slice(&data);
                answer
            };
            if stray_first {
                let mut stray = answer([192, 0, 2, 66]);
                stray[0] ^= 0xff;
                let _ = socket.send_to(&stray, from).await;
            }
            let _ = socket.send_to(&answer([192, 0, 2, 44]), from).await;
        }
    });
    (address, ids)
}

#[tokio::test]
async fn dns_queries_carry_random_ids() {
    let (address, ids) = dns_server(false).await;
    let p = probe(&format!("name: d\nkind: dns\nquery: api.example.com\nexpect: [192.0.2.44]\nnameserver: \"{address}\"\n"));
    let prober = RealProber::new(&[]).unwrap();
    for _ in 0..16 {
        let sample = prober.sample(&p, 0).await;
        assert!(sample.ok, "{}", sample.observed);
    }
    let mut ids = ids.lock().unwrap().clone();
    ids.sort_unstable();
    ids.dedup();
    // 16 random 16-bit ids: 12 or more distinct but for a chance far below 1e-9.
    assert!(ids.len() >= 12, "query ids repeat: {ids:?}");
}

#[tokio::test]
async fn a_dns_answer_under_another_id_is_ignored() {
    let (address, _) = dns_server(true).await;
    let p = probe(&format!("name: d\nkind: dns\nquery: api.example.com\nexpect: [192.0.2.44]\nnameserver: \"{address}\"\n"));
    let sample = RealProber::new(&[]).unwrap().sample(&p, 0).await;
    assert!(sample.ok, "{}", sample.observed);
    assert_eq!(sample.observed, "A 192.0.2.44");
}

/// A TXT record holds one or more character-strings, each led by its length
/// (RFC 1035, 3.3.14): a value over 255 bytes (a DKIM key) or an SPF record
/// split by its publisher comes as several. They are read as one value,
/// joined as written (RFC 7208, 3.3), with no length byte left inside.
#[tokio::test]
async fn a_txt_record_of_several_strings_is_read_as_one_value() {
    let key = format!("v=DKIM1; k=rsa; p={}", "A".repeat(300));
    let strings: Vec<Vec<u8>> = vec![key.as_bytes()[..255].to_vec(), key.as_bytes()[255..].to_vec()];
    let data = move |_| strings.iter().flat_map(|s| std::iter::once(s.len() as u8).chain(s.iter().copied())).collect();
    let (address, _) = dns_server_answering(false, 16, data).await;
    let p = probe(&format!("name: d\nkind: dns\nquery: selector._domainkey.example.com\nrecord_type: TXT\nexpect: [\"{key}\"]\nnameserver: \"{address}\"\n"));
    let sample = RealProber::new(&[]).unwrap().sample(&p, 0).await;
    assert!(sample.ok, "{}", sample.observed);
}

/// A keep-alive server on 127.0.0.1: answers `200 ok` to every request on a
/// connection, closing it after `per_connection` requests (as a server's
/// keep-alive limit or idle timeout does). Counts connections accepted, and
/// keeps each request's head.
async fn keep_alive_server(per_connection: usize) -> (u16, Arc<Mutex<usize>>, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (connections, heads) = (Arc::new(Mutex::new(0)), Arc::new(Mutex::new(Vec::new())));
    let (counted, seen) = (connections.clone(), heads.clone());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            *counted.lock().unwrap() += 1;
            let seen = seen.clone();
            tokio::spawn(async move {
                for _ in 0..per_connection {
                    let head = read_head(&mut socket).await;
                    if head.is_empty() {
                        return;
                    }
                    seen.lock().unwrap().push(head);
                    if socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await.is_err() {
                        return;
                    }
                }
                // The limit reached: the server closes the connection without a word.
            });
        }
    });
    (port, connections, heads)
}

#[tokio::test]
async fn a_reused_connection_serves_every_sample_of_its_probe() {
    let (port, connections, heads) = keep_alive_server(usize::MAX).await;
    let p = probe(&format!("name: ka\nkind: http\nurl: http://127.0.0.1:{port}/\nconnection: reuse\ninterval: 100ms\ntimeout: 2s\n"));
    let prober = RealProber::new(std::slice::from_ref(&p)).unwrap();
    for at in 0..5 {
        let sample = prober.sample(&p, at * 100).await;
        assert!(sample.ok, "{}", sample.observed);
    }
    assert_eq!(*connections.lock().unwrap(), 1, "one connection for five samples");
    assert!(heads.lock().unwrap().iter().all(|h| !h.to_ascii_lowercase().contains("connection: close")), "{:?}", heads.lock().unwrap());
}

#[tokio::test]
async fn by_default_every_sample_opens_its_own_connection() {
    let (port, connections, heads) = keep_alive_server(usize::MAX).await;
    let p = probe(&format!("name: fresh\nkind: http\nurl: http://127.0.0.1:{port}/\ninterval: 100ms\ntimeout: 2s\n"));
    let prober = RealProber::new(std::slice::from_ref(&p)).unwrap();
    for at in 0..5 {
        assert!(prober.sample(&p, at * 100).await.ok);
    }
    assert_eq!(*connections.lock().unwrap(), 5, "a new client each time");
    assert!(heads.lock().unwrap().iter().all(|h| h.contains("Connection: close")));
}

/// A server that closes kept connections after two requests: the sample
/// that finds its connection closed is sent again on a new one, and passes.
#[tokio::test]
async fn a_kept_connection_the_server_closed_is_opened_again_without_a_failed_sample() {
    let (port, connections, heads) = keep_alive_server(2).await;
    let p = probe(&format!("name: ka\nkind: http\nurl: http://127.0.0.1:{port}/\nconnection: reuse\ninterval: 100ms\ntimeout: 2s\n"));
    let prober = RealProber::new(std::slice::from_ref(&p)).unwrap();
    for at in 0..6 {
        let sample = prober.sample(&p, at * 100).await;
        assert!(sample.ok, "sample {at}: {}", sample.observed);
    }
    assert_eq!(heads.lock().unwrap().len(), 6, "every sample answered once");
    assert_eq!(*connections.lock().unwrap(), 3, "two requests per connection");
}

/// A server that breaks (closes every connection without answering, as a
/// crashed backend behind a proxy does): the reused probe fails, as a fresh
/// one would, and passes again on a new connection once the server answers.
#[tokio::test]
async fn a_reused_probe_sees_the_server_break_and_come_back() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let broken = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let breaks = broken.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let broken = breaks.clone();
            tokio::spawn(async move {
                loop {
                    let head = read_head(&mut socket).await;
                    if head.is_empty() || broken.load(std::sync::atomic::Ordering::SeqCst) {
                        return; // closes without answering
                    }
                    if socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let p = probe(&format!("name: ka\nkind: http\nurl: http://127.0.0.1:{port}/\nconnection: reuse\ninterval: 100ms\ntimeout: 1s\n"));
    let prober = RealProber::new(std::slice::from_ref(&p)).unwrap();
    assert!(prober.sample(&p, 0).await.ok);
    broken.store(true, std::sync::atomic::Ordering::SeqCst);
    let down = prober.sample(&p, 100).await;
    assert!(!down.ok, "a broken server is seen on the kept connection too");
    assert_eq!(down.observed, "the server closed the connection without answering");
    broken.store(false, std::sync::atomic::Ordering::SeqCst);
    let back = prober.sample(&p, 200).await;
    assert!(back.ok, "{}", back.observed);
}
