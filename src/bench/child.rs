//! One `sgsync --config F --sync-now` as a child process: its exit code, wall time and
//! peak resident memory (`wait4`, which reports the rusage of exactly that child, so the
//! bench's own memory — it hosts the sandboxes — never counts).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// How one sync process went.
#[derive(Debug, Clone)]
pub struct ChildRun {
    pub exit_code: Option<i32>,
    /// When it was spawned (compared with the sandboxes' request times).
    pub spawned_at: SystemTime,
    pub wall: Duration,
    /// Peak resident set size in bytes, where the platform reports it.
    pub max_rss_bytes: Option<u64>,
    /// The last lines of its stderr, for a failed run's report.
    pub stderr_tail: String,
}

/// Runs `exe --config <config> --sync-now` to its end, or kills it past `deadline`
/// (blocking: call it from `spawn_blocking`). Its stdout is discarded; its log lines go
/// to `stderr_file`. `SGSYNC__…` variables of the bench's environment are not passed
/// on: the config file alone decides.
pub fn sync_now(
    exe: &Path,
    config: &Path,
    stderr_file: &Path,
    deadline: Duration,
) -> std::io::Result<ChildRun> {
    let stderr = std::fs::File::create(stderr_file)?;
    let spawned_at = SystemTime::now();
    let started = Instant::now();
    let mut command = Command::new(exe);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SGSYNC__") {
            command.env_remove(key);
        }
    }
    let child = command
        .arg("--config")
        .arg(config)
        .arg("--sync-now")
        .arg("--log-format")
        .arg("json")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(stderr))
        .spawn()?;
    let (exit_code, max_rss_bytes) = wait(child, started + deadline)?;
    let wall = started.elapsed();
    let text = std::fs::read_to_string(stderr_file).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let stderr_tail = lines[lines.len().saturating_sub(5)..].join("\n");
    Ok(ChildRun {
        exit_code,
        spawned_at,
        wall,
        max_rss_bytes,
        stderr_tail,
    })
}

/// How often a running child is looked at: small next to any sync's wall time.
const POLL: Duration = Duration::from_millis(2);

/// Waits for `child` (killing it once `deadline` passes): its exit code and peak RSS.
#[cfg(unix)]
fn wait(
    mut child: std::process::Child,
    deadline: Instant,
) -> std::io::Result<(Option<i32>, Option<u64>)> {
    let pid = libc::pid_t::try_from(child.id())
        .map_err(|_| std::io::Error::other("child pid out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct for which all-zero bytes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: `pid` is our own child, not yet reaped (std never waits on `child`
        // here); both pointers are to live, writable locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        if !killed && Instant::now() >= deadline {
            // Bounded: a run past its deadline is killed and reported as failed.
            child.kill()?;
            killed = true;
        }
        std::thread::sleep(POLL);
    }
    let code = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else {
        None
    };
    // Linux reports ru_maxrss in kilobytes (macOS in bytes).
    let unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    let rss = u64::try_from(usage.ru_maxrss).ok().map(|kb| kb * unit);
    Ok((code, rss))
}

#[cfg(not(unix))]
fn wait(
    mut child: std::process::Child,
    _deadline: Instant,
) -> std::io::Result<(Option<i32>, Option<u64>)> {
    Ok((child.wait()?.code(), None))
}
