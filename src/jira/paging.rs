//! Jira's two paging styles, read from a page's JSON: the page bean (`startAt`,
//! `maxResults`, `total`, `isLast`, the items in `values` or a named array such as `issues`)
//! and the token style of `/rest/api/3/search/jql` (`nextPageToken`, `isLast`). A page says
//! what it holds and how to ask for the next; nothing here makes a request.

use serde_json::Value;

/// The array fields Jira's paged answers keep their items in, most common first.
const ITEM_FIELDS: [&str; 8] = [
    "values",
    "issues",
    "comments",
    "worklogs",
    "results",
    "users",
    "projects",
    "changelogs",
];

/// One page: its items, and the next page if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Value>,
    pub next: Option<Next>,
}

/// How to ask for the page after this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    StartAt(u64),
    Token(String),
}

impl Page {
    /// Reads an answer. An array is one page of items; an object without paging fields is
    /// one item (the answer itself), with no next page.
    pub fn read(answer: Value) -> Page {
        let object = match answer {
            Value::Array(items) => return Page { items, next: None },
            Value::Object(object) => object,
            other => {
                return Page {
                    items: vec![other],
                    next: None,
                };
            }
        };
        let field = ITEM_FIELDS
            .iter()
            .find(|f| object.get(**f).is_some_and(Value::is_array))
            .map(|f| (*f).to_owned())
            .or_else(|| {
                let mut arrays = object.iter().filter(|(_, v)| v.is_array());
                match (arrays.next(), arrays.next()) {
                    (Some((name, _)), None) => Some(name.clone()),
                    _ => None,
                }
            });
        let paged = object.contains_key("nextPageToken")
            || object.contains_key("startAt")
            || object.contains_key("isLast");
        let Some(field) = field.filter(|_| paged) else {
            return Page {
                items: vec![Value::Object(object)],
                next: None,
            };
        };
        let is_last = object.get("isLast").and_then(Value::as_bool);
        let mut object = object;
        let items = match object.remove(&field) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        };
        let number = |key: &str| object.get(key).and_then(Value::as_u64);
        let next = if is_last == Some(true) || items.is_empty() {
            None
        } else if let Some(token) = object
            .get("nextPageToken")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
        {
            Some(Next::Token(token.to_owned()))
        } else if let Some(start) = number("startAt") {
            let next = start + items.len() as u64;
            let short = number("maxResults").is_some_and(|max| (items.len() as u64) < max);
            let past_total = number("total").is_some_and(|total| next >= total);
            let known_more = is_last == Some(false);
            (known_more || !(past_total || short)).then_some(Next::StartAt(next))
        } else {
            None
        };
        Page { items, next }
    }
}

impl Next {
    /// The query parameter (or body field) that asks for this page.
    pub fn field(&self) -> (&'static str, Value) {
        match self {
            Next::StartAt(n) => ("startAt", Value::from(*n)),
            Next::Token(token) => ("nextPageToken", Value::from(token.clone())),
        }
    }

    /// `url` asking for this page: the parameter set, any earlier value replaced.
    pub fn apply_to_query(&self, url: &mut url::Url) {
        let (name, value) = self.field();
        let value = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != name)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(kept)
            .append_pair(name, &value);
    }

    /// A JSON body asking for this page (`POST /rest/api/3/search/jql`).
    pub fn apply_to_body(&self, body: &mut serde_json::Map<String, Value>) {
        let (name, value) = self.field();
        body.insert(name.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn page_beans_follow_start_at_until_the_last() {
        let page = Page::read(
            json!({"startAt": 0, "maxResults": 2, "total": 5, "isLast": false, "values": [1, 2]}),
        );
        assert_eq!(page.items, vec![json!(1), json!(2)]);
        assert_eq!(page.next, Some(Next::StartAt(2)));
        let last = Page::read(json!({"startAt": 4, "maxResults": 2, "total": 5, "values": [5]}));
        assert_eq!(last.next, None);
        let by_total =
            Page::read(json!({"startAt": 2, "maxResults": 2, "total": 4, "values": [3, 4]}));
        assert_eq!(by_total.next, None);
        let flagged =
            Page::read(json!({"startAt": 0, "maxResults": 2, "isLast": true, "values": [1, 2]}));
        assert_eq!(flagged.next, None);
        let issues = Page::read(
            json!({"startAt": 0, "maxResults": 1, "total": 3, "issues": [{"key": "A-1"}]}),
        );
        assert_eq!(issues.items, vec![json!({"key": "A-1"})]);
        assert_eq!(issues.next, Some(Next::StartAt(1)));
    }

    #[test]
    fn tokens_are_followed_until_is_last() {
        let page =
            Page::read(json!({"issues": [{"id": "1"}], "nextPageToken": "abc", "isLast": false}));
        assert_eq!(page.next, Some(Next::Token("abc".into())));
        let last = Page::read(json!({"issues": [{"id": "2"}], "isLast": true}));
        assert_eq!(last.next, None);
        let empty = Page::read(json!({"issues": [], "nextPageToken": "x"}));
        assert_eq!(empty.next, None);
    }

    #[test]
    fn unpaged_answers_are_one_item() {
        let me = json!({"accountId": "a", "groups": {"items": []}});
        assert_eq!(Page::read(me.clone()).items, vec![me]);
        assert_eq!(Page::read(json!([1, 2])).items.len(), 2);
        assert_eq!(Page::read(json!("x")).items, vec![json!("x")]);
    }

    #[test]
    fn the_next_page_replaces_the_parameter() {
        let mut url = url::Url::parse("https://h/x?jql=a%3Db&startAt=0&maxResults=2").unwrap();
        Next::StartAt(2).apply_to_query(&mut url);
        assert_eq!(url.query(), Some("jql=a%3Db&maxResults=2&startAt=2"));
        let mut body = serde_json::Map::new();
        Next::Token("t".into()).apply_to_body(&mut body);
        assert_eq!(Value::Object(body), json!({"nextPageToken": "t"}));
    }
}
