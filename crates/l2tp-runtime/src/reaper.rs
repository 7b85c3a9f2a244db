//! Where network devices are closed. Closing the last descriptor of a TUN/TAP device (or of a
//! PPP unit) makes the kernel unregister its interface, which waits an RCU grace period under
//! the RTNL lock: 17–25 ms per interface measured on the development machine, whatever the
//! caller. A value wrapped in [`Reaped`] is dropped on one background thread ("l2tp-reaper")
//! instead of wherever its last owner happens to let go — typically a runtime worker that
//! aborted a session's task, where 1,000 sessions going at once would hold up every other
//! session's packets and the control plane for 20 s.
//!
//! Devices are closed in the order they were released, one at a time (the kernel serialises
//! unregistration anyway); nothing waits for them. A daemon that exits with devices still
//! queued leaves their closing to the kernel's process teardown.

use std::ops::Deref;
use std::sync::mpsc;
use std::sync::OnceLock;

/// Something to drop on the reaper thread.
type Item = Box<dyn Send>;

/// A value dropped on the reaper thread (see the module documentation); derefs to it.
pub(crate) struct Reaped<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> Reaped<T> {
    pub(crate) fn new(value: T) -> Self {
        Reaped(Some(value))
    }
}

impl<T: Send + 'static> Deref for Reaped<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // Taken only by `drop`: present for as long as anyone can deref.
        self.0
            .as_ref()
            .expect("a reaped value is present until dropped")
    }
}

impl<T: Send + 'static> Drop for Reaped<T> {
    fn drop(&mut self) {
        if let Some(v) = self.0.take() {
            reap(Box::new(v));
        }
    }
}

/// Queues `item` for the reaper thread, started at first use; dropped here if it cannot be
/// started.
fn reap(item: Item) {
    static QUEUE: OnceLock<Option<mpsc::Sender<Item>>> = OnceLock::new();
    let queue = QUEUE.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Item>();
        std::thread::Builder::new()
            .name("l2tp-reaper".into())
            .spawn(move || {
                while let Ok(item) = rx.recv() {
                    drop(item);
                }
            })
            .ok()
            .map(|_| tx)
    });
    match queue {
        Some(tx) => {
            if let Err(mpsc::SendError(item)) = tx.send(item) {
                drop(item);
            }
        }
        None => drop(item),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Records the thread it is dropped on.
    struct Probe(Arc<std::sync::Mutex<Option<String>>>, mpsc::Sender<()>);

    impl Drop for Probe {
        fn drop(&mut self) {
            if let Ok(mut g) = self.0.lock() {
                *g = std::thread::current().name().map(str::to_string);
            }
            let _ = self.1.send(());
        }
    }

    #[test]
    fn reaped_values_are_dropped_on_the_reaper_thread_and_deref_until_then() {
        let seen = Arc::new(std::sync::Mutex::new(None));
        let (tx, rx) = mpsc::channel();
        let r = Reaped::new(Probe(seen.clone(), tx));
        assert!((*r).0.lock().unwrap().is_none(), "deref reaches the value");
        drop(r);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("dropped within 10 s");
        assert_eq!(seen.lock().unwrap().as_deref(), Some("l2tp-reaper"));
    }
}
