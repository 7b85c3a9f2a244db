//! A quiescent L2TPv3 tunnel: static IDs plus HELLO/ACK, so a dead peer takes the pseudowire
//! down (go-l2tp's ql2tpd with `hello_timeout`).
//!
//! `cargo run -p l2tp-runtime --example quiescent -- 192.0.2.1 192.0.2.2 [--kernel]`
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
            [tunnel.q]
            kind = "quiescent"
            version = "l2tpv3"
            local = "{local}:5001"
            peer = "{peer}:5001"
            tid = 300
            ptid = 400
            hello_timeout = 5000
            [tunnel.q.session.eth0]
            pseudowire = "eth"
            sid = 3000
            psid = 4000
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
