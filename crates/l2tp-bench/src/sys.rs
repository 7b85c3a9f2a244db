//! What the run reads from the system: file descriptor limit, CPU time (ours and the server's),
//! the server's resident set size.

use nix::sys::resource::{getrlimit, getrusage, setrlimit, Resource, UsageWho};

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, and both to `need` when the hard limit
/// is lower (works with `CAP_SYS_RESOURCE`, up to `fs.nr_open`); returns the soft limit in
/// force after (0 if it cannot be read).
pub fn raise_nofile_limit(need: u64) -> u64 {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 0;
    };
    if hard < need && setrlimit(Resource::RLIMIT_NOFILE, need, need).is_ok() {
        return need;
    }
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return hard;
    }
    soft
}

/// CPU time (user + system) this process has used, seconds.
pub fn own_cpu_seconds() -> f64 {
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        }
        Err(_) => 0.0,
    }
}

/// Clock ticks per second of `/proc/PID/stat` times.
fn clock_ticks() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}

/// CPU time (user + system) process `pid` has used, seconds, from `/proc/PID/stat`.
pub fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid …": comm may hold spaces and parentheses; fields after the last
    // ')' start with state (field 3); utime and stime are fields 14 and 15.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// A `kB` field of `/proc/PID/status` (e.g. `VmRSS`, `VmHWM`).
pub fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| {
        let v = l.strip_prefix(field)?.strip_prefix(':')?;
        v.split_whitespace().next()?.parse().ok()
    })
}

/// Resident set size of process `pid` in kB.
pub fn rss_kb(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS")
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_our_own_process() {
        let me = std::process::id();
        assert!(super::rss_kb(me).unwrap() > 0);
        assert!(super::status_kb(me, "VmHWM").unwrap() > 0);
        assert!(super::process_cpu_seconds(me).is_some());
        assert!(super::own_cpu_seconds() >= 0.0);
        assert!(super::rss_kb(u32::MAX).is_none());
    }
}
