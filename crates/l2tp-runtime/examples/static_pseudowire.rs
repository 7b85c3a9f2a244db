//! A static L2TPv3 Ethernet pseudowire (no control protocol, like `ip l2tp add`): both ends
//! configured with each other's IDs.
//!
//! `cargo run -p l2tp-runtime --example static_pseudowire -- 192.0.2.1 192.0.2.2 [--kernel]`
#[path = "common/mod.rs"]
mod common;

use l2tp_runtime::config::Config;
use l2tp_runtime::Context;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1).filter(|a| !a.starts_with("--"));
    let local = args.next().unwrap_or_else(|| "127.0.0.1".into());
    let peer = args.next().unwrap_or_else(|| "127.0.0.2".into());
    let config = Config::parse(
        &format!(
            r#"
            [tunnel.pw]
            kind = "static"
            version = "l2tpv3"
            encap = "udp"
            local = "{local}:5000"
            peer = "{peer}:5000"
            tid = 100
            ptid = 200
            [tunnel.pw.session.eth0]
            pseudowire = "eth"
            sid = 1000
            psid = 2000
            l2spec_type = "default"
            "#
        ),
        "example",
    )?;
    let ctx = Context::start(common::options()?);
    for (name, t) in &config.tunnels {
        ctx.create_tunnel(name, t.clone()).await?;
    }
    common::run(ctx).await
}
