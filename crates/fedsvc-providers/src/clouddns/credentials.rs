//! Where the Cloud DNS backend's credentials come from: a credentials file Google's tools
//! write, or Application Default Credentials; each described in words for errors.

use std::path::{Path, PathBuf};

use google_cloud_auth::credentials::{self as gauth, Credentials};

use crate::error::{ConfigError, error_chain, read_file};
use crate::secret::strip_userinfo;

/// An error and its causes in one line, without the credentials library's boilerplate and
/// without the user information of URLs.
pub(super) fn cause_text(e: &dyn std::error::Error) -> String {
    strip_userinfo(&error_chain(e, &AUTH_NOISE))
}

/// Boilerplate of Google's credentials library, left out of error messages.
const AUTH_NOISE: [&str; 5] = [
    "cannot create the authentication headers",
    "Request to fetch the token failed. Subsequent calls with this credential will also fail.",
    "Fetching the token resulted in transient errors. Subsequent calls with this credential might succeed.",
    " and future attempts will not succeed",
    " but future attempts may succeed",
];

/// The credentials of `credentials_file` (`provider.credentialsFile`), or else Application
/// Default Credentials, and where they come from, in words. A file that cannot be read or
/// used is an error naming it.
pub(super) fn load(credentials_file: Option<&Path>) -> Result<(Credentials, String), ConfigError> {
    Ok(match credentials_file {
        Some(path) => {
            let file = CredentialsFile::read(path, "provider.credentialsFile")?;
            let source = file.describe();
            (file.build("provider.credentialsFile")?, source)
        }
        None => {
            let source = adc_source()?;
            let credentials =
                gauth::Builder::default()
                    .build()
                    .map_err(|e| ConfigError::Invalid {
                        field: "provider.credentialsFile".into(),
                        message: format!(
                            "application default credentials ({source}): {}",
                            cause_text(&e)
                        ),
                    })?;
            (credentials, source)
        }
    })
}

/// A credentials file, read: its `type`, and the account it names, if any.
struct CredentialsFile {
    path: PathBuf,
    json: serde_json::Value,
}

impl CredentialsFile {
    fn read(path: &Path, field: &str) -> Result<Self, ConfigError> {
        let text = read_file(path)?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ConfigError::Invalid {
                field: field.into(),
                message: format!("{}: not a JSON credentials file: {e}", path.display()),
            })?;
        Ok(CredentialsFile {
            path: path.to_owned(),
            json,
        })
    }

    fn kind(&self) -> &str {
        self.json["type"].as_str().unwrap_or("")
    }

    /// The source in words: `service-account key /etc/sa.json (sa@p.iam.gserviceaccount.com)`.
    fn describe(&self) -> String {
        let what = match self.kind() {
            "service_account" => "service-account key",
            "authorized_user" => "gcloud user credentials",
            "external_account" => "external-account (workload identity federation) file",
            "external_account_authorized_user" => "external-account user credentials",
            "impersonated_service_account" => "service-account impersonation file",
            _ => "credentials file",
        };
        let account = self.json["client_email"]
            .as_str()
            .or_else(|| {
                self.json["service_account_impersonation_url"]
                    .as_str()
                    .and_then(|u| u.rsplit('/').next())
                    .and_then(|s| s.strip_suffix(":generateAccessToken"))
            })
            .map(|a| format!(" ({a})"))
            .unwrap_or_default();
        format!("{what} {}{account}", self.path.display())
    }

    /// The credentials, built by `google-cloud-auth` for the file's type.
    fn build(self, field: &str) -> Result<Credentials, ConfigError> {
        let kind = self.kind().to_owned();
        let description = self.describe();
        let json = self.json;
        let built = match kind.as_str() {
            "service_account" => gauth::service_account::Builder::new(json).build(),
            "authorized_user" => gauth::user_account::Builder::new(json).build(),
            "external_account" => gauth::external_account::Builder::new(json).build(),
            "external_account_authorized_user" => {
                gauth::external_account_authorized_user::Builder::new(json).build()
            }
            "impersonated_service_account" => gauth::impersonated::Builder::new(json).build(),
            other => {
                return Err(ConfigError::Invalid {
                    field: field.into(),
                    message: format!(
                        "{}: credentials of type {other:?} are not supported; expected \
                         service_account, authorized_user, external_account, \
                         external_account_authorized_user or impersonated_service_account",
                        self.path.display()
                    ),
                });
            }
        };
        built.map_err(|e| ConfigError::Invalid {
            field: field.into(),
            message: format!("{description}: {}", cause_text(&e)),
        })
    }
}

/// Where Application Default Credentials will come from, in the order the library tries them.
fn adc_source() -> Result<String, ConfigError> {
    if let Some(path) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
        let file = CredentialsFile::read(Path::new(&path), "GOOGLE_APPLICATION_CREDENTIALS")?;
        return Ok(format!(
            "{} (from GOOGLE_APPLICATION_CREDENTIALS)",
            file.describe()
        ));
    }
    if let Some(home) = std::env::var_os("HOME") {
        let path = PathBuf::from(home).join(".config/gcloud/application_default_credentials.json");
        if path.exists() {
            let file = CredentialsFile::read(&path, "application default credentials")?;
            return Ok(file.describe());
        }
    }
    Ok(match std::env::var("GCE_METADATA_HOST") {
        Ok(host) => format!("the metadata server at {host} (GCE_METADATA_HOST)"),
        Err(_) => "the metadata server (metadata.google.internal)".to_owned(),
    })
}
