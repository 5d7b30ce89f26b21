//! Matching URIs against the resource templates a [`ResourceGuard`](super::ResourceGuard) guards.
//! Only what a guard needs of RFC 6570: `{name}` stands for one or more characters other than
//! `/`, `?` and `#`, so a value never spans path segments (`products://product/{id}` does not
//! match `products://product/1/../audit`). Everything else is literal.

use regex::Regex;

/// A compiled template (a regex: linear-time matching on any input).
#[derive(Debug)]
pub(crate) struct UriTemplate(Option<Regex>);

impl UriTemplate {
    pub(crate) fn new(template: &str) -> Self {
        let mut pattern = String::from("^");
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            pattern.push_str(&regex::escape(&rest[..open]));
            pattern.push_str("[^/?#]+");
            rest = &rest[open + close + 1..];
        }
        pattern.push_str(&regex::escape(rest));
        pattern.push('$');
        // Escaped literals and one fixed class always compile; should that ever fail, the
        // template matches nothing (its URIs are "not found", never allowed).
        UriTemplate(Regex::new(&pattern).ok())
    }

    pub(crate) fn matches(&self, uri: &str) -> bool {
        self.0.as_ref().is_some_and(|re| re.is_match(uri))
    }
}

#[cfg(test)]
mod tests {
    use super::UriTemplate;

    #[test]
    fn variables_match_within_one_segment() {
        let t = UriTemplate::new("products://product/{id}");
        assert!(t.matches("products://product/12"));
        assert!(!t.matches("products://product/"));
        assert!(!t.matches("products://product/1/../audit"));
        assert!(!t.matches("products://product/1?x"));
        assert!(!t.matches("xproducts://product/1"));
    }

    #[test]
    fn literals_are_literal() {
        let t = UriTemplate::new("file:///{dir}/a.b+c");
        assert!(t.matches("file:///x/a.b+c"));
        assert!(!t.matches("file:///x/aXb+c"));
        let unterminated = UriTemplate::new("x://{id");
        assert!(unterminated.matches("x://{id"));
        assert!(!unterminated.matches("x://7"));
    }
}
