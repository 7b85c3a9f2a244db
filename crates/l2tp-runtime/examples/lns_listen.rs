//! An LNS: accepts L2TPv2 tunnels and calls from any LAC on the given address.
//!
//! `cargo run -p l2tp-runtime --example lns_listen -- 0.0.0.0:1701 [--kernel]`
#[path = "common/mod.rs"]
mod common;

use l2tp_runtime::config::Config;
use l2tp_runtime::Context;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let local = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:1701".into());
    let config = Config::parse(
        &format!(
            r#"
            [tunnel.lns]
            local = "{local}"
            listen = true
            host_name = "lns.example"
            [tunnel.lns.session.template]
            pseudowire = "ppp"
            "#
        ),
        "example",
    )?;
    let (name, lns) = &config.tunnels[0];
    let mut options = common::options()?;
    options.endpoint = lns.to_endpoint_config();
    let ctx = Context::start(options);
    ctx.create_tunnel(name, lns.clone()).await?;
    common::run(ctx).await
}
