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

#[cfg(test)]
mod tests {
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
