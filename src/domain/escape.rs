//! Neutralising text from alerts and users before it is posted anywhere.

/// Broadcast mentions that must never reach a room live.
const BROADCASTS: [&str; 3] = ["channel", "here", "everyone"];

/// Breaks `@channel`, `@here` and `@everyone` with a zero-width joiner so they render but never notify.
pub fn defuse_broadcasts(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(pos) = rest.find('@') {
        out.push_str(&rest[..=pos]);
        rest = &rest[pos + 1..];
        if BROADCASTS.iter().any(|b| starts_with_ignore_case(rest, b)) {
            out.push('\u{200B}');
        }
    }
    out.push_str(rest);
    out
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// Shortens text to at most `max` characters, marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasts_are_defused_and_other_mentions_kept() {
        assert_eq!(
            defuse_broadcasts("hi @here and @Channel"),
            "hi @\u{200B}here and @\u{200B}Channel"
        );
        assert_eq!(defuse_broadcasts("@everyone"), "@\u{200B}everyone");
        assert_eq!(
            defuse_broadcasts("mail a@b.c, ping @alice"),
            "mail a@b.c, ping @alice"
        );
        assert_eq!(defuse_broadcasts("trailing @"), "trailing @");
    }

    #[test]
    fn truncation_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
