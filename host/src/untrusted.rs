//! How text Kiln did not write is shown: anything from a guest (names, descriptions, logs,
//! error messages, object and field names), a registry (package descriptions) or an API server
//! (messages that echo those names). Every path that prints such text goes through here, so a
//! guest cannot move the cursor, recolour or retitle the terminal, write the clipboard (OSC 52),
//! reorder what is shown (bidi overrides), hide text, or start a line that looks like Kiln's own
//! `error:`.

use std::borrow::Cow;
use std::fmt;

/// Text from outside Kiln, shown on one line: every control character (newlines included),
/// bidi control and invisible format character is written as a visible `\u{..}` escape
/// (`\n`, `\r`, `\t` for those three). Everything else, non-ASCII letters included, is kept.
///
/// ```
/// use kiln::untrusted::Untrusted;
/// assert_eq!(Untrusted("web\n\u{1b}]52;c;aGk=\u{7}\u{202e}").to_string(), r"web\n\u{1b}]52;c;aGk=\u{7}\u{202e}");
/// assert_eq!(Untrusted("tf-serving ✓").to_string(), "tf-serving ✓");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, false)
    }
}

/// [`Untrusted`] as a string, borrowed when nothing needed escaping.
pub fn line(text: &str) -> Cow<'_, str> {
    if text.chars().any(needs_escape) {
        Cow::Owned(Untrusted(text).to_string())
    } else {
        Cow::Borrowed(text)
    }
}

/// Text from outside Kiln that may span lines (a prototype's description, a param's doc),
/// shown as a block: escaped as [`Untrusted`] except for newlines, and every line, the first
/// included, starts with `indent`, so no line of it can pass for one of Kiln's own. `indent`
/// must not be empty.
pub fn block(text: &str, indent: &str) -> String {
    debug_assert!(!indent.is_empty(), "a block without indent could forge lines");
    let mut out = String::with_capacity(text.len() + indent.len());
    for (i, part) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(indent);
        let part = part.strip_suffix('\r').unwrap_or(part);
        // Writing to a String cannot fail.
        let _ = write_escaped(&mut out, part, false);
    }
    out
}

/// Text Kiln composed, which may embed escaped untrusted text and span lines of its own: every
/// control character but `\n` and `\t` is escaped, and bidi controls and invisible format
/// characters too. The last line of defence for messages (errors, notes) on their way to the
/// terminal; the untrusted parts were escaped where they were embedded.
pub fn message(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && c != '\t' && needs_escape(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let _ = write_escaped(&mut out, text, true);
    Cow::Owned(out)
}

fn write_escaped(out: &mut impl fmt::Write, text: &str, keep_lines: bool) -> fmt::Result {
    for c in text.chars() {
        match c {
            '\n' | '\t' if keep_lines => out.write_char(c)?,
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            c if needs_escape(c) => write!(out, "\\u{{{:x}}}", c as u32)?,
            c => out.write_char(c)?,
        }
    }
    Ok(())
}

/// Whether `c` must not reach a terminal as it is: C0 and C1 controls and DEL (escape
/// sequences, OSC 52, carriage returns, 8-bit CSI), the bidi controls that reorder text (the
/// "Trojan Source" set: U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069), and
/// characters that show as nothing or break lines (zero-width spaces and joiners, word joiner
/// and invisible operators, line and paragraph separators, byte-order mark, interlinear
/// annotation marks, and Unicode tag characters, which can carry hidden ASCII).
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{e0000}'..='\u{e007f}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str =
        "a\u{1b}[31mb\rc\nerror: d\te\u{9b}2Jf\u{7f}\u{202e}g\u{2066}h\u{200b}i\u{e0041}";

    #[test]
    fn one_line_escapes_every_control_bidi_and_invisible_character() {
        let shown = Untrusted(HOSTILE).to_string();
        assert_eq!(
            shown,
            r"a\u{1b}[31mb\rc\nerror: d\te\u{9b}2Jf\u{7f}\u{202e}g\u{2066}h\u{200b}i\u{e0041}"
        );
        assert!(!shown.chars().any(needs_escape), "{shown}");
        assert_eq!(line(HOSTILE), shown);
        assert!(matches!(line("plain — ünïcode 名前"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_block_keeps_lines_but_indents_every_one() {
        assert_eq!(block("one\r\nerror: two\u{1b}", "  "), "  one\n  error: two\\u{1b}");
        assert_eq!(block("", "  "), "  ");
    }

    #[test]
    fn a_message_keeps_its_own_lines_and_escapes_the_rest() {
        assert_eq!(message("a\n\tb"), "a\n\tb");
        assert_eq!(message("a\u{202e}\n\u{1b}]52;c;x\u{7}"), "a\\u{202e}\n\\u{1b}]52;c;x\\u{7}");
    }
}
