//! Aligned text tables for listings. Cells may hold text from guests and registries: each is
//! shown on one line through [`crate::untrusted`], and aligned by the width it takes on screen.

use unicode_width::UnicodeWidthStr;

use crate::untrusted;

/// Render `rows` under `header`, columns separated by two spaces, trailing spaces trimmed.
/// Every cell is escaped as [`untrusted::Untrusted`], so a newline or escape sequence in one
/// cannot break the table or reach the terminal.
pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let header: Vec<_> = header.iter().map(|h| untrusted::line(h)).collect();
    let rows: Vec<Vec<_>> =
        rows.iter().map(|row| row.iter().map(|c| untrusted::line(c)).collect()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.width());
        }
    }
    let line = |cells: &[std::borrow::Cow<'_, str>]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            out.extend(std::iter::repeat_n(' ', width - cell.width()));
        }
        format!("{}\n", out.trim_end())
    };
    let mut out = line(&header);
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn cells_are_escaped_and_aligned_by_their_width_on_screen() {
        let rows = vec![
            vec!["a\nerror: forged\u{1b}[2J".to_string(), "x".to_string()],
            vec!["名前".to_string(), "y".to_string()],
            vec!["e\u{301}".to_string(), "z".to_string()],
        ];
        assert_eq!(
            render(&["NAME", "V"], &rows),
            "NAME                       V\n\
             a\\nerror: forged\\u{1b}[2J  x\n\
             名前                       y\n\
             e\u{301}                          z\n"
        );
    }
}
