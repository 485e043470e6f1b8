//! Printing that survives a closed stdout or stderr.
//!
//! The standard `print!` family panics when a write fails, and a write fails
//! whenever the reader has gone: `gameday schema | head -0`, a CI log
//! collector that stopped, a closed terminal. A panic there would end a game
//! day before it reverts its faults, so in `cli` these four macros shadow the
//! standard ones (they are declared before every `cli` submodule, so every
//! `println!` in `cli` is this one). Each writes to the locked stream and
//! drops the error: output nobody can read is no reason to stop, and the
//! exit code still says how the command ended.
//!
//! SIGPIPE stays ignored (Rust's default) for the same reason: its default
//! action would kill a run mid-revert.

use std::fmt::Arguments;
use std::io::Write;

/// Writes to stdout; a closed or failing stdout is ignored.
pub fn write_stdout(text: Arguments<'_>) {
    let _ = std::io::stdout().lock().write_fmt(text);
}

/// Writes to stderr; a closed or failing stderr is ignored.
pub fn write_stderr(text: Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(text);
}

macro_rules! print {
    ($($arg:tt)*) => { $crate::cli::output::write_stdout(format_args!($($arg)*)) };
}

macro_rules! println {
    () => { $crate::cli::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::output::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

macro_rules! eprint {
    ($($arg:tt)*) => { $crate::cli::output::write_stderr(format_args!($($arg)*)) };
}

macro_rules! eprintln {
    () => { $crate::cli::output::write_stderr(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::output::write_stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(test)]
mod tests {
    /// Only `cli` prints, where the macros above shadow the standard ones; a
    /// standard `println!` anywhere else would panic on a closed pipe again.
    #[test]
    fn nothing_outside_cli_uses_the_standard_print_macros() {
        fn visit(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
                let path = entry.path();
                if path.is_dir() {
                    if !path.ends_with("src/cli") {
                        visit(&path, found);
                    }
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (number, line) in text.lines().enumerate() {
                        if ["print!(", "println!(", "eprint!(", "eprintln!("].iter().any(|m| line.contains(m)) && !line.trim_start().starts_with("//") {
                            found.push(format!("{}:{}: {}", path.display(), number + 1, line.trim()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        visit(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
        assert!(found.is_empty(), "print through `cli` instead:\n{}", found.join("\n"));
    }
}
