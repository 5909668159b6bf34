//! The kinds of object the emulator serves: built-in resources and those defined by CRDs.

use serde_json::Value;

/// A printer column, as in a CRD's `additionalPrinterColumns`.
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) type_: String,
    pub(crate) json_path: String,
    pub(crate) description: String,
    pub(crate) priority: i64,
}

impl Column {
    fn new(name: &str, type_: &str, json_path: &str) -> Self {
        Self {
            name: name.to_owned(),
            type_: type_.to_owned(),
            json_path: json_path.to_owned(),
            description: String::new(),
            priority: 0,
        }
    }
}

/// How rows of a resource's Table are printed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Printer {
    /// `Name` followed by the JSONPath columns (then `Age` unless a column is a date).
    Columns,
    /// The fixed columns of `kubectl get services`.
    Service,
    /// Columns computed from the whole object (`kubectl get pods`: `1/1`, `Running`, …).
    Custom(&'static crate::table::Custom),
}

/// One resource (group, version, plural) the emulator serves.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    pub(crate) group: String,
    pub(crate) version: String,
    pub(crate) plural: String,
    pub(crate) singular: String,
    pub(crate) kind: String,
    pub(crate) namespaced: bool,
    pub(crate) short_names: Vec<String>,
    pub(crate) categories: Vec<String>,
    pub(crate) status: bool,
    pub(crate) columns: Vec<Column>,
    pub(crate) printer: Printer,
    /// Whether it has a `scale` subresource (`autoscaling/v1` Scale).
    pub(crate) scale: bool,
}

impl Resource {
    fn builtin(group: &str, version: &str, plural: &str, kind: &str, namespaced: bool) -> Self {
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            plural: plural.to_owned(),
            singular: kind.to_ascii_lowercase(),
            kind: kind.to_owned(),
            namespaced,
            short_names: Vec::new(),
            categories: Vec::new(),
            status: false,
            columns: Vec::new(),
            printer: Printer::Columns,
            scale: false,
        }
    }

    fn with_scale(mut self) -> Self {
        self.scale = true;
        self
    }

    fn printer(mut self, custom: &'static crate::table::Custom) -> Self {
        self.printer = Printer::Custom(custom);
        self
    }

    fn short(mut self, names: &[&str]) -> Self {
        self.short_names = names.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    fn with_status(mut self) -> Self {
        self.status = true;
        self
    }

    fn all(mut self) -> Self {
        self.categories = vec!["all".to_owned()];
        self
    }

    fn columns(mut self, columns: Vec<Column>) -> Self {
        self.columns = columns;
        self
    }

    /// `v1` or `group/version`.
    pub(crate) fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The store key of the resource: `group/plural` (versions share storage).
    pub(crate) fn key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    /// The `group` used in Status details (empty for the core group).
    pub(crate) fn qualified_plural(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The discovery entry (`APIResource`) of the resource and its status subresource.
    pub(crate) fn discovery(&self) -> Vec<Value> {
        let verbs = [
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ];
        let mut out = vec![serde_json::json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": verbs,
            "shortNames": self.short_names,
            "categories": self.categories,
            "storageVersionHash": "",
        })];
        if self.status {
            out.push(serde_json::json!({
                "name": format!("{}/status", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        if self.scale {
            out.push(serde_json::json!({
                "name": format!("{}/scale", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }));
        }
        out
    }
}

/// The column set shared by the built-in `clusters` resource and the generated CRD.
fn cluster_columns() -> Vec<Column> {
    vec![
        Column::new(
            "Ready",
            "string",
            ".status.conditions[?(@.type==\"Ready\")].status",
        ),
        Column::new("Zones", "string", ".status.zones"),
        Column::new("Region", "string", ".status.region"),
        Column::new("Age", "date", ".metadata.creationTimestamp"),
    ]
}

/// The resources served without any CRD.
pub(crate) fn builtins() -> Vec<Resource> {
    let core = |plural: &str, kind: &str, namespaced: bool| {
        Resource::builtin("", "v1", plural, kind, namespaced)
    };
    vec![
        core("namespaces", "Namespace", false)
            .short(&["ns"])
            .with_status()
            .columns(vec![Column::new("Status", "string", ".status.phase")]),
        core("services", "Service", true)
            .short(&["svc"])
            .with_status()
            .all()
            .columns(Vec::new())
            .service_printer(),
        core("endpoints", "Endpoints", true)
            .short(&["ep"])
            .printer(&crate::table::ENDPOINTS),
        core("pods", "Pod", true)
            .short(&["po"])
            .with_status()
            .all()
            .printer(&crate::table::POD),
        Resource::builtin("apps", "v1", "deployments", "Deployment", true)
            .short(&["deploy"])
            .with_status()
            .with_scale()
            .all()
            .printer(&crate::table::DEPLOYMENT),
        Resource::builtin("apps", "v1", "replicasets", "ReplicaSet", true)
            .short(&["rs"])
            .with_status()
            .with_scale()
            .all()
            .printer(&crate::table::REPLICA_SET),
        core("nodes", "Node", false).short(&["no"]).with_status(),
        core("secrets", "Secret", true).columns(vec![Column::new("Type", "string", ".type")]),
        core("serviceaccounts", "ServiceAccount", true).short(&["sa"]),
        core("configmaps", "ConfigMap", true).short(&["cm"]),
        core("events", "Event", true).short(&["ev"]),
        core("resourcequotas", "ResourceQuota", true)
            .short(&["quota"])
            .with_status(),
        core("limitranges", "LimitRange", true).short(&["limits"]),
        Resource::builtin(
            "discovery.k8s.io",
            "v1",
            "endpointslices",
            "EndpointSlice",
            true,
        )
        .columns(vec![Column::new("AddressType", "string", ".addressType")]),
        Resource::builtin(
            "policy",
            "v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            true,
        )
        .short(&["pdb"])
        .with_status(),
        Resource::builtin("coordination.k8s.io", "v1", "leases", "Lease", true).columns(vec![
            Column::new("Holder", "string", ".spec.holderIdentity"),
        ]),
        Resource::builtin("events.k8s.io", "v1", "events", "Event", true).short(&["ev"]),
        Resource::builtin("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
        Resource::builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "rolebindings",
            "RoleBinding",
            true,
        ),
        Resource::builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            "ClusterRole",
            false,
        ),
        Resource::builtin(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            false,
        ),
        Resource::builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
        )
        .short(&["crd", "crds"])
        .with_status(),
        Resource::builtin("fedsvc.io", "v1alpha1", "clusters", "Cluster", false)
            .with_status()
            .columns(cluster_columns()),
    ]
}

impl Resource {
    fn service_printer(mut self) -> Self {
        self.printer = Printer::Service;
        self
    }
}

/// The served resources a CRD object defines (one per served version).
pub(crate) fn from_crd(crd: &Value) -> Vec<Resource> {
    let spec = &crd["spec"];
    let (Some(group), Some(plural), Some(kind)) = (
        spec["group"].as_str(),
        spec["names"]["plural"].as_str(),
        spec["names"]["kind"].as_str(),
    ) else {
        return Vec::new();
    };
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for version in spec["versions"].as_array().into_iter().flatten() {
        if version["served"] == Value::Bool(false) {
            continue;
        }
        let Some(name) = version["name"].as_str() else {
            continue;
        };
        let columns = version["additionalPrinterColumns"]
            .as_array()
            .map(|cols| {
                cols.iter()
                    .map(|c| Column {
                        name: c["name"].as_str().unwrap_or_default().to_owned(),
                        type_: c["type"].as_str().unwrap_or("string").to_owned(),
                        json_path: c["jsonPath"].as_str().unwrap_or_default().to_owned(),
                        description: c["description"].as_str().unwrap_or_default().to_owned(),
                        priority: c["priority"].as_i64().unwrap_or(0),
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Resource {
            group: group.to_owned(),
            version: name.to_owned(),
            plural: plural.to_owned(),
            singular: spec["names"]["singular"]
                .as_str()
                .map_or_else(|| kind.to_ascii_lowercase(), str::to_owned),
            kind: kind.to_owned(),
            namespaced: spec["scope"].as_str() != Some("Cluster"),
            short_names: strings(&spec["names"]["shortNames"]),
            categories: strings(&spec["names"]["categories"]),
            status: version["subresources"]["status"].is_object(),
            columns,
            printer: Printer::Columns,
            scale: false,
        });
    }
    out
}

/// All served resources: the built-ins, overridden or extended by the stored CRDs.
pub(crate) fn merge(crds: &[Value]) -> Vec<Resource> {
    let mut all = builtins();
    for crd in crds {
        for r in from_crd(crd) {
            if let Some(existing) = all
                .iter_mut()
                .find(|b| b.group == r.group && b.version == r.version && b.plural == r.plural)
            {
                *existing = r;
            } else {
                all.push(r);
            }
        }
    }
    all
}
