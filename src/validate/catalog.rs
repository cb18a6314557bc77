//! The catalog of Jira scopes (`assets/scopes.toml`, compiled in): names, groups and one-line
//! meanings for the scope picker, the "select all" of step ix, and the Scopes check's
//! "not a known Jira scope" warning.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

const BUILTIN_TOML: &str = include_str!("../../assets/scopes.toml");

/// The scope that makes Atlassian issue a refresh token; a pre-authorized profile needs it.
pub const OFFLINE_ACCESS: &str = "offline_access";
/// No real scope comes close; a longer "scope" is a paste of something else.
const MAX_SCOPE_LEN: usize = 128;

/// `^[a-z]+(:[a-z0-9.-]+)+$` (each part after the first starting with a letter or digit), or
/// `offline_access`. Granular names have dots (`read:issue.changelog:jira`), classic ones
/// hyphens (`read:servicedesk-request`).
pub fn is_well_formed(name: &str) -> bool {
    if name == OFFLINE_ACCESS {
        return true;
    }
    if name.len() > MAX_SCOPE_LEN {
        return false;
    }
    let mut parts = name.split(':');
    let action_ok = parts
        .next()
        .is_some_and(|action| !action.is_empty() && action.bytes().all(|b| b.is_ascii_lowercase()));
    let mut rest = parts.peekable();
    action_ok
        && rest.peek().is_some()
        && rest.all(|part| {
            part.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        })
}

/// Where a scope comes from, as the developer console groups them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeGroup {
    /// The seven classic "Jira platform REST API" scopes.
    Classic,
    /// `offline_access` and the User Identity API.
    Identity,
    /// Granular Jira platform scopes, `ACTION:RESOURCE:jira`.
    Granular,
    /// Jira Software.
    Software,
    /// Jira Service Management.
    ServiceManagement,
}

impl ScopeGroup {
    pub fn title(self) -> &'static str {
        match self {
            ScopeGroup::Classic => "Jira platform (classic)",
            ScopeGroup::Identity => "Identity",
            ScopeGroup::Granular => "Jira platform (granular)",
            ScopeGroup::Software => "Jira Software",
            ScopeGroup::ServiceManagement => "Jira Service Management",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ScopeEntry {
    pub name: String,
    pub group: ScopeGroup,
    pub meaning: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("the scopes catalog is not valid TOML: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("the scopes catalog lists {0} twice; remove one of them")]
    Duplicate(String),
    #[error("the scopes catalog lists {0:?}, which is not a well-formed scope name")]
    Malformed(String),
}

#[derive(Deserialize)]
struct CatalogFile {
    scope: Vec<ScopeEntry>,
}

/// The scopes, in the catalog's order, with what makes lookups and filtering cheap.
#[derive(Debug)]
pub struct Catalog {
    entries: Vec<ScopeEntry>,
    by_name: HashMap<String, usize>,
    /// Lower-cased name and meaning of each entry, so filtering on every keystroke allocates
    /// only the lower-cased query.
    folded: Vec<(String, String)>,
}

impl Catalog {
    /// The catalog shipped in `assets/scopes.toml`, parsed on first use.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            // The asset is compiled in and `the_builtin_catalog_parses` parses it in CI, so a
            // failure here is a defect of the build, not of the machine it runs on.
            Catalog::from_toml(BUILTIN_TOML).expect("assets/scopes.toml is valid")
        })
    }

    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(text)?;
        let mut by_name = HashMap::with_capacity(file.scope.len());
        for (index, entry) in file.scope.iter().enumerate() {
            if !is_well_formed(&entry.name) {
                return Err(CatalogError::Malformed(entry.name.clone()));
            }
            if by_name.insert(entry.name.clone(), index).is_some() {
                return Err(CatalogError::Duplicate(entry.name.clone()));
            }
        }
        let folded = file
            .scope
            .iter()
            .map(|e| (e.name.to_lowercase(), e.meaning.to_lowercase()))
            .collect();
        Ok(Catalog {
            entries: file.scope,
            by_name,
            folded,
        })
    }

    pub fn entries(&self) -> &[ScopeEntry] {
        &self.entries
    }

    /// The seven classic scopes: the seed's "select all" for "Jira platform REST API".
    pub fn classic(&self) -> impl Iterator<Item = &ScopeEntry> {
        self.entries
            .iter()
            .filter(|e| e.group == ScopeGroup::Classic)
    }

    pub fn get(&self, name: &str) -> Option<&ScopeEntry> {
        self.by_name.get(name).map(|index| &self.entries[*index])
    }

    pub fn contains(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Entries whose name or meaning contains `query` (case-insensitive): name matches first,
    /// each part in catalog order. An empty query matches everything.
    pub fn filter(&self, query: &str) -> Vec<&ScopeEntry> {
        let query = query.trim().to_lowercase();
        if query.is_empty() {
            return self.entries.iter().collect();
        }
        let by_name = self
            .entries
            .iter()
            .zip(&self.folded)
            .filter(|(_, (name, _))| name.contains(&query));
        let by_meaning = self
            .entries
            .iter()
            .zip(&self.folded)
            .filter(|(_, (name, meaning))| !name.contains(&query) && meaning.contains(&query));
        by_name.chain(by_meaning).map(|(entry, _)| entry).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_parses() {
        let catalog = Catalog::from_toml(BUILTIN_TOML);
        assert!(catalog.is_ok(), "{:?}", catalog.err());
        assert!(Catalog::builtin().entries().len() > 150);
    }

    #[test]
    fn classic_is_the_seven_platform_scopes() {
        let classic: Vec<&str> = Catalog::builtin()
            .classic()
            .map(|e| e.name.as_str())
            .collect();
        assert_eq!(
            classic,
            [
                "read:jira-user",
                "read:jira-work",
                "write:jira-work",
                "manage:jira-project",
                "manage:jira-configuration",
                "manage:jira-webhook",
                "manage:jira-data-provider",
            ]
        );
    }

    #[test]
    fn the_catalog_covers_the_families_atlassian_documents() {
        let catalog = Catalog::builtin();
        for (name, group) in [
            ("offline_access", ScopeGroup::Identity),
            ("read:me", ScopeGroup::Identity),
            ("read:account", ScopeGroup::Identity),
            ("read:issue:jira", ScopeGroup::Granular),
            ("write:comment:jira", ScopeGroup::Granular),
            ("delete:issue-worklog:jira", ScopeGroup::Granular),
            ("validate:jql:jira", ScopeGroup::Granular),
            ("send:notification:jira", ScopeGroup::Granular),
            ("read:sprint:jira-software", ScopeGroup::Software),
            ("read:board-scope:jira-software", ScopeGroup::Software),
            ("read:servicedesk-request", ScopeGroup::ServiceManagement),
            (
                "read:request:jira-service-management",
                ScopeGroup::ServiceManagement,
            ),
        ] {
            assert_eq!(catalog.get(name).map(|e| e.group), Some(group), "{name}");
            assert!(!catalog.get(name).is_some_and(|e| e.meaning.is_empty()));
        }
        assert!(catalog.get("read:nothing:jira").is_none());
    }

    #[test]
    fn filter_puts_name_matches_first() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.filter("").len(), catalog.entries().len());
        assert_eq!(catalog.filter("  ").len(), catalog.entries().len());

        let refresh = catalog.filter("REFRESH");
        assert_eq!(
            refresh.first().map(|e| e.name.as_str()),
            Some("manage:jira-webhook")
        );
        assert!(refresh.iter().any(|e| e.name == "offline_access"));

        let sprint = catalog.filter("sprint");
        assert!(sprint.iter().all(|e| e.name.contains("sprint")));
        let issue = catalog.filter("issue");
        let first_meaning_only = issue.iter().position(|e| !e.name.contains("issue"));
        let last_name_match = issue.iter().rposition(|e| e.name.contains("issue"));
        assert!(first_meaning_only.is_some() && last_name_match < first_meaning_only);
        assert!(catalog.filter("no such thing at all").is_empty());
    }

    #[test]
    fn a_broken_catalog_says_what_is_wrong() {
        let duplicate = "scope = [\n{ name = \"read:me\", group = \"identity\", meaning = \"a\" },\n\
                         { name = \"read:me\", group = \"identity\", meaning = \"b\" }]";
        assert!(matches!(
            Catalog::from_toml(duplicate),
            Err(CatalogError::Duplicate(_))
        ));
        let malformed = "scope = [{ name = \"Read Me\", group = \"identity\", meaning = \"a\" }]";
        assert!(matches!(
            Catalog::from_toml(malformed),
            Err(CatalogError::Malformed(_))
        ));
        let unknown_group = "scope = [{ name = \"read:me\", group = \"other\", meaning = \"a\" }]";
        assert!(matches!(
            Catalog::from_toml(unknown_group),
            Err(CatalogError::Parse(_))
        ));
    }
}
