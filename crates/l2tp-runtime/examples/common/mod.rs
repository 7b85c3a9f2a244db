// Shared by the examples: pick the data plane from the command line.
use l2tp_runtime::dataplane::{DataPlane, NullDataPlane};
use l2tp_runtime::kernel::KernelDataPlane;
use l2tp_runtime::{ContextOptions, SocketMode};

/// `--kernel` selects the Linux kernel data plane (root, L2TP modules); otherwise the null
/// data plane logs what it would create.
pub fn options() -> Result<ContextOptions, Box<dyn std::error::Error>> {
    let kernel = std::env::args().any(|a| a == "--kernel");
    let dp: Box<dyn DataPlane> = if kernel {
        Box::new(KernelDataPlane::open()?)
    } else {
        Box::new(NullDataPlane::new())
    };
    let mut o = ContextOptions::new(dp);
    if kernel {
        o.socket_mode = SocketMode::PerTunnel;
    }
    Ok(o)
}

/// Prints events until Ctrl-C, then shuts the context down.
pub async fn run(ctx: l2tp_runtime::Context) -> Result<(), Box<dyn std::error::Error>> {
    let mut events = ctx.subscribe();
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Ok(ev) => println!("{} {:?}: {:?}", ev.tunnel_name, ev.session_name, ev.event),
                Err(_) => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    ctx.shutdown().await?;
    Ok(())
}
