//! What a kubeconfig stored in a Secret may contain.
//!
//! A member's kubeconfig is read from a Secret on the federation API, so anyone who may write
//! that Secret chooses what the controller does with it. kube-rs, like `kubectl`, runs the
//! program of an `exec` credential plugin or an `auth-provider`, and reads the files that
//! `tokenFile`, `client-certificate`, `client-key` and `certificate-authority` name: a stored
//! kubeconfig with any of them would run code as the controller or read the controller's own
//! files (its service-account token, for one). [`check_stored_kubeconfig`] therefore accepts
//! only inline credentials, field by field, from an allow-list: anything it does not know is
//! refused too, so a field a later kube-rs learns to act on is refused until it is reviewed.

use std::fmt;

use kube::config::Kubeconfig;
use serde_json::{Map, Value};

/// The largest stored kubeconfig accepted, in bytes (1 MiB, the most a Secret may hold).
pub const MAX_STORED_KUBECONFIG_BYTES: usize = 1024 * 1024;

/// A field of a stored kubeconfig that is refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnsafeKubeconfig {
    /// The field at fault, as a path in the kubeconfig: `users[0].user.exec`.
    pub field: String,
    /// Why it is refused.
    pub problem: String,
}

impl fmt::Display for UnsafeKubeconfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.field, self.problem)
    }
}

impl std::error::Error for UnsafeKubeconfig {}

/// What a stored kubeconfig may hold: inline credentials only.
pub const ALLOWED_CREDENTIALS: &str = "token, client-certificate-data, client-key-data, \
     username and password, with certificate-authority-data for the server";

const TOP: &[&str] = &[
    "apiVersion",
    "kind",
    "preferences",
    "clusters",
    "contexts",
    "users",
    "current-context",
    "extensions",
];
const PREFERENCES: &[&str] = &["colors", "extensions"];
const NAMED: &[&str] = &["name"];
const CLUSTER: &[&str] = &[
    "server",
    "certificate-authority-data",
    "insecure-skip-tls-verify",
    "tls-server-name",
    "proxy-url",
    "disable-compression",
    "extensions",
];
const CONTEXT: &[&str] = &["cluster", "user", "namespace", "extensions"];
const USER: &[&str] = &[
    "token",
    "client-certificate-data",
    "client-key-data",
    "username",
    "password",
    "extensions",
];

/// Why a field outside the allow-list is refused.
fn problem_of(key: &str) -> String {
    match key {
        "exec" => "runs a program on the controller (an exec credential plugin)".into(),
        "auth-provider" => {
            "runs an authentication provider plugin on the controller, which may run programs \
             and read files"
                .into()
        }
        "tokenFile" => "reads a file of the controller; store the token itself in token".into(),
        "client-certificate" | "client-key" | "certificate-authority" => {
            format!("reads a file of the controller; store its content in {key}-data")
        }
        "as" | "as-uid" | "as-groups" | "as-user-extra" => {
            "asks for impersonation, which a stored kubeconfig may not".into()
        }
        _ => format!(
            "is not allowed in a stored kubeconfig, which may hold only inline credentials \
             ({ALLOWED_CREDENTIALS})"
        ),
    }
}

/// Refuses every key of `map` not in `allowed` (keys whose value is null count as absent).
fn only(map: &Map<String, Value>, allowed: &[&str], path: &str) -> Result<(), UnsafeKubeconfig> {
    // Known dangerous fields are named first, whatever the order of the keys.
    let mut refused: Vec<&String> = map
        .iter()
        .filter(|(k, v)| !v.is_null() && !allowed.contains(&k.as_str()))
        .map(|(k, _)| k)
        .collect();
    refused.sort_by_key(|k| (problem_of(k).starts_with("is not allowed"), k.as_str()));
    match refused.first() {
        None => Ok(()),
        Some(k) => Err(UnsafeKubeconfig {
            field: if path.is_empty() {
                (*k).clone()
            } else {
                format!("{path}.{k}")
            },
            problem: problem_of(k),
        }),
    }
}

fn object<'a>(
    v: &'a Value,
    path: &str,
) -> Result<Option<&'a Map<String, Value>>, UnsafeKubeconfig> {
    match v {
        Value::Null => Ok(None),
        Value::Object(m) => Ok(Some(m)),
        _ => Err(UnsafeKubeconfig {
            field: path.to_owned(),
            problem: "is not a mapping".into(),
        }),
    }
}

/// Checks the entries of a named list (`clusters`, `contexts`, `users`): each may hold its
/// name and `inner`, and `inner` only the keys of `allowed`.
fn named_list(
    top: &Map<String, Value>,
    list: &str,
    inner: &str,
    allowed: &[&str],
) -> Result<(), UnsafeKubeconfig> {
    let Some(entries) = top.get(list).and_then(Value::as_array) else {
        return Ok(());
    };
    for (i, entry) in entries.iter().enumerate() {
        let path = format!("{list}[{i}]");
        let Some(entry) = object(entry, &path)? else {
            continue;
        };
        let mut keys: Vec<&str> = NAMED.to_vec();
        keys.push(inner);
        only(entry, &keys, &path)?;
        let inner_path = format!("{path}.{inner}");
        if let Some(v) = entry.get(inner)
            && let Some(m) = object(v, &inner_path)?
        {
            only(m, allowed, &inner_path)?;
        }
    }
    Ok(())
}

/// Checks that a kubeconfig read from a Secret holds only inline credentials: no `exec` or
/// `auth-provider` (they run programs), no `tokenFile`, `client-certificate`, `client-key` or
/// `certificate-authority` (they read files of the process that loads them), no impersonation
/// and no field this check does not know. The error names the first field refused, as a path
/// (`users[0].user.exec`); it never holds a value of the kubeconfig.
///
/// Check the kubeconfig before any `kube::Config` is built from it: building one is what runs
/// the plugins and reads the files.
pub fn check_stored_kubeconfig(kubeconfig: &Kubeconfig) -> Result<(), UnsafeKubeconfig> {
    let value = serde_json::to_value(kubeconfig).map_err(|_| UnsafeKubeconfig {
        field: "kubeconfig".into(),
        problem: "cannot be inspected".into(),
    })?;
    let Some(top) = object(&value, "kubeconfig")? else {
        return Ok(());
    };
    only(top, TOP, "")?;
    if let Some(p) = top.get("preferences")
        && let Some(m) = object(p, "preferences")?
    {
        only(m, PREFERENCES, "preferences")?;
    }
    named_list(top, "clusters", "cluster", CLUSTER)?;
    named_list(top, "contexts", "context", CONTEXT)?;
    named_list(top, "users", "user", USER)?;
    Ok(())
}

/// Checks the size of a kubeconfig read from a Secret (at most
/// [`MAX_STORED_KUBECONFIG_BYTES`]).
pub fn check_stored_kubeconfig_size(kubeconfig: &str) -> Result<(), UnsafeKubeconfig> {
    if kubeconfig.len() > MAX_STORED_KUBECONFIG_BYTES {
        return Err(UnsafeKubeconfig {
            field: "kubeconfig".into(),
            problem: format!(
                "is {} bytes, more than the {MAX_STORED_KUBECONFIG_BYTES} a stored kubeconfig may have",
                kubeconfig.len()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAFE: &str = "apiVersion: v1
kind: Config
preferences: {}
clusters:
- name: member
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: Y2EK
    tls-server-name: member.example
contexts:
- name: member
  context: {cluster: member, user: fedsvc-member, namespace: default}
current-context: member
users:
- name: fedsvc-member
  user:
    token: abc.def.ghi
- name: cert
  user:
    client-certificate-data: Y2VydAo=
    client-key-data: a2V5Cg==
- name: basic
  user: {username: u, password: p}
";

    fn check(yaml: &str) -> Result<(), UnsafeKubeconfig> {
        check_stored_kubeconfig(&Kubeconfig::from_yaml(yaml).expect("a kubeconfig"))
    }

    /// `SAFE` with `line` added to the first user (indented under `user:`).
    fn with_user_field(line: &str) -> String {
        SAFE.replacen(
            "    token: abc.def.ghi\n",
            &format!("    token: abc.def.ghi\n    {line}\n"),
            1,
        )
    }

    #[test]
    fn inline_credentials_are_accepted() {
        check(SAFE).unwrap();
        check(&SAFE.replace(
            "    tls-server-name: member.example\n",
            "    insecure-skip-tls-verify: true\n",
        ))
        .unwrap();
    }

    #[test]
    fn an_exec_plugin_is_refused() {
        let e = check(&with_user_field(
            "exec: {apiVersion: client.authentication.k8s.io/v1, command: /bin/touch, args: [/tmp/x]}",
        ))
        .unwrap_err();
        assert_eq!(e.field, "users[0].user.exec");
        assert!(e.to_string().contains("runs a program"), "{e}");
        assert!(!e.to_string().contains("/bin/touch"), "{e}");
    }

    #[test]
    fn an_auth_provider_is_refused() {
        let e = check(&with_user_field(
            "auth-provider: {name: gcp, config: {cmd-path: /bin/sh}}",
        ))
        .unwrap_err();
        assert_eq!(e.field, "users[0].user.auth-provider");
        assert!(
            e.to_string().contains("runs an authentication provider"),
            "{e}"
        );
    }

    #[test]
    fn file_references_are_refused() {
        for (line, field, hint) in [
            (
                "tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token",
                "users[0].user.tokenFile",
                "token",
            ),
            (
                "client-certificate: /etc/ssl/cert.pem",
                "users[0].user.client-certificate",
                "client-certificate-data",
            ),
            (
                "client-key: /etc/ssl/key.pem",
                "users[0].user.client-key",
                "client-key-data",
            ),
        ] {
            let e = check(&with_user_field(line)).unwrap_err();
            assert_eq!(e.field, field);
            let text = e.to_string();
            assert!(
                text.contains("reads a file") && text.contains(hint),
                "{text}"
            );
            assert!(!text.contains("/etc/") && !text.contains("/var/"), "{text}");
        }
        let e = check(&SAFE.replace(
            "    certificate-authority-data: Y2EK\n",
            "    certificate-authority: /etc/kubernetes/ca.crt\n",
        ))
        .unwrap_err();
        assert_eq!(e.field, "clusters[0].cluster.certificate-authority");
        assert!(e.to_string().contains("certificate-authority-data"), "{e}");
    }

    #[test]
    fn impersonation_and_unknown_fields_are_refused() {
        let e = check(&with_user_field("as: system:admin")).unwrap_err();
        assert_eq!(e.field, "users[0].user.as");
        let e = check(&with_user_field("someFutureCredentialSource: /x")).unwrap_err();
        assert_eq!(e.field, "users[0].user.someFutureCredentialSource");
        assert!(e.to_string().contains("only inline credentials"), "{e}");
        let e = check(&SAFE.replace(
            "    server: https://10.0.0.1:6443\n",
            "    server: https://10.0.0.1:6443\n    newFileRef: /x\n",
        ))
        .unwrap_err();
        assert_eq!(e.field, "clusters[0].cluster.newFileRef");
        let e = check(&format!("{SAFE}unknownTop: 1\n")).unwrap_err();
        assert_eq!(e.field, "unknownTop");
    }

    #[test]
    fn the_dangerous_field_is_named_before_unknown_ones() {
        let e = check(&with_user_field("aaa: 1\n    exec: {command: x}")).unwrap_err();
        assert_eq!(e.field, "users[0].user.exec");
    }

    #[test]
    fn a_later_user_is_named_by_its_index() {
        let e = check(&SAFE.replace(
            "  user: {username: u, password: p}\n",
            "  user: {username: u, password: p, tokenFile: /t}\n",
        ))
        .unwrap_err();
        assert_eq!(e.field, "users[2].user.tokenFile");
    }

    #[test]
    fn a_kubeconfig_over_a_mebibyte_is_refused() {
        check_stored_kubeconfig_size(SAFE).unwrap();
        let big = format!("{SAFE}# {}\n", "x".repeat(MAX_STORED_KUBECONFIG_BYTES));
        let e = check_stored_kubeconfig_size(&big).unwrap_err();
        assert_eq!(e.field, "kubeconfig");
        assert!(e.to_string().contains("more than the 1048576"), "{e}");
    }
}
