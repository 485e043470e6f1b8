//! Text from the world (a command's output, an error message) made safe for
//! every report format: terminal escape sequences (colours, titles, links)
//! and control characters removed. An ESC byte is not even allowed in XML.

/// `text` without terminal escape sequences or control characters, except
/// line breaks (`\n`) and tabs.
pub fn strip_terminal_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters and intermediates, then one final byte in @..~.
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                // OSC (a title, a hyperlink): up to BEL or ESC \.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                // Any other escape is one character long.
                _ => {}
            },
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_titles_links_and_control_characters_are_removed() {
        assert_eq!(strip_terminal_codes("\u{1b}[31mred\u{1b}[0m and \u{1b}]8;;http://x\u{7}link\u{1b}]8;;\u{1b}\\ done\u{7}\r"), "red and link done");
        assert_eq!(strip_terminal_codes("two\nlines\tand a tab"), "two\nlines\tand a tab");
    }
}
