//! One `sgsync --config F --sync-now` as a child process: its exit code, wall time and
//! peak resident memory (`wait4`, which reports the rusage of exactly that child, so the
//! bench's own memory — it hosts the sandboxes — never counts).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// How one sync process went.
#[derive(Debug, Clone)]
pub struct ChildRun {
    /// `None`: ended by a signal.
    pub exit_code: Option<i32>,
    /// Killed by the bench, past its deadline.
    pub killed: bool,
    /// When it was spawned (compared with the sandboxes' request times).
    pub spawned_at: SystemTime,
    pub wall: Duration,
    /// Peak resident set size in bytes of the sgsync image: `VmHWM`, read from
    /// `/proc/<pid>/status` while the child runs (Linux).
    pub max_rss_bytes: Option<u64>,
    /// `ru_maxrss` from `wait4`. Not the figure to quote: Linux carries the high-water
    /// mark of the image before `execve` over, and std spawns by fork + exec, so this
    /// is at least the bench's own RSS at the fork (it hosts the sandboxes).
    pub ru_maxrss_bytes: Option<u64>,
    /// CPU time the child used, user + system (`wait4`).
    pub cpu: Option<Duration>,
    /// The last lines of its stderr, for a failed run's report.
    pub stderr_tail: String,
}

/// Runs `[wrap…] exe --config <config> --sync-now` to its end, or kills it past `deadline`
/// (blocking: call it from `spawn_blocking`). Its stdout is discarded; its log lines go
/// to `stderr_file`. `SGSYNC__…` variables of the bench's environment are not passed
/// on: the config file alone decides.
pub fn sync_now(
    wrap: &[String],
    exe: &Path,
    config: &Path,
    stderr_file: &Path,
    deadline: Duration,
) -> std::io::Result<ChildRun> {
    let stderr = std::fs::File::create(stderr_file)?;
    let spawned_at = SystemTime::now();
    let started = Instant::now();
    let mut command = match wrap.split_first() {
        Some((wrapper, args)) => {
            let mut c = Command::new(wrapper);
            c.args(args).arg(exe);
            c
        }
        None => Command::new(exe),
    };
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
    let (exit_code, max_rss_bytes, ru_maxrss_bytes, cpu, killed) = wait(child, started + deadline)?;
    let wall = started.elapsed();
    let text = std::fs::read_to_string(stderr_file).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let stderr_tail = lines[lines.len().saturating_sub(5)..].join("\n");
    Ok(ChildRun {
        exit_code,
        killed,
        spawned_at,
        wall,
        max_rss_bytes,
        ru_maxrss_bytes,
        cpu,
        stderr_tail,
    })
}

/// How often a running child is looked at: small next to any sync's wall time.
const POLL: Duration = Duration::from_millis(2);

/// Exit code, `VmHWM`, `ru_maxrss` and CPU time of a child.
/// Exit code, `VmHWM`, `ru_maxrss`, CPU time, and whether it was killed past its deadline.
type Waited = (
    Option<i32>,
    Option<u64>,
    Option<u64>,
    Option<Duration>,
    bool,
);

/// Waits for `child` (killing it once `deadline` passes).
#[cfg(unix)]
fn wait(mut child: std::process::Child, deadline: Instant) -> std::io::Result<Waited> {
    let pid = libc::pid_t::try_from(child.id())
        .map_err(|_| std::io::Error::other("child pid out of range"))?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct for which all-zero bytes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    let mut hwm = None;
    loop {
        // Read while it runs: the kernel's high-water mark of the child's own memory.
        hwm = vm_hwm(pid).or(hwm);
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
    Ok((code, hwm, rss, Some(cpu_of(&usage)), killed))
}

/// User + system time of `usage`.
#[cfg(unix)]
fn cpu_of(usage: &libc::rusage) -> Duration {
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU time this process (the bench, with its sandboxes) has used so far.
#[cfg(unix)]
pub fn own_cpu() -> Option<Duration> {
    // SAFETY: `rusage` is a plain C struct for which all-zero bytes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a live, writable local; RUSAGE_SELF needs nothing else.
    (unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } == 0).then(|| cpu_of(&usage))
}

#[cfg(not(unix))]
pub fn own_cpu() -> Option<Duration> {
    None
}

/// `VmHWM` of `/proc/<pid>/status` in bytes (Linux): the peak RSS of the process's
/// current image. Monotonic, so the last reading before the exit is the peak but for
/// growth in the last poll interval (at exit, memory is freed, not taken).
#[cfg(unix)]
fn vm_hwm(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(not(unix))]
fn wait(mut child: std::process::Child, _deadline: Instant) -> std::io::Result<Waited> {
    Ok((child.wait()?.code(), None, None, None, false))
}
