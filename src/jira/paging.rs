//! Jira's two paging styles, read from a page's JSON: the page bean (`startAt`,
//! `maxResults`, `total`, `isLast`, the items in `values` or a named array such as `issues`)
//! and the token style of `/rest/api/3/search/jql` (`nextPageToken`, `isLast`). A page says
//! what it holds and how to ask for the next; nothing here makes a request.

use serde_json::Value;
use serde_json::value::RawValue;

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

/// One page: its items, as Jira wrote them (key order, numbers and all), and the next page
/// if there is one.
#[derive(Debug, Clone)]
pub struct Page<'a> {
    pub items: Vec<&'a RawValue>,
    pub next: Option<Next>,
}

/// How to ask for the page after this one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    StartAt(u64),
    Token(String),
}

impl<'a> Page<'a> {
    /// Reads an answer's JSON. An array is one page of items; an object without paging
    /// fields is one item (the answer itself), with no next page.
    pub fn read(body: &'a [u8]) -> Result<Page<'a>, serde_json::Error> {
        let whole: &'a RawValue = serde_json::from_slice(body)?;
        let text = whole.get();
        if text.starts_with('[') {
            return Ok(Page {
                items: serde_json::from_str(text)?,
                next: None,
            });
        }
        let one = Page {
            items: vec![whole],
            next: None,
        };
        if !text.starts_with('{') {
            return Ok(one);
        }
        let fields: Vec<(String, &'a RawValue)> = serde_json::from_str::<RawObject<'a>>(text)?.0;
        let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v);
        let is_array = |v: &RawValue| v.get().starts_with('[');
        let field = ITEM_FIELDS
            .iter()
            .find_map(|f| get(f).filter(|v| is_array(v)))
            .or_else(|| {
                let mut arrays = fields.iter().filter(|(_, v)| is_array(v));
                match (arrays.next(), arrays.next()) {
                    (Some((_, v)), None) => Some(*v),
                    _ => None,
                }
            });
        let paged = ["nextPageToken", "startAt", "isLast"]
            .iter()
            .any(|k| get(k).is_some());
        let Some(field) = field.filter(|_| paged) else {
            return Ok(one);
        };
        let items: Vec<&'a RawValue> = serde_json::from_str(field.get())?;
        let value = |key: &str| -> Value {
            get(key)
                .and_then(|v| serde_json::from_str(v.get()).ok())
                .unwrap_or(Value::Null)
        };
        let is_last = value("isLast").as_bool();
        let number = |key: &str| value(key).as_u64();
        let next = if is_last == Some(true) || items.is_empty() {
            None
        } else if let Some(token) = value("nextPageToken").as_str().filter(|t| !t.is_empty()) {
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
        Ok(Page { items, next })
    }
}

/// A JSON object's fields in order, their values unread.
struct RawObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for RawObject<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Fields<'a> {
            type Value = RawObject<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    fields.push(entry);
                }
                Ok(RawObject(fields))
            }
        }
        deserializer.deserialize_map(Fields(std::marker::PhantomData))
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

    fn read(value: Value) -> (Vec<Value>, Option<Next>) {
        let text = value.to_string();
        let page = Page::read(text.as_bytes()).unwrap();
        let items = page
            .items
            .iter()
            .map(|raw| serde_json::from_str(raw.get()).unwrap())
            .collect();
        (items, page.next)
    }

    #[test]
    fn page_beans_follow_start_at_until_the_last() {
        let (items, next) = read(
            json!({"startAt": 0, "maxResults": 2, "total": 5, "isLast": false, "values": [1, 2]}),
        );
        assert_eq!(items, vec![json!(1), json!(2)]);
        assert_eq!(next, Some(Next::StartAt(2)));
        let (_, last) = read(json!({"startAt": 4, "maxResults": 2, "total": 5, "values": [5]}));
        assert_eq!(last, None);
        let (_, by_total) =
            read(json!({"startAt": 2, "maxResults": 2, "total": 4, "values": [3, 4]}));
        assert_eq!(by_total, None);
        let (_, flagged) =
            read(json!({"startAt": 0, "maxResults": 2, "isLast": true, "values": [1, 2]}));
        assert_eq!(flagged, None);
        let (items, next) =
            read(json!({"startAt": 0, "maxResults": 1, "total": 3, "issues": [{"key": "A-1"}]}));
        assert_eq!(items, vec![json!({"key": "A-1"})]);
        assert_eq!(next, Some(Next::StartAt(1)));
    }

    #[test]
    fn tokens_are_followed_until_is_last() {
        let (_, next) =
            read(json!({"issues": [{"id": "1"}], "nextPageToken": "abc", "isLast": false}));
        assert_eq!(next, Some(Next::Token("abc".into())));
        let (_, last) = read(json!({"issues": [{"id": "2"}], "isLast": true}));
        assert_eq!(last, None);
        let (_, empty) = read(json!({"issues": [], "nextPageToken": "x"}));
        assert_eq!(empty, None);
    }

    #[test]
    fn unpaged_answers_are_one_item() {
        let me = json!({"accountId": "a", "groups": {"items": []}});
        assert_eq!(read(me.clone()).0, vec![me]);
        assert_eq!(read(json!([1, 2])).0.len(), 2);
        assert_eq!(read(json!("x")).0, vec![json!("x")]);
        assert!(Page::read(b"not json").is_err());
    }

    #[test]
    fn items_keep_jiras_bytes() {
        let body = br#"{"startAt":0,"isLast":true,"values":[{"z":1,"a":12345678901234567890.5}]}"#;
        let page = Page::read(body).unwrap();
        assert_eq!(page.items[0].get(), r#"{"z":1,"a":12345678901234567890.5}"#);
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
