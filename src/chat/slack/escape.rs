//! Slack mrkdwn escaping: user and alert text can never become markup, mentions or broadcasts.

use crate::domain::escape::defuse_broadcasts;

/// Escapes `&`, `<` and `>` (Slack's control characters) after defusing `@here`-style broadcasts,
/// so `<!channel>` arrives as the literal text `&lt;!channel&gt;` and notifies nobody.
pub fn mrkdwn(text: &str) -> String {
    let defused = defuse_broadcasts(text);
    let mut out = String::with_capacity(defused.len() + 8);
    for c in defused.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Plain text for fields Slack shows verbatim (topics, modal inputs): broadcasts defused, control
/// characters removed, at most `max` characters.
pub fn plain(text: &str, max: usize) -> String {
    let clean: String = mrkdwn(text).chars().filter(|c| !c.is_control()).collect();
    crate::domain::escape::truncate(&clean, max)
}

/// Reverses Slack's escaping of inbound message text (`&lt;` → `<` …) for the timeline.
pub fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_broadcasts_are_escaped() {
        assert_eq!(
            mrkdwn("a & b <!channel> <@U1> @here"),
            "a &amp; b &lt;!channel&gt; &lt;@U1&gt; @\u{200B}here"
        );
        assert_eq!(unescape("&lt;b&gt; &amp;"), "<b> &");
        assert_eq!(plain("x\ny", 10), "xy");
    }
}
