//! The ConfigMaps and Secrets a federated Deployment's pod template references (env, envFrom,
//! volumes, projected volumes, imagePullSecrets): copied to every member that runs a copy of
//! it before the copy itself, kept in step, and deleted from a member once no copy there
//! needs them.

use std::collections::BTreeSet;

use fedsvc_cluster::{ConfigKind, ConfigObject, ObjectKey, template_dependencies};
use fedsvc_model::Label;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::{Resource, ResourceExt};

use super::{Context, division, event, has_copy};
use crate::events::EventType;
use crate::members::MemberView;

/// What `dep`'s pod template references, by kind and key.
pub(super) fn of(dep: &Deployment) -> Vec<(ConfigKind, ObjectKey)> {
    let ns = dep.namespace().unwrap_or_default();
    let Some(spec) = &dep.spec else {
        return Vec::new();
    };
    template_dependencies(&spec.template)
        .into_iter()
        .filter_map(|(kind, name)| ObjectKey::parse(&ns, &name).ok().map(|k| (kind, k)))
        .collect()
}

/// Reads one dependency from the federation API (`None`: it does not exist).
async fn read(
    ctx: &Context,
    kind: ConfigKind,
    key: &ObjectKey,
) -> Result<Option<ConfigObject>, kube::Error> {
    Ok(match kind {
        ConfigKind::ConfigMap => Api::<ConfigMap>::namespaced(ctx.host.clone(), key.namespace())
            .get_opt(key.name())
            .await?
            .map(ConfigObject::ConfigMap),
        ConfigKind::Secret => Api::<Secret>::namespaced(ctx.host.clone(), key.namespace())
            .get_opt(key.name())
            .await?
            .map(ConfigObject::Secret),
    })
}

fn kind_name(kind: ConfigKind) -> &'static str {
    match kind {
        ConfigKind::ConfigMap => "ConfigMap",
        ConfigKind::Secret => "Secret",
    }
}

/// Copies `dep`'s dependencies to member `m`, as they are on the federation API now. One that
/// does not exist there is reported with an Event and skipped (a reference may be optional).
pub(super) async fn ensure(
    ctx: &Context,
    dep: &Deployment,
    m: &MemberView,
    federation: &Label,
) -> Result<(), String> {
    for (kind, key) in of(dep) {
        let object = match read(ctx, kind, &key).await {
            Ok(Some(o)) => o,
            Ok(None) => {
                event(
                    ctx,
                    dep,
                    EventType::Warning,
                    "MissingDependency",
                    format!(
                        "{} {key} referenced by the pod template is not on the federation API; it is not copied to the members",
                        kind_name(kind)
                    ),
                )
                .await;
                continue;
            }
            Err(e) => return Err(format!("reading {} {key}: {e}", kind_name(kind))),
        };
        match ctx
            .shared
            .leader
            .fenced(m.member.ensure_config(&object, federation))
            .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("cluster {}: {e}", m.name)),
            Err(fenced) => return Err(format!("cluster {}: {fenced}", m.name)),
        }
    }
    Ok(())
}

/// Deletes from member `m` the dependencies fedsvc copied there that no federated Deployment
/// with a copy in `m` references any more.
pub(super) async fn collect(
    ctx: &Context,
    m: &MemberView,
    federation: &Label,
) -> Result<(), String> {
    let members = ctx.clusters.members();
    let needed: BTreeSet<(ConfigKind, ObjectKey)> = ctx
        .store
        .state()
        .iter()
        .filter(|d| d.meta().deletion_timestamp.is_none())
        .filter(|d| ctx.filter.accepts(&d.namespace().unwrap_or_default()))
        // A deployment whose division cannot be read keeps what it references.
        .filter(|d| division(d, &members).map_or(true, |div| has_copy(&div, &m.name)))
        .flat_map(|d| of(d))
        .collect();
    let managed = m
        .member
        .list_managed_configs(federation)
        .await
        .map_err(|e| format!("cluster {}: {e}", m.name))?;
    for (kind, key) in managed {
        if needed.contains(&(kind, key.clone())) {
            continue;
        }
        match ctx
            .shared
            .leader
            .fenced(m.member.delete_config(kind, key.namespace(), key.name()))
            .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("cluster {}: {e}", m.name)),
            Err(fenced) => return Err(format!("cluster {}: {fenced}", m.name)),
        }
    }
    Ok(())
}
