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
        if f.width().is_some() || f.precision().is_some() {
            // Padded and cut as what is shown, not as what was sent (`{:20}` in a layout).
            return f.pad(&line(self.0));
        }
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
/// characters that show as nothing or break lines (soft hyphen, combining grapheme joiner,
/// Hangul fillers, Mongolian variation selectors and vowel separator, zero-width spaces and
/// joiners, word joiner and invisible operators, the deprecated format characters U+206A to
/// U+206F, line and paragraph separators, byte-order mark, interlinear annotation marks,
/// musical formatting characters, Unicode tag characters, which can carry hidden ASCII, and
/// the supplementary variation selectors, which can too).
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{034f}'
                | '\u{061c}'
                | '\u{115f}'
                | '\u{1160}'
                | '\u{180b}'..='\u{180f}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{3164}'
                | '\u{feff}'
                | '\u{ffa0}'
                | '\u{fff9}'..='\u{fffb}'
                | '\u{1d173}'..='\u{1d17a}'
                | '\u{e0000}'..='\u{e007f}'
                | '\u{e0100}'..='\u{e01ef}'
        )
}

/// A [`serde_json::ser::Formatter`] for JSON that may reach a terminal: the wrapped formatter's
/// layout (`JsonFormatter(PrettyFormatter::new())` is `to_string_pretty`'s), with
/// every character [`needs_escape`] picks that serde_json would write raw (DEL, C1 controls,
/// bidi controls, invisible characters) written as a `\uXXXX` escape instead (a surrogate pair
/// above U+FFFF). The JSON reads back as the same value: only the encoding of those characters
/// changes.
#[derive(Debug, Clone)]
pub struct JsonFormatter<F>(pub F);

impl JsonFormatter<serde_json::ser::PrettyFormatter<'static>> {
    /// serde_json's pretty layout (two-space indent), as `to_string_pretty` writes it.
    pub fn pretty() -> Self {
        JsonFormatter(serde_json::ser::PrettyFormatter::new())
    }
}

/// `value` as pretty JSON, safe to print on a terminal (see [`JsonFormatter`]), without a
/// trailing newline: [`serde_json::to_string_pretty`] with the few characters a terminal must
/// not see escaped.
pub fn json_pretty<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, JsonFormatter::pretty());
    value.serialize(&mut serializer)?;
    // serde_json writes only valid UTF-8, and the escapes added here are ASCII.
    Ok(String::from_utf8(out).expect("serde_json writes UTF-8"))
}

macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        #[inline]
        fn $name<W: ?Sized + std::io::Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
            self.0.$name(writer $(, $arg)*)
        }
    )*};
}

impl<F: serde_json::ser::Formatter> serde_json::ser::Formatter for JsonFormatter<F> {
    forward! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
        begin_string();
        end_string();
        write_char_escape(escape: serde_json::ser::CharEscape);
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let inner = &mut self.0;
        write_json_escaped(writer, fragment, needs_escape, |w, text| {
            inner.write_string_fragment(w, text)
        })
    }

    fn write_raw_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // Raw JSON holds those characters only inside strings, where an escape means the same;
        // newlines, tabs and carriage returns outside strings are its layout.
        let inner = &mut self.0;
        let escape = |c| !matches!(c, '\n' | '\t' | '\r') && needs_escape(c);
        write_json_escaped(writer, fragment, escape, |w, text| inner.write_raw_fragment(w, text))
    }
}

/// Write `text` with `write`, except each character `escape` picks, written as JSON `\u`
/// escapes (UTF-16 code units).
fn write_json_escaped<W: ?Sized + std::io::Write>(
    writer: &mut W,
    text: &str,
    escape: impl Fn(char) -> bool,
    mut write: impl FnMut(&mut W, &str) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut rest = text;
    while let Some((at, c)) = rest.char_indices().find(|&(_, c)| escape(c)) {
        write(writer, &rest[..at])?;
        let mut units = [0u16; 2];
        for unit in c.encode_utf16(&mut units) {
            write!(writer, "\\u{unit:04x}")?;
        }
        rest = &rest[at + c.len_utf8()..];
    }
    write(writer, rest)
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
    fn padding_counts_what_is_shown() {
        assert_eq!(format!("[{:8}]", Untrusted("a\u{1b}")), "[a\\u{1b} ]");
        assert_eq!(format!("[{:>4}]", Untrusted("ab")), "[  ab]");
    }

    #[test]
    fn a_block_keeps_lines_but_indents_every_one() {
        assert_eq!(block("one\r\nerror: two\u{1b}", "  "), "  one\n  error: two\\u{1b}");
        assert_eq!(block("", "  "), "  ");
    }

    #[test]
    fn invisible_format_characters_are_escaped_and_visible_ones_kept() {
        for c in ['\u{ad}', '\u{34f}', '\u{180b}', '\u{206a}', '\u{1d173}', '\u{e0100}'] {
            assert!(needs_escape(c), "{c:?}");
        }
        // The emoji presentation selector stays: it shows, and cannot hide text.
        for c in ['é', '名', '✓', '\u{fe0f}', ' ', '\\'] {
            assert!(!needs_escape(c), "{c:?}");
        }
    }

    #[test]
    fn json_for_a_terminal_escapes_what_serde_json_writes_raw_and_reads_back_the_same() {
        let value = serde_json::json!({
            HOSTILE: [HOSTILE, 1, null, "plain ünïcode"],
            "nested": {"k": "\u{85}\u{9b}\u{7f}"},
        });
        let text = json_pretty(&value).unwrap();
        assert!(!text.chars().any(|c| c != '\n' && needs_escape(c)), "{text}");
        assert!(
            text.contains(r"\u009b2J")
                && text.contains(r"\u202e")
                && text.contains(r"\udb40\udc41")
        );
        assert!(text.contains("plain ünïcode"), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), value);
        // Only those characters change: the layout is serde_json's own.
        let plain = serde_json::json!({"a": [1, {"b": "c\"\\\n"}], "d": {}});
        assert_eq!(json_pretty(&plain).unwrap(), serde_json::to_string_pretty(&plain).unwrap());
    }

    #[test]
    fn a_message_keeps_its_own_lines_and_escapes_the_rest() {
        assert_eq!(message("a\n\tb"), "a\n\tb");
        assert_eq!(message("a\u{202e}\n\u{1b}]52;c;x\u{7}"), "a\\u{202e}\n\\u{1b}]52;c;x\\u{7}");
    }
}
