//! Where a request for Jira may go: a path under the grant's own `api_base`
//! (`https://api.atlassian.com/ex/jira/{cloud id}`), never another host and never another
//! site's prefix, because the grant's token goes with it. Judged on the text as given,
//! before any URL parser resolves it: a WHATWG parser turns `%2e%2e` into `..` and `\` into
//! `/`, so an escape would be resolved away before it could be seen.

use url::Url;

use crate::validate::text::percent_decode;

/// Why a path was refused; each names the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "{given} is not under this grant's API base {base}: jira-auth sends the grant's token to that base only. Give a path such as /rest/api/3/myself"
    )]
    OtherBase { given: String, base: String },
    #[error(
        "the path {given} names another Jira site's prefix (/ex/...); give the path after it, such as /rest/api/3/myself"
    )]
    OtherSite { given: String },
    #[error(
        "the path {given} has a `.` or `..` segment (perhaps percent-encoded); give the path without it"
    )]
    DotSegment { given: String },
    #[error(
        "the path {given} has an encoded slash or a backslash in a segment; give the path with plain slashes"
    )]
    HiddenSlash { given: String },
    #[error("the path {given} has a control character or a space; percent-encode it")]
    Unprintable { given: String },
    #[error("the path is empty; give one such as /rest/api/3/myself")]
    Empty,
}

impl crate::exit::Exits for TargetError {
    fn exit(&self) -> crate::exit::Exit {
        crate::exit::Exit::Usage
    }
}

/// The URL `given` names under `base`. `given` is a path (`/rest/api/3/myself`, the leading
/// slash optional, a query allowed), the same path with the grant's own `/ex/jira/{id}`
/// prefix, or a full URL under `base`. A fragment is dropped: it never reaches a server.
pub fn resolve(base: &Url, given: &str) -> Result<Url, TargetError> {
    let shown = crate::validate::text::quoted(given);
    let given = given.split('#').next().unwrap_or_default();
    if given.is_empty() {
        return Err(TargetError::Empty);
    }
    if given.chars().any(|c| c.is_control() || c == ' ') {
        return Err(TargetError::Unprintable { given: shown });
    }
    let base_text = base.as_str().trim_end_matches('/');
    let prefix = base.path().trim_end_matches('/');
    let relative = if given.contains("://") {
        let other_base = || TargetError::OtherBase {
            given: shown.clone(),
            base: base_text.to_owned(),
        };
        let rest = given.strip_prefix(base_text).ok_or_else(other_base)?;
        if !(rest.is_empty() || rest.starts_with('/') || rest.starts_with('?')) {
            return Err(other_base());
        }
        rest
    } else if let Some(rest) = given
        .strip_prefix(prefix)
        .filter(|rest| prefix.len() > 1 && (rest.is_empty() || rest.starts_with(['/', '?'])))
    {
        rest
    } else {
        given
    };
    let (path, query) = match relative.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (relative, None),
    };
    let path = path.strip_prefix('/').unwrap_or(path);
    if path == "ex" || path.starts_with("ex/") {
        return Err(TargetError::OtherSite { given: shown });
    }
    for segment in path.split('/') {
        let decoded = percent_decode(segment);
        if decoded == "." || decoded == ".." {
            return Err(TargetError::DotSegment { given: shown });
        }
        if decoded.contains(['/', '\\']) {
            return Err(TargetError::HiddenSlash { given: shown });
        }
    }
    let mut text = format!("{base_text}/{path}");
    if let Some(query) = query {
        text.push('?');
        text.push_str(query);
    }
    let url = Url::parse(&text).map_err(|_| TargetError::Unprintable {
        given: shown.clone(),
    })?;
    // What the checks above let through cannot move the URL off the base; this says so
    // rather than trusting it.
    if url.origin() != base.origin() || !url.path().starts_with(prefix) {
        return Err(TargetError::OtherBase {
            given: shown,
            base: base_text.to_owned(),
        });
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn base() -> Url {
        Url::parse("https://api.atlassian.com/ex/jira/11111111-aaaa").unwrap()
    }

    fn ok(given: &str) -> String {
        resolve(&base(), given).unwrap().to_string()
    }

    #[test]
    fn paths_land_under_the_grant_base() {
        let want = "https://api.atlassian.com/ex/jira/11111111-aaaa/rest/api/3/myself";
        assert_eq!(ok("/rest/api/3/myself"), want);
        assert_eq!(ok("rest/api/3/myself"), want);
        assert_eq!(ok("/ex/jira/11111111-aaaa/rest/api/3/myself"), want);
        assert_eq!(ok(want), want);
        assert_eq!(
            ok("/rest/api/3/search/jql?jql=project%3DACME&maxResults=5#frag"),
            "https://api.atlassian.com/ex/jira/11111111-aaaa/rest/api/3/search/jql?jql=project%3DACME&maxResults=5"
        );
    }

    #[test]
    fn escapes_and_other_hosts_are_refused() {
        for given in [
            "https://evil.example/rest/api/3/myself",
            "https://api.atlassian.com/ex/jira/other/rest/api/3/myself",
            "https://api.atlassian.com/ex/jira/11111111-aaaabc/rest",
            "http://api.atlassian.com/ex/jira/11111111-aaaa/rest",
            "https://api.atlassian.com.evil.example/ex/jira/11111111-aaaa/rest",
            "https://api.atlassian.com/ex/jira/11111111-aaaa@evil.example/rest",
        ] {
            assert!(
                matches!(resolve(&base(), given), Err(TargetError::OtherBase { .. })),
                "{given}"
            );
        }
        for given in [
            "/rest/../../other/rest",
            "/rest/%2e%2e/x",
            "/rest/%2E%2e/x",
            "/rest/./x",
            "/rest/%2e/x",
            "/..",
        ] {
            assert!(
                matches!(resolve(&base(), given), Err(TargetError::DotSegment { .. })),
                "{given}"
            );
        }
        for given in ["/rest/a%2f..%2fb", "/rest\\..\\x", "/rest/%5c"] {
            assert!(
                matches!(
                    resolve(&base(), given),
                    Err(TargetError::HiddenSlash { .. })
                ),
                "{given}"
            );
        }
        assert!(matches!(
            resolve(&base(), "/ex/jira/other/rest/api/3/myself"),
            Err(TargetError::OtherSite { .. })
        ));
        assert!(matches!(
            resolve(&base(), "/rest/a b"),
            Err(TargetError::Unprintable { .. })
        ));
        assert_eq!(resolve(&base(), ""), Err(TargetError::Empty));
    }

    proptest! {
        /// Whatever is given, what comes back (if anything) is on the grant's own host and
        /// under its prefix, with no dot segment a server could resolve.
        #[test]
        fn nothing_leaves_the_base(given in "[a-zA-Z0-9/.%?#@:\\\\=&+-]{0,40}") {
            if let Ok(url) = resolve(&base(), &given) {
                prop_assert_eq!(url.origin(), base().origin());
                prop_assert!(url.path().starts_with("/ex/jira/11111111-aaaa/"), "{}", url);
                for segment in url.path().split('/') {
                    let decoded = percent_decode(segment);
                    prop_assert!(decoded != "." && decoded != "..", "{}", url);
                }
            }
        }
    }
}
