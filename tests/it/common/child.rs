//! Child processes (mostly `sgsync` itself): spawned with their output piped, waited for
//! with a bound, their pipes drained meanwhile so a chatty child never blocks on a full
//! pipe. The blocking waits belong on a blocking thread when the sandboxes live on the
//! test's runtime: the async forms do that.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a child ended.
#[derive(Debug)]
pub struct Ended {
    /// `None` when a signal ended it (a kill included).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// From the start of the wait to the exit.
    pub took: Duration,
    /// Killed by [`wait_or_kill`] at its moment.
    pub killed: bool,
}

impl Ended {
    /// stdout, then stderr.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Spawns `command` with stdin empty and stdout and stderr piped.
pub fn spawn(command: &mut Command) -> Child {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{:?} starts: {e}", command.get_program()))
}

/// Waits for `child` to exit (blocking); panics, after killing it, if it has not within
/// `limit`.
pub fn wait(child: Child, limit: Duration) -> Ended {
    let ended = wait_or_kill(child, limit);
    assert!(
        !ended.killed,
        "the child did not end within {limit:?}: {}",
        ended.text()
    );
    ended
}

/// Waits for `child` to exit (blocking), killing it (SIGKILL, then reaped, as a
/// supervisor would) if it is still running after `at`.
pub fn wait_or_kill(mut child: Child, at: Duration) -> Ended {
    let drain = |stream: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut stream) = stream {
                let _ = stream.read_to_end(&mut bytes);
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(child.stdout.take().map(|s| Box::new(s) as _));
    let stderr = drain(child.stderr.take().map(|s| Box::new(s) as _));
    let started = Instant::now();
    // Polled every millisecond: a kill moment is meant to the millisecond.
    let (code, killed) = loop {
        if let Some(status) = child.try_wait().expect("wait on the child") {
            break (status.code(), false);
        }
        if started.elapsed() >= at {
            child.kill().expect("kill the child");
            child.wait().expect("reap the child");
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let took = started.elapsed();
    Ended {
        code,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
        took,
        killed,
    }
}

/// Spawns `command` ([`spawn`]) and waits for it ([`wait`]), blocking.
pub fn run(mut command: Command, limit: Duration) -> Ended {
    wait(spawn(&mut command), limit)
}

/// [`wait`] on a blocking thread.
pub async fn ended(child: Child, limit: Duration) -> Ended {
    tokio::task::spawn_blocking(move || wait(child, limit))
        .await
        .expect("the wait ends")
}

/// [`wait_or_kill`] on a blocking thread.
pub async fn ended_or_killed(child: Child, at: Duration) -> Ended {
    tokio::task::spawn_blocking(move || wait_or_kill(child, at))
        .await
        .expect("the wait ends")
}

/// [`run`] on a blocking thread.
pub async fn ran(command: Command, limit: Duration) -> Ended {
    tokio::task::spawn_blocking(move || run(command, limit))
        .await
        .expect("the run ends")
}
