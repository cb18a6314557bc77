//! The state every screen may read: the last status report, the status line, the theme, the
//! clock and what this host offers.

use crate::config::Endpoints;
use crate::domain::Timestamp;
use crate::service::status::StatusReport;
use crate::service::system_app::SystemAppInfo;

use super::theme::Theme;

/// State every screen may read.
pub struct Shared {
    pub report: StatusReport,
    /// False until the first load from the store arrives.
    pub loaded: bool,
    pub load_error: Option<String>,
    pub status: Option<StatusLine>,
    /// Set while the Atlassian endpoints are overridden (tests): shown on every screen.
    pub banner: Option<String>,
    pub theme: Theme,
    pub now: Timestamp,
    pub data_dir: String,
    /// Where Atlassian is; validation accepts the override base while it is set.
    pub endpoints: Endpoints,
    /// The system app of this host, or the sentence saying why there is none.
    pub system_app: Result<SystemAppInfo, String>,
    /// A local desktop session (not SSH): the authorize screen offers to open the browser.
    pub desktop_browser: bool,
}

/// The one-line message at the bottom: what just happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusLine {
    pub text: String,
    pub error: bool,
}
