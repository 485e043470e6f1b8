//! Keeps secrets written in a scenario out of everything gameday writes.
//!
//! Probe headers may carry credentials. The safe way is `${env:NAME}`, read
//! only when the request is sent; a literal value (`Authorization: Bearer
//! abc…`) would otherwise be copied into the run directory's
//! `scenario.yaml`. `redact_source` rewrites exactly those values to
//! `<redacted>` and leaves every other byte (comments, order, layout) alone.

use granit_parser::{Event, Parser, ScalarStyle};

/// What a redacted header value is written as.
pub const REDACTED: &str = "<redacted>";

/// Headers that carry credentials: `Authorization`, `Cookie`, `X-Api-Key`
/// and the like (case-insensitive).
pub fn is_sensitive_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    const EXACT: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];
    const PARTS: [&str; 8] = ["auth", "token", "secret", "api-key", "apikey", "api_key", "password", "session"];
    EXACT.contains(&name.as_str()) || PARTS.iter().any(|part| name.contains(part))
}

/// Whether a header value is safe to write as is: the header is not
/// sensitive, or every secret in it is an `${env:NAME}` reference (an
/// authentication scheme word such as `Bearer` may stand beside them).
pub fn header_value_is_safe(name: &str, value: &str) -> bool {
    if !is_sensitive_header(name) {
        return true;
    }
    let mut literal = String::new();
    let mut rest = value;
    let mut references = 0;
    while let Some(start) = rest.find("${env:") {
        literal.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                references += 1;
                rest = &rest[start + end + 1..];
            }
            None => {
                literal.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    literal.push_str(rest);
    let words: Vec<&str> = literal.split_whitespace().collect();
    references > 0 && words.len() <= 1 && words.iter().all(|w| w.len() <= 16 && w.chars().all(|c| c.is_ascii_alphabetic()))
}

/// The value as it may be written: itself when safe, else `<redacted>`.
pub fn redact_header_value(name: &str, value: &str) -> String {
    if header_value_is_safe(name, value) { value.to_string() } else { REDACTED.to_string() }
}

/// Where the parser stands, to know whether a scalar is a probe header's value.
enum Frame {
    Seq { index: usize },
    Map { key: Option<String> },
}

/// The scenario text with the literal values of sensitive probe headers
/// (`steady_state[*].headers.<name>`) replaced by `"<redacted>"`. Text that
/// does not parse is returned unchanged: the loader has refused it already,
/// so it is never copied into a run.
pub fn redact_source(source: &str) -> String {
    // (start, end) in characters, in document order, and whether the
    // replacement needs quotes (not inside a block scalar, whose span is
    // its content only, after the `|` or `>` line).
    let mut spans: Vec<(usize, usize, bool)> = Vec::new();
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
    for (start, end, quoted) in spans {
        if start < at || end > chars.len() || start > end {
            continue;
        }
        // A block scalar's span runs on over the line break and the next
        // line's indentation; those stay.
        let end = start + chars[start..end].iter().rposition(|c| !c.is_whitespace()).map_or(0, |i| i + 1);
        out.extend(&chars[at..start]);
        if quoted {
            out.push('"');
            out.push_str(REDACTED);
            out.push('"');
        } else {
            out.push_str(REDACTED);
        }
        at = end;
    }
    out.extend(&chars[at..]);
    out
}

/// A node completed: advance the enclosing collection, and note the span of
/// a sensitive header's literal value.
fn node_done(stack: &mut [Frame], path: &mut Vec<String>, spans: &mut Vec<(usize, usize, bool)>, scalar: Option<(&str, (usize, usize, bool))>) {
    match stack.last_mut() {
        Some(Frame::Map { key }) => match key.take() {
            None => {
                let name = scalar.map(|(text, _)| text.to_string()).unwrap_or_default();
                path.push(name.clone());
                *key = Some(name);
            }
            Some(_) => {
                if let Some((text, span)) = scalar
                    && is_header_path(path)
                    && !header_value_is_safe(path.last().map_or("", String::as_str), text)
                {
                    spans.push(span);
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
    fn a_scenario_without_secrets_is_copied_byte_for_byte() {
        let source = "apiVersion: gameday/v1\nname: t\nsteady_state:\n  - name: api\n    kind: http\n    url: http://x/\n    headers:\n      Authorization: Bearer ${env:TOKEN}\n";
        assert_eq!(redact_source(source), source);
        assert_eq!(redact_source("not: [valid"), "not: [valid");
    }
}
