//! Runs one API server emulator until interrupted, writing its kubeconfig to the path given
//! as the first argument (default `./kubeconfig.emulator`).
//!
//! ```text
//! cargo run -p fedsvc-emulator --example emulator -- /tmp/kc
//! KUBECONFIG=/tmp/kc kubectl get services
//! ```

use fedsvc_emulator::ApiServer;

#[tokio::main]
async fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "kubeconfig.emulator".into());
    let server = ApiServer::start().await;
    std::fs::write(&path, server.kubeconfig_yaml("emulator")).expect("write the kubeconfig");
    println!("emulator on {}; kubeconfig written to {path}", server.url());
    tokio::signal::ctrl_c().await.expect("wait for Ctrl-C");
}
