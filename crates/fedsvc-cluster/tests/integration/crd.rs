//! The checked-in CRD matches the Rust type.

use std::path::PathBuf;

fn crd_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/crds/clusters.fedsvc.io.yaml")
}

#[test]
fn crd_file_matches_the_cluster_type() {
    let generated = fedsvc_cluster::cluster_crd_yaml();
    let path = crd_path();
    if std::env::var_os("UPDATE_CRDS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{} is out of date; regenerate it with UPDATE_CRDS=1 cargo test -p fedsvc-cluster --test integration crd",
        path.display()
    );
}

#[test]
fn crd_has_printer_columns_and_status() {
    let crd: serde_json::Value =
        serde_saphyr::from_str(&fedsvc_cluster::cluster_crd_yaml()).unwrap();
    assert_eq!(crd["metadata"]["name"], "clusters.fedsvc.io");
    assert_eq!(crd["spec"]["scope"], "Cluster");
    let v = &crd["spec"]["versions"][0];
    assert_eq!(v["name"], "v1alpha1");
    assert!(v["subresources"]["status"].is_object());
    let cols: Vec<&str> = v["additionalPrinterColumns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["Ready", "Zones", "Region", "Age"]);
}
