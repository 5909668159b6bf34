//! Integration tests of fedsvc-cluster: the CRD file, `KubeMember` against the API server
//! emulator, the real `kubectl` against the emulator, and `SimMember`; federated Deployments,
//! ConfigMaps and Secrets against both members (`workloads`).

mod crd;
mod kube_member;
mod kubectl;
mod real_clusters;
#[cfg(feature = "sim")]
mod sim_member;
mod util;
mod workloads;
