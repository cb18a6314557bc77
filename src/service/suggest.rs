//! The arguments of a command a sentence suggests. A suggested command is for copying into a
//! shell, so an id goes in whole and shell-quoted, or not at all: a shortened id would name
//! another user, or none.

use crate::domain::Principal;
use crate::validate::identifier;

/// The ` --user ID` of a suggested command, and what the sentence must add after the command
/// when the id cannot go in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFlag {
    /// ` --user 'the id'`, or ` --user ID` when the id cannot be shown.
    pub flag: String,
    /// Empty, or "; ID ..." saying why the id is not shown and where to take it from.
    pub note: String,
}

impl UserFlag {
    /// The flag for a principal: none for the admin.
    pub fn for_principal(principal: &Principal) -> UserFlag {
        match principal {
            Principal::User(id) => UserFlag::of(id),
            Principal::Admin => UserFlag {
                flag: String::new(),
                note: String::new(),
            },
        }
    }

    /// The flag for a principal key (`admin` or `user:ID`), as an error sentence carries it.
    pub fn for_key(key: &str) -> UserFlag {
        Principal::from_key(key).map_or_else(
            || UserFlag::for_principal(&Principal::Admin),
            |principal| UserFlag::for_principal(&principal),
        )
    }

    pub fn of(id: &str) -> UserFlag {
        // The identifier rule is what a terminal can show and a command accepts: an id that
        // passes it goes in whole. Only a store written by an older build holds others.
        if identifier::user_id(id).is_ok() {
            return UserFlag {
                flag: format!(" --user {}", shell_quoted(id)),
                note: String::new(),
            };
        }
        let why = if id.chars().count() > identifier::MAX_USER_ID {
            "too long to show here"
        } else {
            "not shown here: it holds characters a terminal cannot show"
        };
        UserFlag {
            flag: " --user ID".to_owned(),
            note: format!("; ID is this user's id, {why}: take it from `jira-auth status --json`"),
        }
    }
}

/// `text` as one shell word: bare when it holds nothing a shell reads specially, else in
/// single quotes, each `'` written `'\''`.
pub fn shell_quoted(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if plain {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_admin_needs_no_flag() {
        assert_eq!(UserFlag::for_key("admin").flag, "");
        assert_eq!(UserFlag::for_key("user:bob").flag, " --user bob");
    }

    #[test]
    fn a_plain_id_goes_in_bare() {
        let flag = UserFlag::of("alice@example.com");
        assert_eq!(flag.flag, " --user alice@example.com");
        assert!(flag.note.is_empty());
    }

    #[test]
    fn any_other_clean_id_goes_in_whole_and_quoted() {
        assert_eq!(UserFlag::of("Ann O'Neil").flag, r" --user 'Ann O'\''Neil'");
        assert_eq!(shell_quoted("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(shell_quoted(""), "''");
        // The longest id the rule allows is shown whole, however long.
        let longest = format!("{}'", "é".repeat(identifier::MAX_USER_ID - 1));
        let flag = UserFlag::of(&longest);
        assert_eq!(
            flag.flag,
            format!(" --user '{}'\\'''", "é".repeat(identifier::MAX_USER_ID - 1))
        );
        assert!(flag.note.is_empty());
    }

    #[test]
    fn an_id_that_cannot_be_shown_whole_is_not_cut_but_named() {
        let long = "u".repeat(identifier::MAX_USER_ID + 1);
        let flag = UserFlag::of(&long);
        assert_eq!(flag.flag, " --user ID");
        assert!(flag.note.contains("too long to show"), "{}", flag.note);
        assert!(
            flag.note.contains("jira-auth status --json"),
            "{}",
            flag.note
        );
        assert!(!flag.note.contains("uuu"), "{}", flag.note);
        let hidden = UserFlag::of("bob\u{1b}[2J");
        assert_eq!(hidden.flag, " --user ID");
        assert!(hidden.note.contains("cannot show"), "{}", hidden.note);
    }
}
