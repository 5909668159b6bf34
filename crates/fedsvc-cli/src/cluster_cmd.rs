//! `fedsvc join`, `fedsvc unjoin` and `fedsvc clusters`: registering member clusters.
//!
//! `join` never stores the user's own credentials: it creates, in the member, a dedicated
//! ServiceAccount with the least privilege the controller needs, requests a token for it, and
//! stores a kubeconfig with that token in a Secret on the federation API, referenced by the
//! `Cluster` object.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use fedsvc_cluster::{Cluster, ClusterSpec, SecretRef};
use k8s_openapi::ByteString;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::{ClustersArgs, JoinArgs, UnjoinArgs};

/// The namespace, in the member and on the federation API, of what `join` creates.
pub(crate) const SYSTEM_NAMESPACE: &str = "fedsvc-system";
/// The member ServiceAccount (and ClusterRole, ClusterRoleBinding) `join` creates.
pub(crate) const MEMBER_ACCOUNT: &str = "fedsvc-member";
/// How long the requested member token is valid (one year; `join` again to rotate it).
pub(crate) const TOKEN_SECONDS: i64 = 365 * 24 * 3600;

fn load_kubeconfig(path: Option<&Path>) -> anyhow::Result<Kubeconfig> {
    match path {
        Some(p) => Kubeconfig::read_from(p)
            .with_context(|| format!("cannot read kubeconfig {}", p.display())),
        None => {
            Kubeconfig::read().context("cannot read the kubeconfig (KUBECONFIG or ~/.kube/config)")
        }
    }
}

fn check_context(kc: &Kubeconfig, ctx: &str) -> anyhow::Result<()> {
    if kc.contexts.iter().any(|c| c.name == ctx) {
        return Ok(());
    }
    let known: Vec<&str> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
    bail!(
        "context {ctx:?} is not in the kubeconfig (contexts: {})",
        known.join(", ")
    )
}

async fn client(kc: &Kubeconfig, ctx: Option<&str>) -> anyhow::Result<kube::Client> {
    if let Some(c) = ctx {
        check_context(kc, c)?;
    }
    let opts = KubeConfigOptions {
        context: ctx.map(str::to_owned),
        ..Default::default()
    };
    let cfg = kube::Config::from_custom_kubeconfig(kc.clone(), &opts)
        .await
        .with_context(|| format!("context {}", ctx.unwrap_or("(current)")))?;
    Ok(kube::Client::try_from(cfg)?)
}

fn explain(e: kube::Error, what: &str, ctx: &str) -> anyhow::Error {
    match &e {
        kube::Error::Api(s) if s.code == 403 => anyhow!(
            "missing permissions: context {ctx} may not {what} ({}); joining needs cluster-admin in the member and the right to create Secrets and Clusters on the federation API",
            s.message
        ),
        kube::Error::Api(s) if s.code == 401 => {
            anyhow!(
                "context {ctx} was not accepted by its API server (401 Unauthorized) while trying to {what}"
            )
        }
        _ => anyhow!("cannot {what} with context {ctx}: {e}"),
    }
}

fn ssa() -> PatchParams {
    PatchParams::apply("fedsvc").force()
}

fn meta(name: &str, namespace: Option<&str>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(BTreeMap::from([(
            "app.kubernetes.io/managed-by".to_owned(),
            "fedsvc".to_owned(),
        )])),
        ..Default::default()
    }
}

/// The least privilege the controller needs in a member: exactly the verbs its member client
/// uses (`crates/fedsvc-cli/tests/join.rs` records them against the API emulator and
/// compares).
///
/// A ClusterRole, bound cluster-wide: the namespaces of the federation's services and
/// Deployments are not known when a member joins (they are those of objects created later on
/// the federation API), and the member client creates a copy's namespace when it is missing,
/// so no set of namespaced Roles could be made in advance. RBAC cannot narrow a rule by label,
/// so the role lets the account read every ConfigMap and Secret of the member; the member
/// client itself lists only, and deletes only, objects labelled
/// `app.kubernetes.io/managed-by: fedsvc`, and reads a Secret's data only to compare it with
/// the copy it is about to apply.
///
/// `join` applies the role with a forced server-side apply, and `rules` is an atomic list: run
/// again on a member joined by an older version, it replaces the old rules with these.
fn member_role() -> ClusterRole {
    let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| PolicyRule {
        api_groups: Some(groups.iter().map(|s| (*s).to_owned()).collect()),
        resources: Some(resources.iter().map(|s| (*s).to_owned()).collect()),
        verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    };
    ClusterRole {
        metadata: meta(MEMBER_ACCOUNT, None),
        rules: Some(vec![
            // Server-side apply (patch; create when the copy is new), reads before adopting,
            // deletion, and the shard watch.
            rule(
                &[""],
                &["services"],
                &["get", "list", "watch", "create", "patch", "delete"],
            ),
            // The namespace of a service or Deployment, made when it is missing.
            rule(&[""], &["namespaces"], &["get", "create"]),
            // Locality: the zone and region labels of the nodes.
            rule(&[""], &["nodes"], &["list"]),
            // The shard watch: ready endpoints.
            rule(
                &["discovery.k8s.io"],
                &["endpointslices"],
                &["list", "watch"],
            ),
            // Copies of federated Deployments: server-side apply (patch; create when new), a
            // read before each, deletion, and the watch of their replica counts.
            rule(
                &["apps"],
                &["deployments"],
                &["get", "list", "watch", "create", "patch", "delete"],
            ),
            // The ConfigMaps and Secrets a federated Deployment's pods reference: applied,
            // read before each apply (metadata only before a deletion), listed by label
            // (metadata only) to find those no longer needed, and deleted. Never watched.
            rule(
                &[""],
                &["configmaps", "secrets"],
                &["get", "list", "create", "patch", "delete"],
            ),
        ]),
        ..Default::default()
    }
}

async fn member_token(member: &kube::Client, ctx: &str) -> anyhow::Result<String> {
    let sas: Api<ServiceAccount> = Api::namespaced(member.clone(), SYSTEM_NAMESPACE);
    let req = TokenRequest {
        metadata: ObjectMeta::default(),
        spec: TokenRequestSpec {
            audiences: Vec::new(),
            expiration_seconds: Some(TOKEN_SECONDS),
            bound_object_ref: None,
        },
        status: None,
    };
    match sas
        .create_subresource::<TokenRequest, TokenRequest>(
            "token",
            MEMBER_ACCOUNT,
            &PostParams::default(),
            &req,
        )
        .await
    {
        Ok(t) => t
            .status
            .map(|s| s.token)
            .filter(|t| !t.is_empty())
            .context("the member returned an empty token"),
        Err(e) => Err(explain(
            e,
            "request a token for the fedsvc-member ServiceAccount",
            ctx,
        )),
    }
}

/// The kubeconfig `join` stores for the controller: one cluster, one user with the member
/// account's token, one context; serialized, never assembled as text, so no value can add a
/// field of its own.
#[derive(Debug, serde::Serialize)]
struct StoredKubeconfig {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    clusters: Vec<StoredNamedCluster>,
    contexts: Vec<StoredNamedContext>,
    #[serde(rename = "current-context")]
    current_context: &'static str,
    users: Vec<StoredNamedUser>,
}

#[derive(Debug, serde::Serialize)]
struct StoredNamedCluster {
    name: &'static str,
    cluster: StoredCluster,
}

#[derive(Debug, serde::Serialize)]
struct StoredCluster {
    server: String,
    #[serde(
        rename = "certificate-authority-data",
        skip_serializing_if = "Option::is_none"
    )]
    certificate_authority_data: Option<String>,
    #[serde(
        rename = "insecure-skip-tls-verify",
        skip_serializing_if = "std::ops::Not::not"
    )]
    insecure_skip_tls_verify: bool,
    #[serde(rename = "tls-server-name", skip_serializing_if = "Option::is_none")]
    tls_server_name: Option<String>,
}

#[derive(Debug, serde::Serialize)]
struct StoredNamedContext {
    name: &'static str,
    context: StoredContext,
}

#[derive(Debug, serde::Serialize)]
struct StoredContext {
    cluster: &'static str,
    user: &'static str,
}

#[derive(Debug, serde::Serialize)]
struct StoredNamedUser {
    name: &'static str,
    user: StoredUser,
}

#[derive(Debug, serde::Serialize)]
struct StoredUser {
    token: String,
}

/// The kubeconfig to store for the member reached with context `ctx` of `kc`: its server (or
/// `server`), its CA, and `token`. A context that skips TLS verification is refused unless
/// `insecure` (`--insecure-skip-tls-verify`), which copies the setting with a warning on
/// `warn`.
fn member_kubeconfig(
    kc: &Kubeconfig,
    ctx: &str,
    server: Option<&str>,
    token: &str,
    insecure: bool,
    warn: &mut dyn Write,
) -> anyhow::Result<String> {
    let cluster = member_cluster(kc, ctx)?;
    let url = server
        .map(str::to_owned)
        .or(cluster.server.clone())
        .with_context(|| format!("the cluster of context {ctx} has no server address"))?;
    let ca = match (
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
    ) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(path)) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read the member's CA {path}"))?;
            Some(data_encoding::BASE64.encode(&pem))
        }
        (None, None) => None,
    };
    let skip_verify = check_insecure(&cluster, ctx, insecure)?;
    if skip_verify {
        writeln!(
            warn,
            "warning: context {ctx} skips TLS verification (insecure-skip-tls-verify); the stored kubeconfig does too, so the controller will not verify the member's certificate and anyone in the path can take its place"
        )?;
    }
    let stored = StoredKubeconfig {
        api_version: "v1",
        kind: "Config",
        clusters: vec![StoredNamedCluster {
            name: "member",
            cluster: StoredCluster {
                server: url,
                certificate_authority_data: ca,
                insecure_skip_tls_verify: skip_verify,
                tls_server_name: cluster.tls_server_name.clone(),
            },
        }],
        contexts: vec![StoredNamedContext {
            name: "member",
            context: StoredContext {
                cluster: "member",
                user: MEMBER_ACCOUNT,
            },
        }],
        current_context: "member",
        users: vec![StoredNamedUser {
            name: MEMBER_ACCOUNT,
            user: StoredUser {
                token: token.to_owned(),
            },
        }],
    };
    serde_saphyr::to_string(&stored).context("cannot write the member's kubeconfig")
}

/// The cluster entry of context `ctx`.
fn member_cluster(kc: &Kubeconfig, ctx: &str) -> anyhow::Result<kube::config::Cluster> {
    let context = kc
        .contexts
        .iter()
        .find(|c| c.name == ctx)
        .and_then(|c| c.context.as_ref())
        .with_context(|| format!("context {ctx} names no cluster"))?;
    kc.clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.clone())
        .with_context(|| {
            format!(
                "cluster {} of context {ctx} is not in the kubeconfig",
                context.cluster
            )
        })
}

/// Whether the stored kubeconfig skips TLS verification: only when the member's context does
/// and `--insecure-skip-tls-verify` says so; a context that does without the flag is refused.
fn check_insecure(
    cluster: &kube::config::Cluster,
    ctx: &str,
    insecure: bool,
) -> anyhow::Result<bool> {
    match (cluster.insecure_skip_tls_verify == Some(true), insecure) {
        (true, false) => bail!(
            "context {ctx} skips TLS verification (insecure-skip-tls-verify: true in the kubeconfig); fedsvc join does not store that for the controller unless you pass --insecure-skip-tls-verify: give the member's CA (certificate-authority-data) instead, or pass the flag to accept that the controller will not verify the member's certificate"
        ),
        (skip, _) => Ok(skip),
    }
}

pub(crate) async fn join(args: &JoinArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let name = fedsvc_model::ClusterName::parse(&args.name)
        .with_context(|| format!("cluster name {:?}", args.name))?;
    let kc = load_kubeconfig(args.kubeconfig.as_deref())?;
    let member = client(&kc, Some(&args.cluster_context)).await?;
    let host = client(&kc, args.host_context.as_deref()).await?;
    let ctx = args.cluster_context.as_str();
    // Before anything is created in the member: a context that skips TLS verification needs
    // the flag.
    check_insecure(
        &member_cluster(&kc, ctx)?,
        ctx,
        args.insecure_skip_tls_verify,
    )?;
    let host_ctx = args.host_context.as_deref().unwrap_or("(current)");
    member
        .apiserver_version()
        .await
        .map_err(|e| anyhow!("member context {ctx} cannot be reached: {e}"))?;

    let ns_api: Api<Namespace> = Api::all(member.clone());
    let ns = Namespace {
        metadata: meta(SYSTEM_NAMESPACE, None),
        ..Default::default()
    };
    ns_api
        .patch(SYSTEM_NAMESPACE, &ssa(), &Patch::Apply(&ns))
        .await
        .map_err(|e| explain(e, "create namespace fedsvc-system", ctx))?;
    let sa = ServiceAccount {
        metadata: meta(MEMBER_ACCOUNT, Some(SYSTEM_NAMESPACE)),
        ..Default::default()
    };
    Api::<ServiceAccount>::namespaced(member.clone(), SYSTEM_NAMESPACE)
        .patch(MEMBER_ACCOUNT, &ssa(), &Patch::Apply(&sa))
        .await
        .map_err(|e| explain(e, "create the fedsvc-member ServiceAccount", ctx))?;
    Api::<ClusterRole>::all(member.clone())
        .patch(MEMBER_ACCOUNT, &ssa(), &Patch::Apply(&member_role()))
        .await
        .map_err(|e| explain(e, "create the fedsvc-member ClusterRole", ctx))?;
    let binding = ClusterRoleBinding {
        metadata: meta(MEMBER_ACCOUNT, None),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "ClusterRole".into(),
            name: MEMBER_ACCOUNT.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: MEMBER_ACCOUNT.into(),
            namespace: Some(SYSTEM_NAMESPACE.into()),
            ..Default::default()
        }]),
    };
    Api::<ClusterRoleBinding>::all(member.clone())
        .patch(MEMBER_ACCOUNT, &ssa(), &Patch::Apply(&binding))
        .await
        .map_err(|e| explain(e, "create the fedsvc-member ClusterRoleBinding", ctx))?;
    let token = member_token(&member, ctx).await?;
    let kubeconfig = member_kubeconfig(
        &kc,
        ctx,
        args.member_server.as_deref(),
        &token,
        args.insecure_skip_tls_verify,
        &mut std::io::stderr(),
    )?;
    // What the controller will accept: inline credentials only.
    let stored = Kubeconfig::from_yaml(&kubeconfig).context("the kubeconfig to store")?;
    fedsvc_cluster::check_stored_kubeconfig(&stored)
        .map_err(|e| anyhow!("the kubeconfig to store is not usable by the controller: {e}"))?;

    let secret_name = format!("{name}-kubeconfig");
    let host_ns: Api<Namespace> = Api::all(host.clone());
    host_ns
        .patch(
            SYSTEM_NAMESPACE,
            &ssa(),
            &Patch::Apply(&Namespace {
                metadata: meta(SYSTEM_NAMESPACE, None),
                ..Default::default()
            }),
        )
        .await
        .map_err(|e| {
            explain(
                e,
                "create namespace fedsvc-system on the federation API",
                host_ctx,
            )
        })?;
    let secret = Secret {
        metadata: meta(&secret_name, Some(SYSTEM_NAMESPACE)),
        data: Some(BTreeMap::from([(
            "kubeconfig".to_owned(),
            ByteString(kubeconfig.into_bytes()),
        )])),
        type_: Some("Opaque".into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(host.clone(), SYSTEM_NAMESPACE)
        .patch(&secret_name, &ssa(), &Patch::Apply(&secret))
        .await
        .map_err(|e| explain(e, "store the member kubeconfig Secret", host_ctx))?;
    let mut cluster = Cluster::new(
        name.as_str(),
        ClusterSpec {
            secret_ref: SecretRef {
                name: secret_name.clone(),
                namespace: Some(SYSTEM_NAMESPACE.into()),
                key: "kubeconfig".into(),
            },
            zones: (!args.zones.is_empty()).then(|| args.zones.clone()),
            region: args.region.clone(),
        },
    );
    let mut labels = BTreeMap::new();
    for l in &args.labels {
        let (k, v) = l
            .split_once('=')
            .with_context(|| format!("--label {l:?}: expected KEY=VALUE"))?;
        labels.insert(k.to_owned(), v.to_owned());
    }
    if !labels.is_empty() {
        cluster.metadata.labels = Some(labels);
    }
    Api::<Cluster>::all(host.clone())
        .patch(name.as_str(), &ssa(), &Patch::Apply(&cluster))
        .await
        .map_err(|e| explain(e, "create the Cluster object (is the fedsvc CRD installed? kubectl apply -f deploy/crds/)", host_ctx))?;
    writeln!(
        out,
        "cluster {name} joined: ServiceAccount {SYSTEM_NAMESPACE}/{MEMBER_ACCOUNT} in the member, kubeconfig in Secret {SYSTEM_NAMESPACE}/{secret_name}"
    )?;
    Ok(0)
}

pub(crate) async fn unjoin(args: &UnjoinArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let kc = load_kubeconfig(args.kubeconfig.as_deref())?;
    let host = client(&kc, args.host_context.as_deref()).await?;
    let host_ctx = args.host_context.as_deref().unwrap_or("(current)");
    let clusters: Api<Cluster> = Api::all(host.clone());
    let existing = clusters
        .get_opt(&args.name)
        .await
        .map_err(|e| explain(e, "read Cluster objects", host_ctx))?
        .with_context(|| format!("cluster {} is not joined", args.name))?;
    let dp = DeleteParams::default();
    clusters
        .delete(&args.name, &dp)
        .await
        .map_err(|e| explain(e, "delete the Cluster object", host_ctx))?;
    let r = &existing.spec.secret_ref;
    let secret_ns = r
        .namespace
        .clone()
        .unwrap_or_else(|| SYSTEM_NAMESPACE.into());
    match Api::<Secret>::namespaced(host.clone(), &secret_ns)
        .delete(&r.name, &dp)
        .await
    {
        Ok(_) | Err(kube::Error::Api(_)) => {}
        Err(e) => return Err(explain(e, "delete the member kubeconfig Secret", host_ctx)),
    }
    writeln!(out, "cluster {} unjoined from the federation", args.name)?;
    if let Some(ctx) = &args.cluster_context {
        let member = client(&kc, Some(ctx)).await?;
        let ignore_missing = |r: Result<(), kube::Error>| match r {
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            other => other,
        };
        ignore_missing(
            Api::<ClusterRoleBinding>::all(member.clone())
                .delete(MEMBER_ACCOUNT, &dp)
                .await
                .map(|_| ()),
        )
        .map_err(|e| explain(e, "delete the fedsvc-member ClusterRoleBinding", ctx))?;
        ignore_missing(
            Api::<ClusterRole>::all(member.clone())
                .delete(MEMBER_ACCOUNT, &dp)
                .await
                .map(|_| ()),
        )
        .map_err(|e| explain(e, "delete the fedsvc-member ClusterRole", ctx))?;
        ignore_missing(
            Api::<ServiceAccount>::namespaced(member.clone(), SYSTEM_NAMESPACE)
                .delete(MEMBER_ACCOUNT, &dp)
                .await
                .map(|_| ()),
        )
        .map_err(|e| explain(e, "delete the fedsvc-member ServiceAccount", ctx))?;
        writeln!(
            out,
            "removed the fedsvc-member ServiceAccount and its RBAC from context {ctx}"
        )?;
    }
    Ok(0)
}

pub(crate) async fn clusters(args: &ClustersArgs, out: &mut dyn Write) -> anyhow::Result<u8> {
    let kc = load_kubeconfig(args.kubeconfig.as_deref())?;
    let host = client(&kc, args.host_context.as_deref()).await?;
    let list = Api::<Cluster>::all(host)
        .list(&Default::default())
        .await
        .map_err(|e| {
            explain(
                e,
                "list Cluster objects",
                args.host_context.as_deref().unwrap_or("(current)"),
            )
        })?;
    let rows: Vec<[String; 5]> = list
        .items
        .iter()
        .map(|c| {
            let status = c.status.clone().unwrap_or_default();
            let ready = status.condition("Ready");
            [
                c.metadata.name.clone().unwrap_or_default(),
                ready.map_or("Unknown".into(), |r| r.status.clone()),
                status.zones.join(","),
                status.region.clone().unwrap_or_default(),
                ready.and_then(|r| r.message.clone()).unwrap_or_default(),
            ]
        })
        .collect();
    let header = ["NAME", "READY", "ZONES", "REGION", "MESSAGE"].map(String::from);
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        writeln!(out, "{}", line.join("  ").trim_end())?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(cluster_fields: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(&format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\n{cluster_fields}contexts:\n- name: member-a\n  context: {{cluster: c, user: admin}}\nusers:\n- name: admin\n  user: {{token: admin-token}}\n"
        ))
        .unwrap()
    }

    #[test]
    fn values_cannot_add_fields_to_the_stored_kubeconfig() {
        let kc = source("    certificate-authority-data: Y2EK\n");
        let token = "t0k\n    exec: {command: /bin/sh}\n  evil: \"x\"";
        let server = "https://10.0.0.2:6443\n    insecure-skip-tls-verify: true";
        let mut warn = Vec::new();
        let text =
            member_kubeconfig(&kc, "member-a", Some(server), token, false, &mut warn).unwrap();
        let stored = Kubeconfig::from_yaml(&text).unwrap();
        fedsvc_cluster::check_stored_kubeconfig(&stored).unwrap();
        let cluster = stored.clusters[0].cluster.as_ref().unwrap();
        assert_eq!(cluster.server.as_deref(), Some(server));
        assert_eq!(cluster.insecure_skip_tls_verify, None, "{text}");
        assert_eq!(cluster.certificate_authority_data.as_deref(), Some("Y2EK"));
        let user = stored.auth_infos[0].auth_info.as_ref().unwrap();
        assert!(user.exec.is_none(), "{text}");
        assert_eq!(
            serde_json::to_value(user).unwrap()["token"],
            token,
            "the token is stored as given"
        );
        assert_eq!(stored.current_context.as_deref(), Some("member"));
        assert!(warn.is_empty());
    }

    #[test]
    fn insecure_skip_tls_verify_is_copied_only_with_the_flag() {
        let kc = source("    insecure-skip-tls-verify: true\n");
        let mut warn = Vec::new();
        let e = member_kubeconfig(&kc, "member-a", None, "t", false, &mut warn)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--insecure-skip-tls-verify") && e.contains("context member-a"),
            "{e}"
        );
        let text = member_kubeconfig(&kc, "member-a", None, "t", true, &mut warn).unwrap();
        let stored = Kubeconfig::from_yaml(&text).unwrap();
        assert_eq!(
            stored.clusters[0]
                .cluster
                .as_ref()
                .unwrap()
                .insecure_skip_tls_verify,
            Some(true)
        );
        let warning = String::from_utf8(warn).unwrap();
        assert!(
            warning.starts_with("warning:") && warning.contains("member-a"),
            "{warning}"
        );
        // A context that verifies stays verifying, flag or not.
        let kc = source("");
        let mut warn = Vec::new();
        let text = member_kubeconfig(&kc, "member-a", None, "t", true, &mut warn).unwrap();
        assert!(!text.contains("insecure"), "{text}");
        assert!(warn.is_empty());
    }
}
