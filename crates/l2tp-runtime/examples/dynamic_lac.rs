//! A dynamic L2TPv2 tunnel (LAC): SCCRQ to the LNS, then one PPP session (ICRQ).
//!
//! `cargo run -p l2tp-runtime --example dynamic_lac -- 192.0.2.1:1701 [--kernel]`
#[path = "common/mod.rs"]
mod common;

use l2tp_runtime::config::Config;
use l2tp_runtime::Context;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lns = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:1701".into());
    let config = Config::parse(
        &format!(
            r#"
            [tunnel.lac]
            peer = "{lns}"
            version = "l2tpv2"
            hello_timeout = 60000
            [tunnel.lac.session.ppp0]
            pseudowire = "ppp"
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
