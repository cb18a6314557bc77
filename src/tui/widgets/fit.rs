//! Text laid into cells: wrapped at spaces, shortened with an ellipsis, columns that fit.

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

/// `text` on one line of `width` characters: whole when it fits, else shortened with an
/// ellipsis, so a line that cannot wrap (a table cell, a field's verdict) never just stops.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        short.push('…');
    }
    short
}

/// How many of a table's columns fit in `available` cells, with `widths` listed from the
/// last to give way to the first (one cell of spacing between columns). At least one stays.
pub fn columns_that_fit(available: usize, widths: &[usize]) -> usize {
    let mut used = 0;
    let mut kept = 0;
    for width in widths {
        let needed = used + width + usize::from(kept > 0);
        if needed > available {
            break;
        }
        used = needed;
        kept += 1;
    }
    kept.max(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_give_way_from_the_end_of_the_priority_list() {
        assert_eq!(super::columns_that_fit(60, &[10, 20, 20]), 3);
        assert_eq!(super::columns_that_fit(50, &[10, 20, 20]), 2);
        assert_eq!(super::columns_that_fit(5, &[10, 20]), 1);
    }

    #[test]
    fn fit_shortens_with_an_ellipsis_only_when_it_must() {
        assert_eq!(super::fit("valid · 47m left", 16), "valid · 47m left");
        assert_eq!(super::fit("valid · 47m left", 12), "valid · 47m…");
        assert_eq!(super::fit("abc", 0), "");
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
