//! Text posted to Discord: markdown from alerts and users escaped, people mentioned by their Discord
//! ids, and `allowed_mentions` that can ping only those people — never `@everyone`, `@here` or roles.

use serde_json::{Value, json};

/// Discord's limit on a message's `content`.
pub const MAX_CONTENT: usize = 2000;

/// Escapes Discord markdown (`*_~|[]\` and line-leading `#`, `-`, `>`) so that text shows as written;
/// `@everyone`/`@here` are defused with a zero-width space besides (`allowed_mentions` stops the
/// ping already; this keeps them from looking like one).
pub fn escape(text: &str) -> String {
    let text = crate::domain::escape::defuse_broadcasts(text);
    let mut out = String::with_capacity(text.len() + 8);
    let mut line_start = true;
    for c in text.chars() {
        match c {
            '\\' | '*' | '_' | '~' | '|' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '#' | '-' | '>' if line_start => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("<\u{200B}"),
            c => out.push(c),
        }
        line_start = c == '\n' || (line_start && c == ' ');
    }
    crate::domain::escape::truncate(&out, MAX_CONTENT)
}

/// The `allowed_mentions` of every message: nothing parsed from the text, only `users` pinged.
pub fn allowed_mentions(users: &[String]) -> Value {
    let mut users: Vec<&String> = users.iter().collect();
    users.sort();
    users.dedup();
    users.truncate(100);
    json!({"parse": [], "users": users, "roles": [], "replied_user": false})
}

/// Replaces whole-word person ids in escaped text with `<@snowflake>`; answers the users mentioned.
pub fn mention_people(text: &str, people: &[(String, String)]) -> (String, Vec<String>) {
    let word = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '\\');
    let mut out = String::with_capacity(text.len());
    let mut mentioned = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let start = rest.find(word).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !word(c)).unwrap_or(rest.len());
        let token = &rest[..end];
        let bare = token.trim_end_matches(['.', ':']);
        let unescaped = bare.replace('\\', "");
        match people.iter().find(|(id, _)| *id == unescaped) {
            Some((_, user)) => {
                out.push_str(&format!("<@{user}>"));
                out.push_str(&token[bare.len()..]);
                mentioned.push(user.clone());
            }
            None => out.push_str(token),
        }
        rest = &rest[end..];
    }
    (out, mentioned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_and_broadcasts_are_defused() {
        assert_eq!(
            escape("**bold** @everyone"),
            "\\*\\*bold\\*\\* @\u{200B}everyone"
        );
        assert_eq!(escape("# big\n- item"), "\\# big\n\\- item");
        assert_eq!(escape("[x](http://evil)"), "\\[x\\](http://evil)");
        assert_eq!(escape("<@&123>"), "<\u{200B}@&123>");
        let m = allowed_mentions(&["2".into(), "1".into(), "2".into()]);
        assert_eq!(m["parse"], json!([]));
        assert_eq!(m["users"], json!(["1", "2"]));
    }

    #[test]
    fn person_ids_become_mentions() {
        let people = vec![("alice".to_string(), "111111111111111111".to_string())];
        let (text, users) = mention_people("alice made bob commander; alice.", &people);
        assert_eq!(
            text,
            "<@111111111111111111> made bob commander; <@111111111111111111>."
        );
        assert_eq!(users.len(), 2);
        assert_eq!(mention_people("malice", &people).0, "malice");
    }
}
