//! Whose token set a request names: the rule of mode × user, once. Each use case words the
//! mismatch in its own sentence (authorizing and asking for a token say different things).

use crate::domain::{Mode, Principal};

/// A user named where the mode takes none, or none named where it takes one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// A pre-authorized integration: one token serves everyone.
    UserNotApplicable,
    /// A user-authorized integration: each end user holds their own token.
    UserNeeded,
}

/// The principal `user` names in an integration of `mode`.
pub fn of(mode: Mode, user: Option<&str>) -> Result<Principal, Mismatch> {
    match (mode, user) {
        (Mode::PreAuthorized, None) => Ok(Principal::Admin),
        (Mode::PreAuthorized, Some(_)) => Err(Mismatch::UserNotApplicable),
        (Mode::UserAuthorized, Some(id)) => Ok(Principal::User(id.to_owned())),
        (Mode::UserAuthorized, None) => Err(Mismatch::UserNeeded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_takes_a_user_or_none() {
        assert_eq!(of(Mode::PreAuthorized, None), Ok(Principal::Admin));
        assert_eq!(
            of(Mode::PreAuthorized, Some("kim")),
            Err(Mismatch::UserNotApplicable)
        );
        assert_eq!(
            of(Mode::UserAuthorized, Some("kim")),
            Ok(Principal::User("kim".into()))
        );
        assert_eq!(of(Mode::UserAuthorized, None), Err(Mismatch::UserNeeded));
    }
}
