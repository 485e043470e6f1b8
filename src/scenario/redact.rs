//! Keeps secrets written in a scenario out of everything gameday writes.
//!
//! Probe headers and URLs may carry credentials. The safe way is
//! `${env:NAME}` in a header, read only when the request is sent; a literal
//! value (`Authorization: Bearer abc…`, `?token=abc…`) would otherwise be
//! copied into the run directory's `scenario.yaml`. `redact_source` rewrites
//! exactly those values to `<redacted>` and leaves every other byte
//! (comments, order, layout) alone.
//!
//! A header is redacted when its name says it holds a credential, or when
//! its value looks like one whatever the name: people put tokens in
//! `X-Whatever` headers too. A URL keeps its scheme, host, path and harmless
//! query parameters; a password in it and the values of query parameters
//! that carry credentials are redacted.

use std::sync::OnceLock;

use granit_parser::{Event, Parser, ScalarStyle};
use regex::Regex;

use crate::vocab::{EnvPiece, env_pieces};

/// What a redacted value is written as.
pub const REDACTED: &str = "<redacted>";

/// Headers that carry credentials: `Authorization`, `Cookie`, `X-Api-Key`
/// and the like (case-insensitive).
pub fn is_sensitive_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    const EXACT: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];
    const PARTS: [&str; 8] = ["auth", "token", "secret", "api-key", "apikey", "api_key", "password", "session"];
    EXACT.contains(&name.as_str()) || PARTS.iter().any(|part| name.contains(part))
}

/// Query parameters that carry credentials: `token`, `api_key`,
/// `access_token`, `sig`, `X-Amz-Signature`, `X-Amz-Credential`, … (case-insensitive).
pub fn is_sensitive_query_parameter(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    const EXACT: [&str; 5] = ["sig", "key", "pwd", "pass", "code"];
    const PARTS: [&str; 13] = ["token", "secret", "passw", "signature", "credential", "auth", "session", "apikey", "api_key", "api-key", "access_key", "accesskey", "private_key"];
    EXACT.contains(&name.as_str()) || PARTS.iter().any(|part| name.contains(part))
}

/// Whether text looks like a credential, whatever it is called: an
/// authentication scheme with a value (`Bearer …`, `Basic …`), an AWS access
/// key id (`AKIA…`, `ASIA…`), a JWT (`eyJ…`), a GitHub, GitLab, Slack or
/// Stripe token, or a long random-looking token (24 or more letters and
/// digits mixed, as API keys and session ids are).
pub fn looks_like_credential(text: &str) -> bool {
    static KNOWN_SHAPES: OnceLock<Option<Regex>> = OnceLock::new();
    static LONG_TOKEN: OnceLock<Option<Regex>> = OnceLock::new();
    let known = KNOWN_SHAPES.get_or_init(|| {
        Regex::new(concat!(
            r"(?i:^\s*(?:bearer|basic|digest|token|negotiate|apikey)\s+\S)",
            r"|\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z0-9]{16}\b",
            r"|\beyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}",
            r"|\b(?:gh[pousr]_|github_pat_|glpat-)[A-Za-z0-9_-]{16,}",
            r"|\bxox[a-z]-[A-Za-z0-9-]+",
            r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",
        ))
        .ok()
    });
    let long = LONG_TOKEN.get_or_init(|| Regex::new(r"[A-Za-z0-9+/=_.~-]{24,}").ok());
    let random_looking = |token: &str| token.chars().any(|c| c.is_ascii_digit()) && token.chars().any(|c| c.is_ascii_alphabetic());
    known.as_ref().is_some_and(|re| re.is_match(text)) || long.as_ref().is_some_and(|re| re.find_iter(text).any(|m| random_looking(m.as_str())))
}

/// The text with every `${env:NAME}` reference taken out, and how many there were.
fn without_env_references(value: &str) -> (String, usize) {
    let mut literal = String::new();
    let mut references = 0;
    for piece in env_pieces(value) {
        match piece {
            EnvPiece::Text(text) => literal.push_str(text),
            EnvPiece::Env(_) => references += 1,
        }
    }
    (literal, references)
}

/// Whether a header value is safe to write as is. For a sensitive header,
/// every secret in it must be an `${env:NAME}` reference (an authentication
/// scheme word such as `Bearer` may stand beside them); for any other
/// header, what is not a reference must not look like a credential.
pub fn header_value_is_safe(name: &str, value: &str) -> bool {
    let (literal, references) = without_env_references(value);
    if !is_sensitive_header(name) {
        return !looks_like_credential(&literal);
    }
    let words: Vec<&str> = literal.split_whitespace().collect();
    references > 0 && words.len() <= 1 && words.iter().all(|w| w.len() <= 16 && w.chars().all(|c| c.is_ascii_alphabetic()))
}

/// The value as it may be written: itself when safe, else `<redacted>`.
pub fn redact_header_value(name: &str, value: &str) -> String {
    if header_value_is_safe(name, value) { value.to_string() } else { REDACTED.to_string() }
}

/// The URL as it may be written, or `None` when it holds no secret: a
/// password (`user:…@`) and the values of query parameters that carry
/// credentials (by name, or by looking like one) become `<redacted>`. Values
/// made only of `${env:NAME}` references are kept.
pub fn redact_url(url: &str) -> Option<String> {
    let (before_fragment, fragment) = url.split_once('#').map_or((url, None), |(b, f)| (b, Some(f)));
    let (base, query) = before_fragment.split_once('?').map_or((before_fragment, None), |(b, q)| (b, Some(q)));
    let mut changed = false;
    let keeps = |value: &str| {
        let (literal, references) = without_env_references(value);
        value.is_empty() || (references > 0 && literal.is_empty())
    };

    let mut out = String::with_capacity(url.len());
    // `scheme://userinfo@host…`: the userinfo ends at the last `@` before the path.
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..].find('/').map_or(base.len(), |i| authority_start + i);
    match base[authority_start..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &base[authority_start..authority_start + at];
            out.push_str(&base[..authority_start]);
            match userinfo.split_once(':') {
                Some((user, password)) if !keeps(password) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(REDACTED);
                    changed = true;
                }
                None if looks_like_credential(userinfo) => {
                    out.push_str(REDACTED);
                    changed = true;
                }
                _ => out.push_str(userinfo),
            }
            out.push_str(&base[authority_start + at..]);
        }
        None => out.push_str(base),
    }

    for (separator, part) in [('?', query), ('#', fragment)] {
        let Some(part) = part else { continue };
        out.push(separator);
        let parameters: Vec<String> = part
            .split('&')
            .map(|parameter| match parameter.split_once('=') {
                Some((name, value)) if !keeps(value) && (is_sensitive_query_parameter(name) || looks_like_credential(value)) => {
                    changed = true;
                    format!("{name}={REDACTED}")
                }
                _ => parameter.to_string(),
            })
            .collect();
        out.push_str(&parameters.join("&"));
    }
    changed.then_some(out)
}

/// Where the parser stands, to know whether a scalar is a probe header's value.
enum Frame {
    Seq { index: usize },
    Map { key: Option<String> },
}

/// A scalar to rewrite: where it stands, in characters, and what it becomes.
struct Replacement {
    start: usize,
    end: usize,
    /// False inside a block scalar, whose span is its content only, after
    /// the `|` or `>` line: the text goes in as it is.
    quoted: bool,
    text: String,
}

/// The scenario text with the secrets in probe headers
/// (`steady_state[*].headers.<name>`) and probe URLs (`steady_state[*].url`)
/// replaced by `<redacted>`. Text that does not parse is returned
/// unchanged: the loader has refused it already, so it is never copied into
/// a run.
pub fn redact_source(source: &str) -> String {
    let mut spans: Vec<Replacement> = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    for item in Parser::new_from_str(source) {
        let Ok((event, span)) = item else { return source.to_string() };
        match event {
            Event::SequenceStart(..) => {
                if let Some(Frame::Seq { index }) = stack.last() {
                    path.push(index.to_string());
                }
                stack.push(Frame::Seq { index: 0 });
            }
            Event::MappingStart(..) => {
                if let Some(Frame::Seq { index }) = stack.last() {
                    path.push(index.to_string());
                }
                stack.push(Frame::Map { key: None });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                if let Some(Frame::Seq { .. }) = stack.last() {
                    path.pop();
                }
                node_done(&mut stack, &mut path, &mut spans, None);
            }
            Event::Scalar(text, style, ..) => {
                let quoted = !matches!(style, ScalarStyle::Literal | ScalarStyle::Folded);
                node_done(&mut stack, &mut path, &mut spans, Some((&text, (span.start.index(), span.end.index(), quoted))));
            }
            Event::Alias(_) => node_done(&mut stack, &mut path, &mut spans, Some(("", (span.start.index(), span.end.index(), true)))),
            _ => {}
        }
    }
    if spans.is_empty() {
        return source.to_string();
    }
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut at = 0;
    for Replacement { start, end, quoted, text } in spans {
        if start < at || end > chars.len() || start > end {
            continue;
        }
        // A block scalar's span runs on over the line break and the next
        // line's indentation; those stay.
        let end = start + chars[start..end].iter().rposition(|c| !c.is_whitespace()).map_or(0, |i| i + 1);
        out.extend(&chars[at..start]);
        if quoted {
            // A JSON string is a YAML double-quoted scalar.
            out.push_str(&serde_json::to_string(&text).unwrap_or_else(|_| format!("\"{REDACTED}\"")));
        } else {
            out.push_str(&text);
        }
        at = end;
    }
    out.extend(&chars[at..]);
    out
}

/// A node completed: advance the enclosing collection, and note the span of
/// a value that holds a secret.
fn node_done(stack: &mut [Frame], path: &mut Vec<String>, spans: &mut Vec<Replacement>, scalar: Option<(&str, (usize, usize, bool))>) {
    match stack.last_mut() {
        Some(Frame::Map { key }) => match key.take() {
            None => {
                let name = scalar.map(|(text, _)| text.to_string()).unwrap_or_default();
                path.push(name.clone());
                *key = Some(name);
            }
            Some(_) => {
                if let Some((text, (start, end, quoted))) = scalar {
                    let replacement = if is_header_path(path) {
                        (!header_value_is_safe(path.last().map_or("", String::as_str), text)).then(|| REDACTED.to_string())
                    } else if is_url_path(path) {
                        redact_url(text)
                    } else {
                        None
                    };
                    if let Some(text) = replacement {
                        spans.push(Replacement { start, end, quoted, text });
                    }
                }
                path.pop();
            }
        },
        Some(Frame::Seq { index }) => *index += 1,
        None => {}
    }
}

/// `steady_state.<i>.headers.<name>`, with the header's name last.
fn is_header_path(path: &[String]) -> bool {
    matches!(path, [top, index, headers, _] if top == "steady_state" && headers == "headers" && index.parse::<usize>().is_ok())
}

/// `steady_state.<i>.url`.
fn is_url_path(path: &[String]) -> bool {
    matches!(path, [top, index, url] if top == "steady_state" && url == "url" && index.parse::<usize>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_headers_are_recognised() {
        for name in ["Authorization", "cookie", "X-Api-Key", "X-Auth-Token", "Proxy-Authorization", "x-session-id"] {
            assert!(is_sensitive_header(name), "{name}");
        }
        for name in ["Accept", "X-Request-Id", "User-Agent", "Host"] {
            assert!(!is_sensitive_header(name), "{name}");
        }
    }

    #[test]
    fn environment_references_are_kept_and_literals_redacted() {
        assert!(header_value_is_safe("Authorization", "Bearer ${env:TOKEN}"));
        assert!(header_value_is_safe("X-Api-Key", "${env:KEY}"));
        assert!(header_value_is_safe("Accept", "text/plain"));
        assert!(!header_value_is_safe("Authorization", "Bearer abc123"));
        assert!(!header_value_is_safe("Authorization", "Bearer"));
        assert!(!header_value_is_safe("Cookie", "session=abc; ${env:OTHER}"));
        assert!(!header_value_is_safe("X-Api-Key", "k3y-${env:PART}"));
        assert_eq!(redact_header_value("Authorization", "Basic dXNlcjpwYXNz"), REDACTED);
    }

    const SOURCE: &str = "apiVersion: gameday/v1\nname: t # a comment\nsteady_state:\n  - name: api\n    kind: http\n    url: http://127.0.0.1:1/\n    headers:\n      Authorization: \"Bearer s3cret-plain\"\n      X-Api-Key: 'k3y-plain'\n      Cookie: >-\n        session=c00kie-plain\n      Accept: text/plain\n      X-Secret: |\n        l1ne-one-plain\n        l1ne-two-plain\n      X-Token: \"Bearer ${env:TOKEN}\"\n  - name: other\n    kind: http\n    url: http://127.0.0.1:2/\n    headers: {authorization: flow-s3cret, accept: '*/*'}\nfaults: []\n";

    #[test]
    fn the_scenario_copy_keeps_everything_but_literal_secrets() {
        let redacted = redact_source(SOURCE);
        for secret in ["s3cret-plain", "k3y-plain", "c00kie-plain", "flow-s3cret", "l1ne-one-plain", "l1ne-two-plain"] {
            assert!(!redacted.contains(secret), "{secret} left in:\n{redacted}");
        }
        for kept in ["# a comment", "Accept: text/plain", "\"Bearer ${env:TOKEN}\"", "accept: '*/*'", "url: http://127.0.0.1:2/"] {
            assert!(redacted.contains(kept), "{kept} lost:\n{redacted}");
        }
        let tree = crate::scenario::yaml_tree::parse(&redacted).expect("still YAML");
        let headers = tree.get("steady_state").and_then(|s| match &s.value {
            crate::scenario::yaml_tree::Value::Seq(items) => items.first().and_then(|p| p.get("headers")).cloned(),
            _ => None,
        });
        let value = |name: &str| headers.as_ref().and_then(|h| h.get(name)).map(|n| format!("{:?}", n.value));
        assert_eq!(value("Authorization").as_deref(), Some("Str(\"<redacted>\")"));
        assert_eq!(value("Cookie").as_deref(), Some("Str(\"<redacted>\")"));
        assert_eq!(value("X-Secret").as_deref(), Some("Str(\"<redacted>\\n\")"));
        assert_eq!(value("X-Api-Key").as_deref(), Some("Str(\"<redacted>\")"));
        assert_eq!(value("Accept").as_deref(), Some("Str(\"text/plain\")"));
    }

    #[test]
    fn credentials_are_recognised_by_their_shape() {
        for credential in [
            "Bearer abc",
            "basic dXNlcjpwYXNz",
            "AKIAIOSFODNN7EXAMPLE",
            "key=ASIAY34FZKBOKMUTVV7A;",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig",
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345",
            "xoxb-1234-5678-abcdef",
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "q8Zr2mX0vLk5Tn3Wp7Yc1Bd9",
        ] {
            assert!(looks_like_credential(credential), "{credential}");
        }
        for plain in ["text/plain", "application/vnd.api+json", "Mozilla/5.0 (X11; Linux x86_64)", "Bearer", "Bearer ", "no-cache", "2026-12-01T10:00:00Z", "en-US,en;q=0.9"] {
            assert!(!looks_like_credential(plain), "{plain}");
        }
    }

    #[test]
    fn any_header_whose_value_looks_like_a_credential_is_redacted() {
        assert!(!header_value_is_safe("X-Upstream", "Bearer abc123"));
        assert!(!header_value_is_safe("X-Client", "AKIAIOSFODNN7EXAMPLE"));
        assert!(!header_value_is_safe("X-Hook", "xoxb-1234-5678-abcdef"));
        assert!(header_value_is_safe("X-Upstream", "Bearer ${env:UPSTREAM_TOKEN}"));
        assert!(header_value_is_safe("X-Request-Source", "gameday"));
    }

    #[test]
    fn urls_keep_everything_but_their_secrets() {
        let cases = [
            ("https://api.example.com/health?token=abc&verbose=1", Some("https://api.example.com/health?token=<redacted>&verbose=1")),
            (
                "http://h/x?API_KEY=k&access_token=t&sig=s&X-Amz-Signature=f00&X-Amz-Credential=AKID%2F2026",
                Some("http://h/x?API_KEY=<redacted>&access_token=<redacted>&sig=<redacted>&X-Amz-Signature=<redacted>&X-Amz-Credential=<redacted>"),
            ),
            ("http://h/?id=q8Zr2mX0vLk5Tn3Wp7Yc1Bd9", Some("http://h/?id=<redacted>")),
            ("https://user:pa55@h:8443/x", Some("https://user:<redacted>@h:8443/x")),
            ("https://h/#access_token=abc", Some("https://h/#access_token=<redacted>")),
            ("https://h/health?token=${env:HEALTH_TOKEN}", None),
            ("https://h/health?verbose=1&region=eu", None),
            ("https://h/a@b/c", None),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url).as_deref(), expected, "{url}");
        }
    }

    #[test]
    fn probe_urls_in_the_scenario_copy_lose_their_tokens() {
        let source = "steady_state:\n  - name: api\n    kind: http\n    url: https://h/health?token=t0k3n-plain&x=1 # note\n    headers:\n      X-Trace: Bearer b3arer-plain\n  - name: b\n    kind: http\n    url: 'http://u:pw-plain@h/'\nfaults: []\n";
        let redacted = redact_source(source);
        for secret in ["t0k3n-plain", "pw-plain", "b3arer-plain"] {
            assert!(!redacted.contains(secret), "{secret} left in:\n{redacted}");
        }
        assert!(redacted.contains("url: \"https://h/health?token=<redacted>&x=1\" # note"), "{redacted}");
        assert!(redacted.contains("url: \"http://u:<redacted>@h/\""), "{redacted}");
        assert!(crate::scenario::yaml_tree::parse(&redacted).is_ok());
    }

    #[test]
    fn a_scenario_without_secrets_is_copied_byte_for_byte() {
        let source = "apiVersion: gameday/v1\nname: t\nsteady_state:\n  - name: api\n    kind: http\n    url: http://x/\n    headers:\n      Authorization: Bearer ${env:TOKEN}\n";
        assert_eq!(redact_source(source), source);
        assert_eq!(redact_source("not: [valid"), "not: [valid");
    }
}
