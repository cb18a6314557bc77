//! Pieces several screens share.

pub mod checklist;
pub mod confirm;
pub mod list_filter;
pub mod qr;
pub mod scope_picker;
pub mod text_field;

pub use confirm::Confirm;
pub use list_filter::{FilterKey, ListFilter};
pub use text_field::TextField;

/// `text` broken at spaces into lines of at most `width` characters (a longer word gets a
/// line of its own, cut only where it has to be): for list rows, which do not wrap.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let needed = if line.is_empty() {
            word.chars().count()
        } else {
            line.chars().count() + 1 + word.chars().count()
        };
        if needed > width && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
        while line.chars().count() > width {
            let rest: String = line.chars().skip(width).collect();
            line = line.chars().take(width).collect();
            lines.push(std::mem::replace(&mut line, rest));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` in one table cell of `width` columns: whole when it fits, otherwise cut at a word
/// boundary and ended with "…", so a cell never shows a word that just stops.
pub fn fit_words(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    if width <= 1 {
        return "…".repeat(width);
    }
    let first = wrap_words(text, width - 1)
        .into_iter()
        .next()
        .unwrap_or_default();
    format!("{first}…")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cell_keeps_whole_words_and_says_when_it_cut() {
        assert_eq!(
            super::fit_words("refused the token", 20),
            "refused the token"
        );
        assert_eq!(
            super::fit_words("refused the refresh token", 16),
            "refused the…"
        );
        assert_eq!(
            super::fit_words("user-00000@acme.example", 10),
            "user-0000…"
        );
        assert_eq!(super::fit_words("abc", 0), "");
    }

    #[test]
    fn words_wrap_at_spaces_and_long_ones_are_cut_only_where_they_must() {
        assert_eq!(
            super::wrap_words("no system app on this host", 12),
            ["no system", "app on this", "host"]
        );
        assert_eq!(
            super::wrap_words("see /etc/jira-auth/system-app.toml now", 10),
            ["see", "/etc/jira-", "auth/syste", "m-app.toml", "now"]
        );
        assert_eq!(super::wrap_words("", 10), [""]);
    }
}
