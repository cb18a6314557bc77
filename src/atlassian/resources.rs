//! After the exchange: which sites the token reaches (`accessible-resources`) and who it
//! belongs to on the chosen one (`/rest/api/3/myself`), the verification call.

use serde::Deserialize;

use super::Endpoints;
use super::errors::{ProtocolError, excerpt, is_temporary_status};
use crate::domain::{Secret, Site};
use crate::validate::text::{ACCOUNT_CAP, ID_CAP, NAME_CAP, URL_CAP, sanitize};

/// One entry of `accessible-resources`. Liberal: unknown fields ignored, optional ones missing.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Resource {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default, rename = "avatarUrl")]
    pub avatar_url: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Myself {
    pub account_id: String,
    pub display_name: String,
    pub email: Option<String>,
}

#[derive(Deserialize)]
struct MyselfBody {
    #[serde(rename = "accountId")]
    account_id: String,
    #[serde(rename = "displayName", default)]
    display_name: String,
    #[serde(rename = "emailAddress")]
    email: Option<String>,
}

pub async fn accessible_resources(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    access_token: &Secret,
) -> Result<Vec<Resource>, ProtocolError> {
    let (status, body) = get(http, endpoints.accessible_resources_url(), access_token).await?;
    match status {
        200 => serde_json::from_slice(&body).map_err(|_| ProtocolError::Unexpected {
            status,
            excerpt: excerpt(&body),
        }),
        401 => Err(ProtocolError::ApiUnauthorized),
        _ if is_temporary_status(status) => Err(ProtocolError::Server {
            status,
            excerpt: excerpt(&body),
        }),
        _ => Err(ProtocolError::Unexpected {
            status,
            excerpt: excerpt(&body),
        }),
    }
}

/// The Jira sites among the resources. The cloud id is shared by a site's products, so Jira
/// is told by its scopes (Jira Service Management's are named `servicedesk`, without `jira`);
/// entries are folded by (id, url) and their text sanitized.
pub fn jira_sites(resources: &[Resource]) -> Vec<Site> {
    let mut sites: Vec<Site> = Vec::new();
    for resource in resources.iter().filter(|r| {
        r.scopes.is_empty()
            || r.scopes
                .iter()
                .any(|s| s.contains("jira") || s.contains("servicedesk"))
    }) {
        let site = Site {
            id: sanitize(&resource.id, ID_CAP),
            url: sanitize(&resource.url, URL_CAP),
            name: sanitize(&resource.name, NAME_CAP),
        };
        if !sites.iter().any(|s| s.id == site.id && s.url == site.url) {
            sites.push(site);
        }
    }
    sites
}

pub async fn myself(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    access_token: &Secret,
    cloud_id: &str,
) -> Result<Myself, ProtocolError> {
    let (status, body) = get(http, endpoints.myself_url(cloud_id), access_token).await?;
    match status {
        200 => {
            let parsed: MyselfBody =
                serde_json::from_slice(&body).map_err(|_| ProtocolError::Unexpected {
                    status,
                    excerpt: excerpt(&body),
                })?;
            Ok(Myself {
                account_id: sanitize(&parsed.account_id, ACCOUNT_CAP),
                display_name: sanitize(&parsed.display_name, NAME_CAP),
                email: parsed.email.map(|e| sanitize(&e, ACCOUNT_CAP)),
            })
        }
        401 | 403 => Err(ProtocolError::ApiUnauthorized),
        404 => Err(ProtocolError::SiteNotFound),
        _ if is_temporary_status(status) => Err(ProtocolError::Server {
            status,
            excerpt: excerpt(&body),
        }),
        _ => Err(ProtocolError::Unexpected {
            status,
            excerpt: excerpt(&body),
        }),
    }
}

async fn get(
    http: &reqwest::Client,
    url: url::Url,
    token: &Secret,
) -> Result<(u16, Vec<u8>), ProtocolError> {
    let response = http
        .get(url)
        .bearer_auth(token.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            ProtocolError::Network(if e.is_timeout() {
                "the call timed out".into()
            } else {
                "the connection failed".into()
            })
        })?;
    let status = response.status().as_u16();
    let body = response
        .bytes()
        .await
        .map_err(|_| ProtocolError::Network("the answer was cut off".into()))?;
    Ok((status, body.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jira_sites_are_told_apart_by_scopes_and_folded() {
        let json = r#"[
            {"id":"1","name":"acme","url":"https://acme.atlassian.net","scopes":["read:jira-work"],"avatarUrl":"x"},
            {"id":"1","name":"acme","url":"https://acme.atlassian.net","scopes":["read:confluence-content.all"]},
            {"id":"1","name":"acme","url":"https://acme.atlassian.net","scopes":["write:jira-work"]},
            {"id":"2","name":"\u001b[31mbeta","url":"https://beta.atlassian.net","scopes":["read:issue:jira"],"extra":true},
            {"id":"3","name":"help","url":"https://help.atlassian.net","scopes":["read:servicedesk-request"]}
        ]"#;
        let resources: Vec<Resource> = serde_json::from_str(json).unwrap();
        let sites = jira_sites(&resources);
        assert_eq!(sites.len(), 3);
        assert_eq!(sites[2].url, "https://help.atlassian.net");
        assert_eq!(sites[1].name, "beta", "escape sequences are stripped");
    }
}
