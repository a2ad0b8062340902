//! URI references as `$id` and `$ref` use them: parsing into the five parts of RFC 3986 and
//! resolving a reference against a base (RFC 3986 section 5.2, with its dot-segment removal).
//! Nothing here fetches anything: a resolved URI is only a key into the schemas already loaded.

/// A URI reference split into its parts (RFC 3986 section 3); absent parts are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    pub scheme: Option<String>,
    pub authority: Option<String>,
    pub path: String,
    pub query: Option<String>,
    pub fragment: Option<String>,
}

impl Uri {
    /// Splits a URI reference (RFC 3986 appendix B). Fails on characters that no URI may
    /// contain (spaces, controls, `<>"{}|\^` and backticks) outside the fragment.
    pub fn parse(text: &str) -> Result<Uri, String> {
        let (rest, fragment) = match text.split_once('#') {
            Some((rest, fragment)) => (rest, Some(fragment.to_owned())),
            None => (text, None),
        };
        if let Some(bad) = rest
            .chars()
            .find(|c| c.is_control() || " <>\"{}|\\^`".contains(*c))
        {
            return Err(format!("{bad:?} cannot appear in a URI"));
        }
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query.to_owned())),
            None => (rest, None),
        };
        let (scheme, rest) = match rest.find(':') {
            Some(colon)
                if colon > 0
                    && rest[..colon].starts_with(|c: char| c.is_ascii_alphabetic())
                    && rest[..colon]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                    && !rest[..colon].contains('/') =>
            {
                (Some(rest[..colon].to_ascii_lowercase()), &rest[colon + 1..])
            }
            _ => (None, rest),
        };
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find('/').unwrap_or(after.len());
                (Some(after[..end].to_owned()), after[end..].to_owned())
            }
            None => (None, rest.to_owned()),
        };
        Ok(Uri {
            scheme,
            authority,
            path,
            query,
            fragment,
        })
    }

    /// Resolves `reference` against this (absolute) base, RFC 3986 section 5.2.2.
    pub fn resolve(&self, reference: &Uri) -> Uri {
        let (scheme, authority, path, query);
        if reference.scheme.is_some() {
            scheme = reference.scheme.clone();
            authority = reference.authority.clone();
            path = remove_dot_segments(&reference.path);
            query = reference.query.clone();
        } else {
            scheme = self.scheme.clone();
            if reference.authority.is_some() {
                authority = reference.authority.clone();
                path = remove_dot_segments(&reference.path);
                query = reference.query.clone();
            } else {
                authority = self.authority.clone();
                if reference.path.is_empty() {
                    path = self.path.clone();
                    query = reference.query.clone().or_else(|| self.query.clone());
                } else {
                    path = if reference.path.starts_with('/') {
                        remove_dot_segments(&reference.path)
                    } else {
                        remove_dot_segments(&self.merge(&reference.path))
                    };
                    query = reference.query.clone();
                }
            }
        }
        Uri {
            scheme,
            authority,
            path,
            query,
            fragment: reference.fragment.clone(),
        }
    }

    fn merge(&self, path: &str) -> String {
        if self.authority.is_some() && self.path.is_empty() {
            return format!("/{path}");
        }
        match self.path.rfind('/') {
            Some(slash) => format!("{}{path}", &self.path[..=slash]),
            None => path.to_owned(),
        }
    }

    /// The URI without its fragment, as text: the key of a schema resource.
    pub fn resource(&self) -> String {
        let mut out = String::new();
        if let Some(scheme) = &self.scheme {
            out.push_str(scheme);
            out.push(':');
        }
        if let Some(authority) = &self.authority {
            out.push_str("//");
            out.push_str(authority);
        }
        out.push_str(&self.path);
        if let Some(query) = &self.query {
            out.push('?');
            out.push_str(query);
        }
        out
    }
}

/// RFC 3986 section 5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut input = path;
    let mut output: Vec<&str> = Vec::new();
    let absolute = path.starts_with('/');
    let mut segments: Vec<&str> = Vec::new();
    if absolute {
        input = &input[1..];
    }
    for segment in input.split('/') {
        segments.push(segment);
    }
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, segment) in segments.into_iter().enumerate() {
        match segment {
            "." => trailing_slash = i == last,
            ".." => {
                output.pop();
                trailing_slash = i == last;
            }
            s => {
                output.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::new();
    if absolute {
        out.push('/');
    }
    out.push_str(&output.join("/"));
    if trailing_slash && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Percent-decodes a fragment (a JSON pointer or an anchor may be percent-encoded in a URI).
pub fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{text:?} has a `%` not followed by two hex digits"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} does not decode to UTF-8"))
}

/// The segments of a JSON pointer (`/a~1b/0` -> `["a/b", "0"]`), or why it is not one.
pub fn pointer_segments(pointer: &str) -> Result<Vec<String>, String> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err(format!(
            "{pointer:?} is not a JSON pointer (it must start with `/`)"
        ));
    };
    rest.split('/')
        .map(|segment| {
            let mut out = String::with_capacity(segment.len());
            let mut chars = segment.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return Err(format!("{pointer:?} has a `~` not followed by 0 or 1")),
                    }
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        })
        .collect()
}

/// A JSON pointer from segments.
pub fn pointer(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(base: &str, reference: &str) -> String {
        let resolved = Uri::parse(base)
            .unwrap()
            .resolve(&Uri::parse(reference).unwrap());
        match &resolved.fragment {
            Some(f) => format!("{}#{f}", resolved.resource()),
            None => resolved.resource(),
        }
    }

    #[test]
    fn rfc_3986_examples() {
        let base = "http://a/b/c/d;p?q";
        for (reference, expected) in [
            ("g", "http://a/b/c/g"),
            ("./g", "http://a/b/c/g"),
            ("g/", "http://a/b/c/g/"),
            ("/g", "http://a/g"),
            ("//g", "http://g"),
            ("?y", "http://a/b/c/d;p?y"),
            ("#s", "http://a/b/c/d;p?q#s"),
            ("", "http://a/b/c/d;p?q"),
            (".", "http://a/b/c/"),
            ("..", "http://a/b/"),
            ("../g", "http://a/b/g"),
            ("../../../g", "http://a/g"),
            ("g;x=1/../y", "http://a/b/c/y"),
            ("urn:x:y", "urn:x:y"),
        ] {
            assert_eq!(resolve(base, reference), expected, "{reference}");
        }
        assert_eq!(
            resolve("file:///specs/ingest.yaml", "common.json#/$defs/a"),
            "file:///specs/common.json#/$defs/a"
        );
    }

    #[test]
    fn pointers_unescape() {
        assert_eq!(pointer_segments("/a~1b/~0c/").unwrap(), ["a/b", "~c", ""]);
        assert!(pointer_segments("a").is_err());
        assert_eq!(percent_decode("foo%22bar").unwrap(), "foo\"bar");
        assert_eq!(pointer(&["a/b".to_owned()]), "/a~1b");
    }
}
