//! Plain log lines that outside text cannot forge.
//!
//! Field values carry text from outside (a target's response excerpt in a
//! failure message, a header, an error from a peer). The default plain
//! formatter writes the `message` field raw, so a body containing a newline
//! started a second, forged journal line. Here every control character in a
//! field or message is escaped (`\n`, `\r`, `\t`, `\u{1b}`), so one event is
//! always one line. The JSON format escapes control characters already.

use std::fmt::Write as _;

use tracing::field::Field;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::Writer;

/// The field formatter for plain logs.
pub fn plain_fields() -> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static {
    tracing_subscriber::fmt::format::debug_fn(write_field).delimited(" ")
}

fn write_field(w: &mut Writer<'_>, field: &Field, value: &dyn std::fmt::Debug) -> std::fmt::Result {
    let text = escape_controls(&format!("{value:?}"));
    match field.name() {
        "message" => w.write_str(&text),
        name => write!(w, "{}={text}", name.trim_start_matches("r#")),
    }
}

/// `text` with every control character (and the Unicode line separators)
/// replaced by an escape, so it cannot break a line.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn control_characters_are_escaped_and_text_is_kept() {
        assert_eq!(escape_controls("a\nb"), "a\\nb");
        assert_eq!(escape_controls("a\r\n\tb"), "a\\r\\n\\tb");
        assert_eq!(escape_controls("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(escape_controls("x\u{2028}y"), "x\\u{2028}y");
        assert_eq!(escape_controls("café ✓"), "café ✓");
    }
}
