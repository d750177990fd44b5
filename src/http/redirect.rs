//! Where a form may send the browser back to: a path on this site, never another host.

/// `raw` when it is a plain local path (`/incidents/4?x=1`), else `/`.
///
/// Refused: anything not starting with a single `/`; `//host` and `/\host` (browsers read `\` as
/// `/`), also when percent-encoded; backslashes anywhere; control characters, spaces and non-ASCII
/// (they cannot go into a `Location` header as they are).
pub fn local_path(raw: Option<&str>) -> String {
    raw.filter(|b| is_local(b))
        .map(str::to_string)
        .unwrap_or_else(|| "/".into())
}

fn is_local(b: &str) -> bool {
    let printable = b.bytes().all(|c| c.is_ascii_graphic() && c != b'\\');
    let decoded = percent_encoding::percent_decode_str(b).decode_utf8_lossy();
    let host_like = |s: &str| {
        let rest = s.strip_prefix('/').unwrap_or("/");
        rest.starts_with('/') || rest.starts_with('\\')
    };
    printable
        && b.starts_with('/')
        && !host_like(b)
        && !host_like(&decoded)
        && !decoded.chars().any(|c| c.is_control() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_come_back() {
        for ok in ["/", "/incidents/4", "/incidents/4?tab=timeline#x", "/a%20b"] {
            assert_eq!(local_path(Some(ok)), ok);
        }
        for bad in [
            "/\\evil.example/",
            "//evil.example/",
            "/%2Fevil.example",
            "/%5Cevil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "evil.example",
            "/x\ny",
            "/x%0Ay",
            "/x y",
            "/é",
            "/%09/evil.example",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
